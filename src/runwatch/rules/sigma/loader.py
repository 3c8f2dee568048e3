"""Loading Sigma rule files with pySigma (the SigmaHQ library parses YAML, modifiers and
conditions) and compiling each into a predicate over the events of its logsource.

One bad file or rule never hides the next: each is an error naming the file. A rule for a
logsource runwatch has no events for, or using a field it cannot read, is inactive, with the
reason; it is not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from runwatch.priority import Priority
from runwatch.rules.sigma.compiler import Predicate, UnsupportedSigma, compile_condition
from runwatch.rules.sigma.logsources import Route, Unmapped, route_for

LEVELS = {"informational": Priority.INFORMATIONAL, "low": Priority.NOTICE,
          "medium": Priority.WARNING, "high": Priority.ERROR, "critical": Priority.CRITICAL}
"""Sigma's levels as Falco's priorities."""


@dataclass(frozen=True, slots=True)
class CompiledSigmaRule:
    """A rule ready to match: what it says, where its events come from, and its predicate."""

    id: str
    title: str
    description: str
    author: str
    level: str
    priority: Priority
    tags: tuple[str, ...]
    path: str
    route: Route
    predicate: Predicate
    required_type: str | None = None
    """An auditd rule whose every branch needs one record type: only those records meet it."""
    key_field: str | None = None
    key_values: frozenset[str] = frozenset()
    """A field every match needs to hold one of these (lower-cased) values: an index key."""


@dataclass(slots=True)
class SigmaLoadResult:
    active: list[CompiledSigmaRule] = field(default_factory=list)
    inactive: list[tuple[str, str]] = field(default_factory=list)
    """(path, why) of rules that load but have no events or fields here."""
    errors: list[str] = field(default_factory=list)
    """`path: what is wrong` of files or rules that cannot be read."""


KERNEL_ROUTES = frozenset({"process_creation", "file_event", "network_connection"})


def load_sigma_rules(paths: Sequence[Path], min_level: str = "informational",
                     kernel_min_level: str | None = None) -> SigmaLoadResult:
    """Every *.yml/*.yaml file of `paths` (directories recursively); rules below `min_level`
    (below `kernel_min_level` for rules on kernel events, when given) are left out, counted as
    inactive."""
    result = SigmaLoadResult()
    order = list(LEVELS)
    for path in _rule_files(paths):
        try:
            rule = SigmaRule.from_yaml(path.read_text())
        except (OSError, SigmaError, ValueError) as err:
            result.errors.append(f"{path}: {err}")
            continue
        level = str(rule.level.name).lower() if rule.level is not None else "medium"
        source = rule.logsource
        route = route_for(source.product, source.category, source.service)
        if route is None:
            result.inactive.append((str(path), f"no events for logsource product={source.product} "
                                               f"category={source.category} service={source.service}"))
            continue
        least = kernel_min_level if kernel_min_level and route.name in KERNEL_ROUTES else min_level
        if level in LEVELS and order.index(level) < order.index(least):
            result.inactive.append((str(path), f"level {level} is below {least}"))
            continue
        try:
            trees = [condition.parse() for condition in rule.detection.parsed_condition]
            predicates = [compile_condition(tree, route) for tree in trees]
        except Unmapped as err:
            result.inactive.append((str(path), f"field {err} has no runwatch field for {route.name}"))
            continue
        except (UnsupportedSigma, SigmaError) as err:
            result.errors.append(f"{path}: {err}")
            continue
        key = _key_values(trees)
        predicate = predicates[0] if len(predicates) == 1 else \
            (lambda record, ps=tuple(predicates): any(p(record) for p in ps))
        result.active.append(CompiledSigmaRule(
            id=str(rule.id or ""), title=rule.title, description=rule.description or "",
            author=rule.author or "", level=level, priority=LEVELS.get(level, Priority.WARNING),
            tags=tuple(str(tag) for tag in rule.tags), path=str(path), route=route,
            predicate=predicate,
            required_type=_required_type(trees) if route.name == "auditd" else None,
            key_field=key[0], key_values=key[1]))
    return result


def _rule_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            files.append(path)
    return files


def _required_type(trees: Sequence[object]) -> str | None:
    """The auditd record type every branch of the rule requires, if there is one."""
    from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
    from sigma.types import SigmaString

    def required(node: object) -> set[str] | None:
        if isinstance(node, ConditionFieldEqualsValueExpression) and node.field == "type" and \
                isinstance(node.value, SigmaString) and not node.value.contains_special():
            return {str(node.value).upper()}
        if isinstance(node, ConditionAND):
            found = [r for arg in node.args if (r := required(arg)) is not None]
            return found[0] if found else None
        if isinstance(node, ConditionOR):
            branches = [required(arg) for arg in node.args]
            if any(b is None for b in branches):
                return None
            return set().union(*branches)  # type: ignore[arg-type]
        return None

    types = [required(tree) for tree in trees]
    if len(types) == 1 and types[0] is not None and len(types[0]) == 1:
        return next(iter(types[0]))
    return None


def _key_values(trees: Sequence[object]) -> tuple[str | None, frozenset[str]]:
    """The first field (other than an auditd record's type) that an AND requires to equal one of
    a few plain strings: matching can skip the rule for records holding none of them."""
    from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
    from sigma.types import SigmaString

    def plain(node: object) -> tuple[str, str] | None:
        if isinstance(node, ConditionFieldEqualsValueExpression) and \
                type(node.value) is SigmaString and not node.value.contains_special():
            return node.field, str(node.value).lower()
        return None

    def values_of(node: object) -> tuple[str, frozenset[str]] | None:
        if (one := plain(node)) is not None:
            return one[0], frozenset({one[1]})
        if isinstance(node, ConditionOR) and node.args:
            found = [plain(arg) for arg in node.args]
            fields = {f[0] for f in found if f is not None}
            if all(f is not None for f in found) and len(fields) == 1:
                return fields.pop(), frozenset(f[1] for f in found if f is not None)
        return None

    if len(trees) != 1 or not isinstance(trees[0], ConditionAND):
        return None, frozenset()
    for arg in trees[0].args:
        if (key := values_of(arg)) is not None and key[0] != "type":
            return key
    return None, frozenset()
