"""Read Falco rules files into positioned items: YAML in, one `Item` per top-level entry out.

Scalars are kept as the text the file wrote (`items: [80, yes]` are the strings '80' and 'yes',
as Falco's yaml-cpp reads them); only the keys that mean a boolean are decoded as one, later.
Every mapping remembers its line and the line of each key, so errors point at the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runwatch.errors import Location, RuleError

ITEM_KINDS = ("rule", "macro", "list", "required_engine_version", "required_plugin_versions")


class PositionedMap(dict[str, Any]):
    """A YAML mapping that knows where it and each of its keys were written (1-based lines)."""

    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.CSafeLoader):
    """Safe YAML whose scalars stay strings (as yaml-cpp gives them) and maps carry lines."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Any:
    data = PositionedMap()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        data[str(key) if key is not None else ""] = loader.construct_object(value_node, deep=True)
        data.key_lines[str(key)] = key_node.start_mark.line + 1


def _construct_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
for _tag in ("bool", "int", "float", "timestamp", "value"):
    _Loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _construct_text)


@dataclass(frozen=True, slots=True)
class Item:
    """One top-level entry of a rules file: its kind, name and body, and where it was written."""

    kind: str
    name: str
    body: PositionedMap
    location: Location

    def key_location(self, key: str) -> Location:
        """Where one key of this item was written (the item's own line when unknown)."""
        line = self.body.key_lines.get(key, self.location.line)
        return Location(self.location.path, line, self.location.item)


@dataclass(slots=True)
class ReadResult:
    """The items of one file in order, and every error met while reading it."""

    path: str
    items: list[Item] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    warnings: list[RuleError] = field(default_factory=list)


def describe(kind: str, name: str) -> str:
    """How messages name an item: `rule 'Terminal shell in container'`."""
    return f"{kind} '{name}'" if name else kind


def read_rules_text(text: str, path: str) -> ReadResult:
    """Split a rules file's text into items; bad YAML is one error for the whole file."""
    result = ReadResult(path)
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = err.problem or err.context or "invalid YAML"
        result.errors.append(RuleError(f"invalid YAML: {problem}", Location(path, line)))
        return result
    except yaml.YAMLError as err:
        result.errors.append(RuleError(f"invalid YAML: {err}", Location(path)))
        return result
    for document in documents:
        if document is None:
            continue
        if not isinstance(document, list):
            line = document.line if isinstance(document, PositionedMap) else None
            result.errors.append(RuleError(
                "rules content must be a YAML list of items (- rule: ..., - macro: ..., - list: ...)",
                Location(path, line)))
            continue
        for entry in document:
            if entry is None:
                continue
            _read_entry(entry, path, result)
    return result


def _read_entry(entry: object, path: str, result: ReadResult) -> None:
    if not isinstance(entry, PositionedMap):
        result.errors.append(RuleError(
            f"each item must be a mapping (- rule: ..., - macro: ..., - list: ...), got {entry!r}",
            Location(path)))
        return
    kind = next((k for k in ITEM_KINDS if k in entry), None)
    if kind is None:
        keys = ", ".join(repr(k) for k in entry)
        result.warnings.append(RuleError(
            f"unknown top level item (keys {keys}); expected one of {', '.join(ITEM_KINDS)}",
            Location(path, entry.line)))
        return
    name = ""
    if kind in ("rule", "macro", "list"):
        raw = entry[kind]
        if not isinstance(raw, str) or not raw.strip():
            result.errors.append(RuleError(f"{kind} must have a non-empty name",
                                           Location(path, entry.line)))
            return
        name = raw
    result.items.append(Item(kind, name, entry, Location(path, entry.line, describe(kind, name)
                                                          if name else None)))


def read_rules_file(path: Path) -> ReadResult:
    """Read one rules file from disk; an unreadable file is one error."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        result = ReadResult(str(path))
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        result.errors.append(RuleError(f"cannot read rules file: {reason}", Location(str(path))))
        return result
    return read_rules_text(text, str(path))
