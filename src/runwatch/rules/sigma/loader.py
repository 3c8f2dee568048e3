"""Loading Sigma rule files: pySigma (the SigmaHQ library) reads the YAML, modifiers and
conditions; each rule is then routed to the events of its logsource and compiled.

One bad file or rule never hides the next: each is an error naming the file (and the line when
known). A rule for a logsource runwatch has no events for, using a field it cannot read, or below
the level asked for, is inactive with the reason; that is not an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.modifiers import SigmaUTF16BEModifier, SigmaUTF16Modifier, SigmaWideModifier
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule

from runwatch.priority import Priority
from runwatch.rules.sigma.compiler import CompiledCondition, UnsupportedSigma, compile_condition
from runwatch.rules.sigma.logsources import Route, Unmapped, route_for

LEVELS = {"informational": Priority.INFORMATIONAL, "low": Priority.NOTICE,
          "medium": Priority.WARNING, "high": Priority.ERROR, "critical": Priority.CRITICAL}
"""Sigma's levels as Falco's priorities."""

RULE_SET = ("SigmaHQ rules https://github.com/SigmaHQ/sigma, Detection Rule License 1.1 "
            "https://github.com/SigmaHQ/Detection-Rule-License")
"""What an alert from a SigmaHQ rule names as its rule set and licence (DRL 1.1 asks for it)."""

KERNEL_ROUTES = frozenset({"process_creation", "file_event", "network_connection"})
_DRL_FILE = "LICENSE.Detection.Rules.md"
_OPERATOR_START = re.compile(r"(?:not|and|or)[\w-]", re.IGNORECASE)
_BYTE_MODIFIERS = {SigmaWideModifier: "wide", SigmaUTF16Modifier: "utf16",
                   SigmaUTF16BEModifier: "utf16be"}


@dataclass(frozen=True, slots=True, eq=False)
class CompiledSigmaRule:
    """A rule ready to match: what it says, where its events come from, and its condition."""

    id: str
    title: str
    description: str
    author: str
    level: str
    priority: Priority
    tags: tuple[str, ...]
    path: str
    rule_set: str
    route: Route
    condition: CompiledCondition


@dataclass(frozen=True, slots=True)
class InactiveSigmaRule:
    """A rule that loads but cannot run here, and why."""

    path: str
    title: str
    reason: str


@dataclass(slots=True)
class SigmaLoadResult:
    active: list[CompiledSigmaRule] = field(default_factory=list)
    inactive: list[InactiveSigmaRule] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """`path[:line]: what is wrong`, for files and rules that cannot be read or run."""


def load_sigma_rules(paths: Sequence[Path], min_level: str = "informational",
                     kernel_min_level: str | None = None) -> SigmaLoadResult:
    """Every *.yml/*.yaml file of `paths` (directories recursively, in name order). Rules below
    `min_level` (below `kernel_min_level` for rules on kernel events, when given) are inactive."""
    result = SigmaLoadResult()
    for path in _rule_files(paths, result):
        for rule in _read_rules(path, result):
            _load_rule(rule, path, result, min_level, kernel_min_level)
    return result


def _rule_files(paths: Sequence[Path], result: SigmaLoadResult) -> Iterable[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*")
                              if p.suffix in (".yml", ".yaml") and p.is_file())
        elif path.exists():
            yield path
        else:
            result.errors.append(f"{path}: no such file or directory")


def _read_rules(path: Path, result: SigmaLoadResult) -> list[SigmaRule]:
    """The file's rules; every problem with it is an error, and its good rules still load."""
    try:
        text = path.read_text(encoding="utf-8")
        collection = SigmaCollection.from_yaml(text, collect_errors=True,
                                               source=SigmaRuleLocation(path),
                                               collect_filters=True, resolve_references=False)
    except OSError as err:
        result.errors.append(f"{path}: cannot read: {err.strerror or err}")
        return []
    except UnicodeDecodeError as err:
        result.errors.append(f"{path}: not UTF-8 text: {err.reason} at byte {err.start}")
        return []
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        result.errors.append(f"{where}: not valid YAML: {getattr(err, 'problem', None) or err}")
        return []
    except (SigmaError, ValueError, TypeError, AttributeError, KeyError) as err:
        # pySigma meets documents that are not rules (a list, a string) with plain exceptions
        result.errors.append(f"{path}: not a Sigma rule: {_message(err)}")
        return []
    owned = {id(err) for item in collection.rules for err in item.errors}
    result.errors += [_error(path, err) for err in collection.errors if id(err) not in owned]
    result.errors += [_error(path, err, item.title) for item in collection.rules
                      for err in item.errors]
    result.errors += [f"{path}: filter '{item.title}': Sigma filters are not supported"
                      for item in collection.filters]
    rules: list[SigmaRule] = []
    for item in collection.rules:
        if not isinstance(item, SigmaRule):
            result.errors.append(f"{path}: rule '{item.title}': correlation rules are not "
                                 f"supported (runwatch matches single events)")
        elif not item.errors:
            rules.append(item)
    if not collection.rules and not collection.errors and not collection.filters:
        result.errors.append(f"{path}: no Sigma rule in the file")
    return rules


def _load_rule(rule: SigmaRule, path: Path, result: SigmaLoadResult, min_level: str,
               kernel_min_level: str | None) -> None:
    level = rule.level.name.lower() if rule.level is not None else "medium"
    source = rule.logsource
    route = route_for(source.product, source.category, source.service)
    if route is None:
        result.inactive.append(InactiveSigmaRule(
            str(path), rule.title, f"no events for logsource product={source.product} "
                                   f"category={source.category} service={source.service}"))
        return
    least = kernel_min_level if kernel_min_level and route.name in KERNEL_ROUTES else min_level
    if level in LEVELS and list(LEVELS).index(level) < list(LEVELS).index(least):
        result.inactive.append(InactiveSigmaRule(str(path), rule.title,
                                                 f"level {level} is below {least}"))
        return
    unsupported = _byte_modifier(rule)
    if unsupported is not None:
        name, item = unsupported
        result.errors.append(f"{_where(path, item)}: rule '{rule.title}': modifier {name} "
                             f"encodes values as UTF-16 bytes; runwatch's events hold text")
        return
    split = _split_identifier(rule)
    if split is not None:
        result.errors.append(f"{path}: rule '{rule.title}': detection '{split}' begins with an "
                             f"operator word, which pySigma 1.x reads apart ('notepad' as "
                             f"'not epad'); rename it")
        return
    try:
        trees = [condition.parse() for condition in rule.detection.parsed_condition]
        condition = compile_condition(trees, route, f"<sigma {path}>")
    except Unmapped as err:
        result.inactive.append(InactiveSigmaRule(str(path), rule.title, str(err)))
        return
    except UnsupportedSigma as err:
        result.errors.append(f"{path}: rule '{rule.title}': {err}")
        return
    except SigmaError as err:
        result.errors.append(_error(path, err, rule.title))
        return
    result.active.append(CompiledSigmaRule(
        id=str(rule.id or ""), title=rule.title, description=rule.description or "",
        author=rule.author or "unknown (the rule names no author)", level=level,
        priority=LEVELS.get(level, Priority.WARNING), tags=tuple(str(tag) for tag in rule.tags),
        path=str(path), rule_set=_rule_set(path), route=route, condition=condition))


def _split_identifier(rule: SigmaRule) -> str | None:
    """A detection named like `notepad` or `order` that a condition uses: pySigma 1.x's
    condition grammar takes its start for the operator (fixed in pySigma 2)."""
    for name in rule.detection.detections:
        if _OPERATOR_START.match(name) and any(
                re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", condition)
                for condition in rule.detection.condition):
            return name
    return None


def _byte_modifier(rule: SigmaRule) -> tuple[str, SigmaDetectionItem] | None:
    def items(detection: SigmaDetection) -> Iterable[SigmaDetectionItem]:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                yield from items(item)
            else:
                yield item
    for detection in rule.detection.detections.values():
        for item in items(detection):
            for modifier in item.modifiers:
                if modifier in _BYTE_MODIFIERS:
                    return _BYTE_MODIFIERS[modifier], item
    return None


def _where(path: Path, item: SigmaDetectionItem) -> str:
    """`path:line` of a detection item's key (`CommandLine|wide|contains:`), when found."""
    key = f"{item.field or ''}|"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if key in line and ":" in line:
            return f"{path}:{number}"
    return str(path)


def _rule_set(path: Path) -> str:
    """SigmaHQ's rule set and licence for rules kept in its layout (beside the DRL's text);
    otherwise the file itself, the only thing runwatch knows of a local rule's origin."""
    if any(_has_drl(folder) for folder in path.resolve().parents):
        return RULE_SET
    return f"local rule file {path}"


@functools.lru_cache(maxsize=256)
def _has_drl(folder: Path) -> bool:
    return (folder / _DRL_FILE).is_file()


def _message(err: BaseException) -> str:
    if isinstance(err, SigmaError) and err.args:
        return str(err.args[0])
    return str(err) or type(err).__name__


def _error(path: Path, err: SigmaError, title: str | None = None) -> str:
    line = err.source.line if err.source is not None else None
    rule = f"rule '{title}': " if title is not None else ""
    return f"{path}{f':{line}' if line is not None else ''}: {rule}{_message(err)}"
