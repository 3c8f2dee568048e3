"""Collect items from many files, in order, into the final lists, macros and rules.

Falco's semantics (userspace/engine/rule_loader_reader.cpp and rule_loader_collector.cpp):
a redefinition replaces the earlier item but keeps its place; `append: true` (deprecated) and
`override: {key: append|replace}` extend or replace single keys; a rule item with only `enabled`
toggles an earlier rule. Conditions are appended as text with a space between, as Falco does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runwatch.errors import Location, RuleError
from runwatch.priority import Priority
from runwatch.rules.falco.reader import Item, PositionedMap, ReadResult

ENGINE_VERSION = (0, 57, 0)
"""The Falco rules engine version whose language runwatch implements (Falco 0.41)."""

PROVIDED_PLUGINS = {"container": (0, 4, 0), "k8saudit": (0, 18, 0), "json": (0, 7, 4)}
"""Falco plugins whose fields runwatch provides itself (container.* from its own enrichers;
ka.* and jevt.*/json.* from Kubernetes audit events, rules/falco/k8saudit.py)."""

_LIST_KEYS = {"list", "items", "append", "override"}
_MACRO_KEYS = {"macro", "condition", "append", "override"}
_RULE_KEYS = {"rule", "condition", "output", "desc", "priority", "source", "enabled", "tags",
              "exceptions", "append", "override", "warn_evttypes", "skip-if-unknown-filter",
              "capture", "capture_duration"}
_RULE_APPENDABLE = ("condition", "output", "desc", "tags", "exceptions")
_RULE_REPLACEABLE = ("condition", "output", "desc", "priority", "tags", "exceptions", "enabled",
                     "warn_evttypes", "skip-if-unknown-filter")
_EXCEPTION_KEYS = {"name", "fields", "comps", "values"}
_TRUE = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"}
_FALSE = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"}


@dataclass(slots=True)
class ListInfo:
    name: str
    items: list[str]
    location: Location
    order: int


@dataclass(slots=True)
class MacroInfo:
    name: str
    condition: str
    location: Location
    order: int
    visibility: int


@dataclass(slots=True)
class ExceptionInfo:
    """One `exceptions` entry: `fields` and `comps` are a string or a list; values stay raw."""

    name: str
    fields: str | list[str] | None
    comps: str | list[str] | None
    values: list[Any]
    location: Location


@dataclass(slots=True)
class RuleInfo:
    name: str
    condition: str
    output: str
    desc: str
    priority: Priority
    source: str
    enabled: bool
    tags: list[str]
    exceptions: list[ExceptionInfo]
    location: Location
    condition_location: Location
    order: int
    warn_evttypes: bool = True
    skip_if_unknown_filter: bool = False


@dataclass(slots=True)
class Collection:
    """Everything the files defined, in definition order, with every error and warning."""

    lists: dict[str, ListInfo] = field(default_factory=dict)
    macros: dict[str, MacroInfo] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    required_plugins: list[tuple[str, str]] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)
    warnings: list[RuleError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    failed_rules: set[str] = field(default_factory=set)


class _ItemError(Exception):
    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.error = RuleError(message, location)


def collect(results: list[ReadResult]) -> Collection:
    """Apply every file's items in order; one bad item is reported and the rest go on."""
    collection = Collection()
    order = 0
    for result in results:
        collection.files.append(result.path)
        collection.errors.extend(result.errors)
        collection.warnings.extend(result.warnings)
        for item in result.items:
            order += 1
            try:
                _apply(collection, item, order)
            except _ItemError as err:
                collection.errors.append(err.error)
                if item.kind == "rule":
                    collection.failed_rules.add(item.name)
    return collection


def _apply(collection: Collection, item: Item, order: int) -> None:
    if item.kind == "required_engine_version":
        _check_engine_version(item)
    elif item.kind == "required_plugin_versions":
        _check_plugins(collection, item)
    elif item.kind == "list":
        _collect_list(collection, item, order)
    elif item.kind == "macro":
        _collect_macro(collection, item, order)
    else:
        _collect_rule(collection, item, order)


def _parse_version(text: str) -> tuple[int, int, int] | None:
    parts = text.strip().split(".")
    if len(parts) == 1 and parts[0].isdigit():
        return (0, int(parts[0]), 0)  # Falco's old integer versions: N means 0.N.0
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _check_engine_version(item: Item) -> None:
    raw = item.body["required_engine_version"]
    version = _parse_version(_text(raw)) if raw is not None else None
    if version is None:
        raise _ItemError(f"cannot read required_engine_version {raw!r}: expected \"x.y.z\"",
                         item.location)
    if version[0] != ENGINE_VERSION[0] or version > ENGINE_VERSION:
        have = ".".join(map(str, ENGINE_VERSION))
        raise _ItemError(f"rules require engine version {'.'.join(map(str, version))}, but "
                         f"runwatch implements engine version {have}", item.location)


