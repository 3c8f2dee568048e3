"""Load Falco rules files (read -> collect -> expand -> compile) into a `Ruleset` indexed by event
type, so an event meets only the rules whose conditions admit its type.

Loading never stops at the first problem: the result holds every good rule with every error and
warning, each with its file, line and item, and the caller decides (the CLI refuses a ruleset
with errors; a reload that fails keeps the old rules).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from runwatch.errors import Location, RuleError
from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.rules.falco.collector import Collection, RuleInfo, collect
from runwatch.rules.falco.compiler import CodeGenerator, CompileError, MatchFunction, TypeSet, \
    build_functions, event_types, fold_event_type, generate_function, mentioned_event_types, \
    validate
from runwatch.rules.falco.expand import ExpandError, Expander, exception_condition, fold
from runwatch.rules.falco.fields import is_available
from runwatch.rules.falco.output import OutputError, OutputTemplate, parse_output
from runwatch.rules.falco.parser import Check, ConditionSyntaxError, Const, Expr, FieldRef, \
    Transform, parse_condition, walk
from runwatch.rules.falco.reader import ReadResult, read_rules_file, read_rules_text

RuleMatching = Literal["first", "all"]
KNOWN_SOURCES = frozenset({"syscall", "k8s_audit"})
"""Rule sources runwatch has events for; rules of other sources are skipped with a warning.
Each source's rules meet only that source's events (`evt.source`)."""

DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "falco_rules.yaml"
"""Falco's stable ruleset, shipped unmodified (Apache-2.0, see data/LICENSE)."""

