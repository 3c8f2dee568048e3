"""Conditions compiled to Python: one generated function per event type runs all of that type's
rules in order, with short-circuiting, `evt.type` already folded away, list membership as
frozensets, prefixes as `str.startswith` and regexes compiled once.

Operator semantics follow libsinsp (userspace/libsinsp/filter_compare.cpp): an absent field makes
every check false except under `not`; `!=` needs a value; `glob` is fnmatch(3) on the whole
string; `regex` is a full RE2 match; `in`/`intersects` on a list field test all/any of its items;
ancestors without an index and `fd.ip`-style fields hold when one of their values does.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import re2

from runwatch.event import FLAG_ARGUMENTS, Event, FieldType
from runwatch.rules.falco import runtime
from runwatch.rules.falco.fields import Access, FieldError, resolve_access
from runwatch.rules.falco.parser import And, Check, Const, Expr, FieldRef, ListValue, MacroRef, \
    Not, Operand, Or, Transform, Value, walk

MatchFunction = Callable[[Event], list[int]]

_NUMERIC = (FieldType.INT, FieldType.PORT, FieldType.RELTIME, FieldType.ABSTIME, FieldType.FLOAT)
_ORDER = ("<", "<=", ">", ">=")
_LIST_OPS = ("in", "intersects", "pmatch")
_ALLOWED: dict[str, tuple[str, ...]] = {
    "numeric": ("=", "!=", "<", "<=", ">", ">=", "in", "intersects", "exists"),
    "bool": ("=", "!=", "in", "intersects", "exists"),
    "ip": ("=", "!=", "in", "intersects", "exists"),
    "list": ("in", "intersects", "exists"),
    "string": ("=", "!=", "<", "<=", ">", ">=", "contains", "icontains", "bcontains",
               "startswith", "bstartswith", "endswith", "glob", "iglob", "regex", "in",
               "intersects", "pmatch", "exists"),
}
_FLAG_NAME = re.compile(r"[A-Z][A-Z0-9_]*(\|[A-Z][A-Z0-9_]*)*")


class CompileError(Exception):
    """A check that cannot be compiled: unknown field, bad operator or a value of the wrong type."""

    def __init__(self, message: str, position: int, macro: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.macro = macro


@dataclass(frozen=True, slots=True)
class TypeSet:
    """The event types a condition can match: `names`, or all but `names` when `is_complement`."""

    names: frozenset[str]
    is_complement: bool

    def admits(self, evt_type: str | None) -> bool:
        """None stands for any event type no rule names."""
        if evt_type is None:
            return self.is_complement
        return (evt_type in self.names) != self.is_complement

    def invert(self) -> TypeSet:
        return TypeSet(self.names, not self.is_complement)

    @staticmethod
    def everything() -> TypeSet:
        return TypeSet(frozenset(), True)


def _intersect(a: TypeSet, b: TypeSet) -> TypeSet:
    if not a.is_complement and not b.is_complement:
        return TypeSet(a.names & b.names, False)
    if a.is_complement and b.is_complement:
        return TypeSet(a.names | b.names, True)
    positive, negative = (a, b) if not a.is_complement else (b, a)
    return TypeSet(positive.names - negative.names, False)


def _union(a: TypeSet, b: TypeSet) -> TypeSet:
    return _intersect(a.invert(), b.invert()).invert()


def event_types(expr: Expr, negated: bool = False) -> TypeSet:
    """Which event types can satisfy `expr` (Falco's evttype resolver, with De Morgan under not)."""
    if isinstance(expr, Not):
        return event_types(expr.child, not negated)
    if isinstance(expr, (And, Or)):
        sets = [event_types(child, negated) for child in expr.children]
        combine = _intersect if isinstance(expr, And) != negated else _union
        result = sets[0]
        for other in sets[1:]:
            result = combine(result, other)
        return result
    if isinstance(expr, Const):
        return TypeSet.everything() if expr.value != negated else TypeSet(frozenset(), False)
    if isinstance(expr, Check):
        named = _evt_type_values(expr)
        if named is not None:
            positive = TypeSet(named, False)
            if expr.op == "!=":
                positive = positive.invert()
            return positive.invert() if negated else positive
    return TypeSet.everything()


def _evt_type_values(check: Check) -> frozenset[str] | None:
    if not (isinstance(check.left, FieldRef) and check.left.name == "evt.type"
            and check.left.arg is None):
        return None
    if check.op in ("=", "!=") and isinstance(check.right, Value):
        return frozenset((check.right.text,))
    if check.op in ("in", "intersects") and isinstance(check.right, ListValue):
        return frozenset(check.right.items)
    return None


def mentioned_event_types(expr: Expr) -> frozenset[str]:
    """Every event type an `evt.type` check names; the others can be folded as one."""
    names: set[str] = set()
    for node in walk(expr):
        if isinstance(node, Check):
            names |= _evt_type_values(node) or frozenset()
    return frozenset(names)


def fold_event_type(expr: Expr, evt_type: str | None) -> Expr:
    """Replace `evt.type` checks by their value for one event type (None: a type no rule names)."""
    if isinstance(expr, Not):
        return Not(fold_event_type(expr.child, evt_type))
    if isinstance(expr, And):
        return And(tuple(fold_event_type(c, evt_type) for c in expr.children))
    if isinstance(expr, Or):
        return Or(tuple(fold_event_type(c, evt_type) for c in expr.children))
    if isinstance(expr, Check):
        named = _evt_type_values(expr)
        if named is not None:
            found = evt_type is not None and evt_type in named
            return Const(not found if expr.op == "!=" else found)
    return expr


class CodeGenerator:
    """Turns checks into Python expressions over `g` (the event's `get`), sharing constants."""

    def __init__(self) -> None:
        self.namespace: dict[str, object] = {"_rt": runtime}
        self._constant_names: dict[tuple[str, object], str] = {}
        self._check_code: dict[int, str] = {}
        self._temps = 0
        self.fields_used: set[str] = set()

    def constant(self, value: object) -> str:
        key = (type(value).__name__, value if _hashable(value) else id(value))
        name = self._constant_names.get(key)
        if name is None:
            name = f"_k{len(self._constant_names)}"
            self._constant_names[key] = name
            self.namespace[name] = value
        return name

    def temp(self) -> str:
        self._temps += 1
        return f"_t{self._temps}"

    def check(self, check: Check) -> str:
        """Python code for one check (cached: macros share their checks among rules)."""
        code = self._check_code.get(id(check))
        if code is None:
            code = self._compile_check(check)
            self._check_code[id(check)] = code
        return code

    def expression(self, expr: Expr) -> str:
        if isinstance(expr, Const):
            return "True" if expr.value else "False"
        if isinstance(expr, Not):
            return f"not ({self.expression(expr.child)})"
        if isinstance(expr, And):
            return " and ".join(f"({self.expression(c)})" for c in expr.children)
        if isinstance(expr, Or):
            return " or ".join(f"({self.expression(c)})" for c in expr.children)
        if isinstance(expr, Check):
            return self.check(expr)
        raise CompileError(f"undefined macro '{expr.name}'", expr.position)

    # operands
    def _access(self, ref: FieldRef) -> Access:
        try:
            access = resolve_access(ref)
        except FieldError as err:
            raise CompileError(str(err), ref.position) from None
        for name, value in access.constants:
            self.namespace[name] = value
        self.fields_used.add(ref.text if access.field.name not in ("evt.arg", "evt.rawarg")
                             else access.keys[0])
        return access

    def operand(self, operand: Operand) -> tuple[str, FieldType, str, bool, str]:
        """(code, value type, multiplicity, is dynamic, argument name) of a field or transform."""
        if isinstance(operand, FieldRef):
            access = self._access(operand)
            arg_name = access.keys[0].rpartition(".")[2] if access.is_dynamic else ""
            return access.code, access.value_type, access.multiplicity, access.is_dynamic, \
                arg_name
        code, value_type, multiplicity, dynamic, _ = self.operand(operand.operand)
        if operand.name == "val":
            return code, value_type, multiplicity, dynamic, ""
        if operand.name == "len":
            return f"_rt.length({code})", FieldType.INT, "one", False, ""
        function = {"tolower": "to_lower", "toupper": "to_upper", "b64": "b64",
                    "basename": "basename"}[operand.name]
        if value_type is not FieldType.STRING and not dynamic:
            raise CompileError(f"{operand.name}() needs a string field, {operand.operand.text} "
                               f"is {value_type.value}", operand.position)
        return f"_rt.{function}({code})", FieldType.STRING, \
            "any" if multiplicity == "list" else multiplicity, False, ""

    # checks
    def _compile_check(self, check: Check) -> str:
        code, value_type, multiplicity, dynamic, arg_name = self.operand(check.left)
        op = check.op
        if op == "exists":
            return f"({code}) not in (None, [], ())"
        family = "list" if multiplicity == "list" else _family(value_type, dynamic)
        if op not in _ALLOWED[family]:
            kind = {"numeric": "numeric", "bool": "boolean", "ip": "IP address and network",
                    "list": "list", "string": "string"}[family]
            raise CompileError(f"operator '{op}' is not supported on {kind} field "
                               f"{check.left.text}; use one of {', '.join(_ALLOWED[family])}",
                               check.position)
        right = check.right
        if isinstance(right, (FieldRef, Transform)):
            right_code = self.operand(right)[0]
            return f"_rt.compare_values({op!r}, {code}, {right_code})"
        assert isinstance(right, (Value, ListValue))
        values = right.items if isinstance(right, ListValue) else (right.text,)
        if multiplicity == "list":
            members = self.constant(frozenset(self._typed(values, value_type, check, dynamic)))
            if op == "in":
                t = self.temp()
                return f"bool({t} := {code}) and {members}.issuperset({t})"
            return f"not {members}.isdisjoint({code} or ())"
        if dynamic:
            return self._dynamic(code, op, values, arg_name, check)
        if multiplicity == "any":
            return self._any(code, op, values, value_type, check)
        return self._one(code, op, values, value_type, check)

    def _typed(self, values: Iterable[str], value_type: FieldType, check: Check,
               dynamic: bool = False) -> list[object]:
        if dynamic:
            return list(values)
        return [_typed_value(v, value_type, check) for v in values]

    def _one(self, code: str, op: str, values: tuple[str, ...], value_type: FieldType,
             check: Check) -> str:
        if value_type is FieldType.IPNET:
            networks = tuple(_network(v, check) for v in values)
            if op == "!=":
                return f"_rt.not_in_network({code}, {self.constant(networks[0])})"
            return f"_rt.in_networks({code}, {self.constant(networks)})"
        if value_type is FieldType.IPADDR:
            addresses = [_address(v, check) for v in values]
            if op == "!=":
                t = self.temp()
                return f"({t} := _rt.ip({code})) is not None and {t} != " \
                       f"{self.constant(addresses[0])}"
            if op == "=":
                return f"_rt.ip({code}) == {self.constant(addresses[0])}"
            return f"_rt.ip({code}) in {self.constant(frozenset(addresses))}"
        if op in ("in", "intersects"):
            typed = self._typed(values, value_type, check)
            if len(typed) == 1:
                return f"{code} == {self.constant(typed[0])}"
            return f"{code} in {self.constant(frozenset(typed))}"
        if op == "=":
            return f"{code} == {self.constant(_typed_value(values[0], value_type, check))}"
        t = self.temp()
        return f"({t} := {code}) is not None and ({self.test(t, op, values, value_type, check)})"

    def _any(self, code: str, op: str, values: tuple[str, ...], value_type: FieldType,
             check: Check) -> str:
        if op in ("in", "intersects", "=") and value_type not in (FieldType.IPADDR,
                                                                   FieldType.IPNET):
            members = self.constant(frozenset(self._typed(values, value_type, check)))
            return f"not {members}.isdisjoint({code} or ())"
        item = self.temp()
        if value_type is FieldType.IPNET:
            networks = self.constant(tuple(_network(v, check) for v in values))
            test = (f"_rt.not_in_network({item}, {networks}[0])" if op == "!=" else
                    f"_rt.in_networks({item}, {networks})")
        elif value_type is FieldType.IPADDR:
            addresses = self.constant(frozenset(_address(v, check) for v in values))
            test = (f"_rt.ip({item}) not in {addresses}" if op == "!=" else
                    f"_rt.ip({item}) in {addresses}")
        else:
            test = self.test(item, op, values, value_type, check)
        return f"any(({test}) for {item} in ({code} or ()) if {item} is not None)"

    def test(self, name: str, op: str, values: tuple[str, ...], value_type: FieldType,
             check: Check) -> str:
        """A test on a value known to be present, held in variable `name`."""
        value = values[0]
        if op in ("=", "!=", "<", "<=", ">", ">="):
            python_op = "==" if op == "=" else op
            return f"{name} {python_op} {self.constant(_typed_value(value, value_type, check))}"
        if op in ("in", "intersects"):
            return f"{name} in {self.constant(frozenset(self._typed(values, value_type, check)))}"
        return self._string_test(name, op, values, check)

    def _string_test(self, name: str, op: str, values: tuple[str, ...], check: Check) -> str:
        value = values[0]
        if op == "contains":
            return f"{self.constant(value)} in {name}"
        if op == "icontains":
            return f"{self.constant(value.lower())} in {name}.lower()"
        if op == "startswith":
            return f"{name}.startswith({self.constant(value)})"
        if op == "endswith":
            return f"{name}.endswith({self.constant(value)})"
        if op in ("glob", "iglob"):
            flags = re.DOTALL | (re.IGNORECASE if op == "iglob" else 0)
            pattern = re.compile(runtime.glob_regex(value), flags)
            return f"{self.constant(pattern)}.fullmatch({name}) is not None"
        if op == "regex":
            return f"{self.constant(_regex(value, check))}.fullmatch({name}) is not None"
        if op == "pmatch":
            return f"{self.constant(runtime.PathPrefixes(values))}({name})"
        if op in ("bcontains", "bstartswith"):
            wanted = self.constant(_hex_bytes(value, check))
            data = f"{name}.encode('utf-8', 'surrogateescape')"
            return f"{wanted} in {data}" if op == "bcontains" else f"{data}.startswith({wanted})"
        raise CompileError(f"operator '{op}' is not supported here", check.position)

    def _dynamic(self, code: str, op: str, values: tuple[str, ...], arg_name: str,
                 check: Check) -> str:
        """evt.arg.NAME: its type is known only at run time; numbers compare as decimal text."""
        if op in _ORDER:
            number = _number(values[0], check)
            return f"_rt.dynamic_order({code}, {op!r}, {number!r})"
        if op == "contains" and arg_name in FLAG_ARGUMENTS and _FLAG_NAME.fullmatch(values[0]):
            wanted = self.constant(frozenset(values[0].split("|")))
            return f"_rt.has_flags({code}, {wanted})"
        text = f"_rt.dynamic_text({code})"
        if op == "=":
            return f"{text} == {self.constant(values[0])}"
        if op in ("in", "intersects"):
            return f"{text} in {self.constant(frozenset(values))}"
        t = self.temp()
        return f"({t} := {text}) is not None and ({self.test(t, op, values, FieldType.STRING, check)})"


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return not isinstance(value, (re.Pattern, runtime.PathPrefixes)) and \
        type(value).__name__ != "_Regexp"


def _family(value_type: FieldType, dynamic: bool) -> str:
    if dynamic:
        return "string"
    if value_type in _NUMERIC:
        return "numeric"
    if value_type is FieldType.BOOL:
        return "bool"
    if value_type in (FieldType.IPADDR, FieldType.IPNET):
        return "ip"
    return "string"


def _number(text: str, check: Check) -> int | float:
    try:
        if text[:2].lower() == "0x" or text[:3].lower() in ("+0x", "-0x"):
            return int(text, 16)
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise CompileError(f"{check.left.text} is a number: {text!r} is not one",
                           check.position) from None


def _typed_value(text: str, value_type: FieldType, check: Check) -> object:
    if value_type in _NUMERIC:
        return _number(text, check)
    if value_type is FieldType.BOOL:
        if text == "true":
            return True
        if text == "false":
            return False
        raise CompileError(f"{check.left.text} is a boolean: expected true or false, got "
                           f"{text!r}", check.position)
    if value_type is FieldType.IPADDR:
        return _address(text, check)
    return text


def _address(text: str, check: Check) -> runtime.IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise CompileError(f"{check.left.text} is an IP address: {text!r} is not one",
                           check.position) from None


def _network(text: str, check: Check) -> runtime.IPNetwork:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise CompileError(f"{check.left.text} is matched against networks: {text!r} is not "
                           f"a CIDR network (10.0.0.0/8)", check.position) from None


def _regex(pattern: str, check: Check) -> object:
    options = re2.Options()
    options.posix_syntax = True
    options.longest_match = False
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        raise CompileError(f"invalid regular expression {pattern!r}: {err}",
                           check.position) from None


def _hex_bytes(text: str, check: Check) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise CompileError(f"bcontains and bstartswith take hexadecimal bytes (cafebabe), got "
                           f"{text!r}", check.position) from None


def validate(expr: Expr, generator: CodeGenerator, origin: dict[int, str]) -> None:
    """Compile every check once, so that errors surface at load time with their macro."""
    for node in walk(expr):
        if isinstance(node, Check):
            try:
                generator.check(node)
            except CompileError as err:
                raise CompileError(err.message, err.position, origin.get(id(node))) from None
        elif isinstance(node, MacroRef):
            raise CompileError(f"undefined macro '{node.name}'", node.position)


@dataclass(slots=True)
class FunctionSource:
    """The generated source of one event type's function, and the rules it runs in order."""

    name: str
    rules: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


def generate_function(generator: CodeGenerator, name: str,
                      rules: list[tuple[int, Expr]], first_only: bool) -> str:
    """The source of one matcher: `def name(e)` returns the indexes of the rules that match."""
    lines = [f"def {name}(e):", "    g = e.get"]
    if not first_only:
        lines.append("    hits = []")
    for index, expr in rules:
        code = generator.expression(expr)
        lines.append(f"    if {code}:")
        lines.append(f"        {'return [' + str(index) + ']' if first_only else f'hits.append({index})'}")
    lines.append("    return []" if first_only else "    return hits")
    return "\n".join(lines)


def build_functions(generator: CodeGenerator, sources: dict[str, str]) -> dict[str, MatchFunction]:
    """Compile generated functions once, in one namespace holding their constants."""
    namespace = generator.namespace
    code = compile("\n\n".join(sources.values()), "<runwatch falco rules>", "exec")
    exec(code, namespace)  # the generated source is built only from parsed, validated checks
    return {name: namespace[name] for name in sources}  # type: ignore[misc]