def _check_plugins(collection: Collection, item: Item) -> None:
    entries = item.body["required_plugin_versions"]
    if not isinstance(entries, list):
        raise _ItemError("required_plugin_versions must be a list of {name, version}",
                         item.location)
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or entry.get("version") is None:
            raise _ItemError("each required plugin must have a name and a version", item.location)
        alternatives = [entry] + [a for a in entry.get("alternatives") or [] if isinstance(a, dict)]
        names = [(str(a.get("name")), _text(a.get("version"))) for a in alternatives]
        collection.required_plugins.extend(names)
        for name, version_text in names:
            version = _parse_version(version_text)
            if version is None:
                raise _ItemError(f"invalid required version {version_text!r} for plugin "
                                 f"'{name}'", item.location)
        satisfied = any(name in PROVIDED_PLUGINS and _parse_version(version) is not None
                        and PROVIDED_PLUGINS[name] >= (_parse_version(version) or (0, 0, 0))
                        for name, version in names)
        if not satisfied:
            wanted = " or ".join(f"{n} {v}" for n, v in names)
            collection.warnings.append(RuleError(
                f"rules require plugin {wanted}, which runwatch does not provide; rules that "
                f"use its source or fields will be reported", item.location))


def _warn_unknown_keys(collection: Collection, item: Item, allowed: set[str]) -> None:
    for key in item.body:
        if key not in allowed:
            collection.warnings.append(RuleError(
                f"unknown key '{key}' (ignored); {item.kind} keys are "
                f"{', '.join(sorted(allowed - {item.kind}))}", item.key_location(key)))


def _decode_bool(item: Item, key: str) -> bool:
    value = item.body.get(key)
    if isinstance(value, str) and value in _TRUE:
        return True
    if isinstance(value, str) and value in _FALSE:
        return False
    raise _ItemError(f"{key}: expected true or false, got {value!r}", item.key_location(key))


def _decode_text(item: Item, key: str) -> str:
    if key not in item.body:
        raise _ItemError(f"missing key '{key}'", item.location)
    value = item.body[key]
    if value is None or (isinstance(value, str) and not value.strip()):
        raise _ItemError(f"{key}: must not be empty", item.key_location(key))
    if not isinstance(value, str):
        raise _ItemError(f"{key}: expected a string, got a {_yaml_kind(value)}",
                         item.key_location(key))
    return value


def _yaml_kind(value: object) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else \
        type(value).__name__


def _decode_strings(item: Item, key: str) -> list[str]:
    value = item.body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _ItemError(f"{key}: expected a list, got {value!r}", item.key_location(key))
    out = []
    for entry in value:
        if not isinstance(entry, str):
            raise _ItemError(f"{key}: every entry must be a string, got {entry!r}",
                             item.key_location(key))
        out.append(entry)
    return out


def _decode_overrides(item: Item, appendable: tuple[str, ...], replaceable: tuple[str, ...]
                      ) -> tuple[set[str], set[str]]:
    raw = item.body.get("override")
    if raw is None:
        return set(), set()
    if not isinstance(raw, dict):
        raise _ItemError("override: expected a mapping of key: append|replace",
                         item.key_location("override"))
    appends, replaces = set(), set()
    for key, operation in raw.items():
        if operation == "append":
            if key not in appendable:
                raise _ItemError(f"override: key '{key}' cannot be appended to"
                                 + (", use 'replace' instead" if key in replaceable else ""),
                                 item.key_location("override"))
            appends.add(key)
        elif operation == "replace":
            if key not in replaceable:
                raise _ItemError(f"override: key '{key}' cannot be replaced",
                                 item.key_location("override"))
            replaces.add(key)
        else:
            allowed = [op for op, keys in (("append", appendable), ("replace", replaceable))
                       if key in keys]
            raise _ItemError(f"override: invalid operation {operation!r} for key '{key}'; "
                             f"allowed: {', '.join(allowed) or 'none'}",
                             item.key_location("override"))
    return appends, replaces


def _decode_append(collection: Collection, item: Item) -> bool:
    if "append" not in item.body:
        return False
    is_append = _decode_bool(item, "append")
    if is_append:
        collection.warnings.append(RuleError(
            "'append' is deprecated; use 'override' with append or replace instead",
            item.key_location("append")))
    return is_append