K8S_AUDIT_RULES_FILE = Path(__file__).parent / "data" / "k8s_audit_rules.yaml"
"""Falco's Kubernetes audit ruleset (48 rules, source k8s_audit), shipped unmodified
(Apache-2.0, see data/LICENSE): falcosecurity/plugins plugins/k8saudit/rules/k8s_audit_rules.yaml
as of k8saudit 0.18.0 (commit 43ec9491a5bf25140868a182734a022625eeb9dd)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """A compiled rule: what it says and raises; its condition lives in the generated code."""

    name: str
    desc: str
    condition: str
    priority: Priority
    source: str
    tags: tuple[str, ...]
    output: OutputTemplate
    location: Location
    event_types: TypeSet
    fields: frozenset[str]
    enabled: bool


@dataclass(slots=True)
class LoadResult:
    """The good rules, and every error and warning met on the way, in file order."""

    ruleset: Ruleset
    errors: list[RuleError] = field(default_factory=list)
    warnings: list[RuleError] = field(default_factory=list)
    rule_count: int = 0
    macro_count: int = 0
    list_count: int = 0

    @property
    def is_ok(self) -> bool:
        return not self.errors


class Ruleset:
    """Compiled rules and one matcher function per (source, event type)."""

    def __init__(self, rules: Sequence[Rule], matchers: dict[str, tuple[dict[str, MatchFunction],
                                                                        MatchFunction]],
                 rule_matching: RuleMatching, sources: dict[str, dict[str, str]] | None = None
                 ) -> None:
        self.rules = tuple(rules)
        self.rule_matching = rule_matching
        self._matchers = matchers
        self.generated_source = sources or {}

    def match(self, event: Event) -> list[int]:
        """Indexes (into `rules`) of the rules this event raises, in rule order."""
        source = event.get("evt.source")
        table = self._matchers.get(source if isinstance(source, str) else "syscall")
        if table is None:
            return []
        by_type, other = table
        evt_type = event.get("evt.type")
        function = by_type.get(evt_type, other) if isinstance(evt_type, str) else other
        return function(event)

    def matcher_for(self, evt_type: str, source: str = "syscall") -> MatchFunction | None:
        """The function one event type meets (for benchmarks and tests)."""
        table = self._matchers.get(source)
        return None if table is None else table[0].get(evt_type, table[1])

    @property
    def enabled_rules(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.enabled]

    def required_event_types(self, source: str = "syscall") -> frozenset[str]:
        """The event types enabled rules name (what the kernel sensor should trace).

        Rules that admit every type (`rules_for_every_event_type`) cannot be expressed here.
        """
        names: set[str] = set()
        for rule in self.enabled_rules:
            if rule.source == source and not rule.event_types.is_complement:
                names |= rule.event_types.names
        return frozenset(names)

    def rules_for_every_event_type(self, source: str = "syscall") -> list[str]:
        return [r.name for r in self.enabled_rules
                if r.source == source and r.event_types.is_complement]

    def fields_used(self) -> dict[str, list[str]]:
        """Field -> the enabled rules whose conditions or outputs use it."""
        used: dict[str, list[str]] = {}
        for rule in self.enabled_rules:
            for name in sorted(rule.fields | set(rule.output.fields)):
                used.setdefault(name, []).append(rule.name)
        return used


def load_rules(paths: Iterable[Path], rule_matching: RuleMatching = "first",
               sources: frozenset[str] = KNOWN_SOURCES) -> LoadResult:
    """Load rules files in order (later files override earlier ones)."""
    return compile_collection(collect([read_rules_file(Path(p)) for p in paths]), rule_matching,
                              sources)


def load_rules_texts(texts: Iterable[tuple[str, str]], rule_matching: RuleMatching = "first",
                     sources: frozenset[str] = KNOWN_SOURCES) -> LoadResult:
    """Load rules from (name, text) pairs, as `load_rules` does files."""
    results: list[ReadResult] = [read_rules_text(text, name) for name, text in texts]
    return compile_collection(collect(results), rule_matching, sources)


@dataclass(slots=True)
class _Compiled:
    info: RuleInfo
    expr: Expr
    types: TypeSet
    output: OutputTemplate
    fields: frozenset[str]


def compile_collection(collection: Collection, rule_matching: RuleMatching = "first",
                       sources: frozenset[str] = KNOWN_SOURCES) -> LoadResult:
    """Expand, validate and compile every collected rule; index the enabled ones."""
    errors, warnings = list(collection.errors), list(collection.warnings)
    expander = Expander(collection.lists, collection.macros)
    generator = CodeGenerator()
    compiled: list[_Compiled] = []
    for name, macro in collection.macros.items():
        try:
            expander.macro_tree(name)
        except ExpandError as err:
            errors.append(RuleError(f"condition: {err.message}", macro.location))
    for info in collection.rules.values():
        if info.source not in sources:
            warnings.append(RuleError(f"unknown source '{info.source}': rule skipped (runwatch "
                                      f"has events for {', '.join(sorted(sources))})",
                                      info.location))
            continue
        try:
            compiled.append(_compile_rule(info, expander, generator, collection, warnings))
        except RuleError as err:
            errors.append(err)
    for name, macro in collection.macros.items():
        if name not in expander.used_macros:
            warnings.append(RuleError(f"macro '{name}' is not used by any rule or macro",
                                      macro.location))
    for name, listed in collection.lists.items():
        if name not in expander.used_lists:
            warnings.append(RuleError(f"list '{name}' is not used by any rule, macro or list",
                                      listed.location))
    rules = [Rule(c.info.name, c.info.desc, c.info.condition, c.info.priority, c.info.source,
                  tuple(sorted(c.info.tags)), c.output, c.info.location, c.types, c.fields,
                  c.info.enabled) for c in compiled]
    matchers, generated = _build_matchers(generator, compiled, rule_matching)
    ruleset = Ruleset(rules, matchers, rule_matching, generated)
    return LoadResult(ruleset, errors, warnings, len(collection.rules), len(collection.macros),
                      len(collection.lists))


def _compile_rule(info: RuleInfo, expander: Expander, generator: CodeGenerator,
                  collection: Collection, warnings: list[RuleError]) -> _Compiled:
    where = info.condition_location
    try:
        text = exception_condition(info.condition, info.exceptions) if info.exceptions \
            else info.condition
    except ExpandError as err:
        raise RuleError(f"exceptions: {err.message}", info.location) from None
    try:
        tree = parse_condition(text)
    except ConditionSyntaxError as err:
        raise RuleError(f"condition: {err.message} {_at(text, err.position)}", where) from None
    try:
        expr = expander.expand(tree)
    except ExpandError as err:
        raise RuleError(f"condition: {_in_macro(err.macro, collection)}{err.message}",
                        where) from None
    try:
        validate(expr, generator, expander.origin)
    except CompileError as err:
        if err.macro is not None:
            macro_text = collection.macros[err.macro].condition
            raise RuleError(f"condition: {_in_macro(err.macro, collection)}{err.message} "
                            f"{_at(macro_text, err.position)}", where) from None
        raise RuleError(f"condition: {err.message} {_at(text, err.position)}", where) from None
    for node in walk(expr):
        if isinstance(node, Check):
            for ref in _refs(node):
                if not is_available(ref.name, info.source):
                    macro = expander.origin.get(id(node))
                    raise RuleError(f"condition: {_in_macro(macro, collection)}"
                                    f"{_unavailable(ref.text, info.source)}", where)
    try:
        output = parse_output(info.output)
    except OutputError as err:
        raise RuleError(f"{err.message} {_at(info.output, err.position)}", info.location) \
            from None
    for name in output.fields:
        if not is_available(name, info.source):
            raise RuleError(f"output: {_unavailable(name, info.source)}", info.location)
    types = event_types(expr)
    if types.is_complement and info.source == "syscall" and info.warn_evttypes:
        warnings.append(RuleError(
            "the condition does not restrict evt.type, so the rule runs on every event "
            "(slow, and the kernel sensor cannot trace 'every' type); add evt.type in (...)",
            where))
    return _Compiled(info, expr, types, output, _fields_of(expr))


def _in_macro(name: str | None, collection: Collection) -> str:
    if name is None:
        return ""
    return f"in macro '{name}' ({collection.macros[name].location.path}:" \
           f"{collection.macros[name].location.line}): "


def _at(text: str, position: int) -> str:
    """Where in a condition a problem is: column and a short excerpt."""
    start = max(0, position - 20)
    excerpt = " ".join(text[start:position + 25].split())
    return f"(at column {position + 1}: '{'...' if start else ''}{excerpt}')"


def _fields_of(expr: Expr) -> frozenset[str]:
    return frozenset(ref.text for node in walk(expr) if isinstance(node, Check)
                     for ref in _refs(node))


def _refs(check: Check) -> list[FieldRef]:
    """The fields a check reads, on either side and inside transformers."""
    refs = []
    for side in (check.left, check.right):
        while isinstance(side, Transform):
            side = side.operand
        if isinstance(side, FieldRef):
            refs.append(side)
    return refs


def _unavailable(name: str, source: str) -> str:
    if source == "k8s_audit":
        return (f"field '{name}' is not available for source k8s_audit (its rules read ka.*, "
                f"jevt.*, json.*, evt.time, evt.source, k8s.ns.name, k8s.pod.name)")
    return f"field '{name}' is only available for source k8s_audit, not {source}"


def _build_matchers(generator: CodeGenerator, compiled: list[_Compiled],
                    rule_matching: RuleMatching
                    ) -> tuple[dict[str, tuple[dict[str, MatchFunction], MatchFunction]],
                               dict[str, dict[str, str]]]:
    """One function per (source, event type) named by any rule, and one for all other types."""
    by_source: dict[str, list[tuple[int, _Compiled]]] = {}
    for index, rule in enumerate(compiled):
        if rule.info.enabled:
            by_source.setdefault(rule.info.source, []).append((index, rule))
    sources: dict[str, str] = {}
    plan: dict[str, tuple[dict[str, str], str]] = {}
    generated: dict[str, dict[str, str]] = {}
    for source, rules in by_source.items():
        named = sorted(set().union(*(mentioned_event_types(r.expr) for _, r in rules)))
        names: dict[str, str] = {}
        generated[source] = {}
        for evt_type in [*named, None]:
            chosen = []
            for index, rule in rules:
                if rule.types.admits(evt_type):
                    folded = fold(fold_event_type(rule.expr, evt_type))
                    if not (isinstance(folded, Const) and not folded.value):
                        chosen.append((index, folded))
            function = f"_match_{len(sources)}"
            sources[function] = generate_function(generator, function, chosen,
                                                  rule_matching == "first")
            generated[source][evt_type or "*"] = sources[function]
            if evt_type is None:
                other = function
            else:
                names[evt_type] = function
        plan[source] = (names, other)
    functions = build_functions(generator, sources)
    matchers = {source: ({t: functions[f] for t, f in names.items()}, functions[other])
                for source, (names, other) in plan.items()}
    return matchers, generated