def _collect_list(collection: Collection, item: Item, order: int) -> None:
    _warn_unknown_keys(collection, item, _LIST_KEYS)
    if not _is_bare_string(item.name):
        raise _ItemError("list name must be a bare string (no spaces, quotes, parentheses, "
                         "'=' or ',')", item.location)
    if "items" not in item.body:
        raise _ItemError("missing key 'items'", item.location)
    items = _decode_strings(item, "items") if item.body.get("items") is not None else []
    if item.body.get("items") is None:
        raise _ItemError("items: expected a list", item.key_location("items"))
    is_append = _decode_append(collection, item)
    appends, replaces = _decode_overrides(item, ("items",), ("items",))
    if is_append and (appends or replaces):
        raise _ItemError("'append' and 'override' cannot be used together", item.location)
    previous = collection.lists.get(item.name)
    if is_append or "items" in appends:
        if previous is None:
            raise _ItemError(f"list '{item.name}' has 'append' but no list by that name exists "
                             f"yet", item.location)
        previous.items.extend(items)
        return
    if previous is not None:
        previous.items, previous.location = items, item.location
        return
    collection.lists[item.name] = ListInfo(item.name, items, item.location, order)


def _collect_macro(collection: Collection, item: Item, order: int) -> None:
    _warn_unknown_keys(collection, item, _MACRO_KEYS)
    if not _is_identifier(item.name):
        raise _ItemError("macro name must be an identifier: a letter, then letters, digits "
                         "or '_'", item.location)
    condition = _decode_text(item, "condition")
    is_append = _decode_append(collection, item)
    appends, replaces = _decode_overrides(item, ("condition",), ("condition",))
    if is_append and (appends or replaces):
        raise _ItemError("'append' and 'override' cannot be used together", item.location)
    previous = collection.macros.get(item.name)
    where = item.key_location("condition")
    if is_append or "condition" in appends:
        if previous is None:
            raise _ItemError(f"macro '{item.name}' has 'append' but no macro by that name exists "
                             f"yet", item.location)
        previous.condition += " " + condition
        previous.visibility = order
        return
    if previous is not None:
        previous.condition, previous.location, previous.visibility = condition, where, order
        return
    collection.macros[item.name] = MacroInfo(item.name, condition, where, order, order)


def _collect_rule(collection: Collection, item: Item, order: int) -> None:
    _warn_unknown_keys(collection, item, _RULE_KEYS)
    is_append = _decode_append(collection, item)
    appends, replaces = _decode_overrides(item, _RULE_APPENDABLE, _RULE_REPLACEABLE)
    if is_append and (appends or replaces):
        raise _ItemError("'append' and 'override' cannot be used together", item.location)
    previous = collection.rules.get(item.name)
    if appends or replaces:
        _override_rule(collection, item, previous, appends, replaces)
    elif is_append:
        if previous is None:
            raise _ItemError(f"rule '{item.name}' has 'append' but no rule by that name exists "
                             f"yet", item.location)
        if "condition" in item.body:
            previous.condition += " " + _decode_text(item, "condition")
        if "exceptions" in item.body:
            _append_exceptions(previous, _decode_exceptions(item, is_append=True))
    elif not any(key in item.body for key in ("condition", "output", "desc", "priority")):
        if "enabled" not in item.body:
            raise _ItemError("a rule needs condition, output, desc and priority (or only "
                             "'enabled', to switch an existing rule on or off)", item.location)
        if previous is None:
            raise _ItemError(f"rule '{item.name}' has 'enabled' but no rule by that name exists "
                             f"yet", item.location)
        collection.warnings.append(RuleError(
            "switching a rule with only 'enabled' is deprecated; use 'override: {enabled: "
            "replace}'", item.location))
        previous.enabled = _decode_bool(item, "enabled")
    else:
        rule = _decode_rule(item, order)
        if previous is not None:
            if previous.source != rule.source:
                raise _ItemError(f"rule '{item.name}' redefined with a different source "
                                 f"({previous.source} -> {rule.source})", item.location)
            rule.order = previous.order
        collection.failed_rules.discard(item.name)
        collection.rules[item.name] = rule


def _decode_rule(item: Item, order: int) -> RuleInfo:
    condition = _decode_text(item, "condition")
    output = _decode_text(item, "output").strip()
    desc = _decode_text(item, "desc")
    priority = _decode_priority(item)
    source = _decode_text(item, "source") if "source" in item.body else "syscall"
    enabled = _decode_bool(item, "enabled") if "enabled" in item.body else True
    warn = _decode_bool(item, "warn_evttypes") if "warn_evttypes" in item.body else True
    skip = _decode_bool(item, "skip-if-unknown-filter") \
        if "skip-if-unknown-filter" in item.body else False
    return RuleInfo(item.name, condition, output, desc, priority, source, enabled,
                    _unique(_decode_strings(item, "tags")), _decode_exceptions(item, False),
                    item.location, item.key_location("condition"), order, warn, skip)


def _decode_priority(item: Item) -> Priority:
    text = _decode_text(item, "priority")
    try:
        return Priority.parse(text)
    except ValueError as err:
        raise _ItemError(f"priority: {err}", item.key_location("priority")) from None


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _override_rule(collection: Collection, item: Item, previous: RuleInfo | None,
                   appends: set[str], replaces: set[str]) -> None:
    defined = {key for key in (*_RULE_APPENDABLE, *_RULE_REPLACEABLE) if key in item.body}
    for key in defined - appends - replaces:
        raise _ItemError(f"key '{key}' has no matching entry under 'override'",
                         item.key_location(key))
    for key in (appends | replaces) - defined:
        kind = "append" if key in appends else "replace"
        raise _ItemError(f"an {kind} override for '{key}' was given but '{key}' is not defined",
                         item.key_location("override"))
    if previous is None:
        kind = "append to" if appends else "replace"
        raise _ItemError(f"cannot {kind} rule '{item.name}': no rule by that name exists yet",
                         item.location)
    if "condition" in appends:
        previous.condition += " " + _decode_text(item, "condition")
    if "output" in appends:
        previous.output += " " + _decode_text(item, "output")
    if "desc" in appends:
        previous.desc += " " + _decode_text(item, "desc")
    if "tags" in appends:
        previous.tags = _unique(previous.tags + _decode_strings(item, "tags"))
    if "exceptions" in appends:
        _append_exceptions(previous, _decode_exceptions(item, is_append=True))
    if "condition" in replaces:
        previous.condition = _decode_text(item, "condition")
        previous.condition_location = item.key_location("condition")
    if "output" in replaces:
        previous.output = _decode_text(item, "output").strip()
    if "desc" in replaces:
        previous.desc = _decode_text(item, "desc")
    if "tags" in replaces:
        previous.tags = _unique(_decode_strings(item, "tags"))
    if "exceptions" in replaces:
        previous.exceptions = _decode_exceptions(item, is_append=False)
    if "priority" in replaces:
        previous.priority = _decode_priority(item)
    if "enabled" in replaces:
        previous.enabled = _decode_bool(item, "enabled")
    if "warn_evttypes" in replaces:
        previous.warn_evttypes = _decode_bool(item, "warn_evttypes")
    if "skip-if-unknown-filter" in replaces:
        previous.skip_if_unknown_filter = _decode_bool(item, "skip-if-unknown-filter")


def _append_exceptions(rule: RuleInfo, exceptions: list[ExceptionInfo]) -> None:
    for new in exceptions:
        existing = next((e for e in rule.exceptions if e.name == new.name), None)
        if existing is None:
            if new.fields is None:
                raise _ItemError(f"exception '{new.name}' is new, so it needs 'fields'",
                                 new.location)
            if not new.values:
                raise _ItemError(f"exception '{new.name}' is new, so it needs 'values'",
                                 new.location)
            rule.exceptions.append(new)
            continue
        if new.fields is not None or new.comps is not None:
            raise _ItemError(f"exception '{new.name}' exists: only values can be appended, not "
                             f"fields or comps", new.location)
        existing.values.extend(new.values)


def _decode_exceptions(item: Item, is_append: bool) -> list[ExceptionInfo]:
    raw = item.body.get("exceptions")
    if raw is None:
        return []
    where = item.key_location("exceptions")
    if not isinstance(raw, list):
        raise _ItemError("exceptions: expected a list of {name, fields, comps, values}", where)
    out: list[ExceptionInfo] = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise _ItemError("exceptions: each exception must be a mapping", where)
        location = Location(where.path, entry.line if isinstance(entry, PositionedMap) else
                            where.line, where.item)
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise _ItemError("exceptions: each exception needs a name", location)
        if any(e.name == name for e in out):
            raise _ItemError(f"exception '{name}' is defined twice in this rule", location)
        for key in entry:
            if key not in _EXCEPTION_KEYS:
                raise _ItemError(f"exception '{name}': unknown key '{key}'; expected "
                                 f"{', '.join(sorted(_EXCEPTION_KEYS))}", location)
        fields = _exception_strings(entry.get("fields"), name, "fields", location)
        comps = _exception_strings(entry.get("comps"), name, "comps", location)
        if fields is None and not is_append:
            raise _ItemError(f"exception '{name}' needs 'fields'", location)
        values = entry.get("values")
        if values is None:
            values = []
        if not isinstance(values, list):
            raise _ItemError(f"exception '{name}': values must be a list", location)
        out.append(ExceptionInfo(name, fields, comps, list(values), location))
    return out


def _exception_strings(value: object, name: str, key: str, location: Location
                       ) -> str | list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise _ItemError(f"exception '{name}': {key} must not be empty", location)
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise _ItemError(f"exception '{name}': {key} must be a string or a list of strings",
                     location)


def _is_identifier(name: str) -> bool:
    return bool(name) and name[0].isascii() and name[0].isalpha() and \
        all(c.isascii() and (c.isalnum() or c == "_") for c in name)


def _is_bare_string(name: str) -> bool:
    return bool(name) and not any(c.isspace() or c in "()\"'=," for c in name)
