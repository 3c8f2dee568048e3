"""A Sigma rule's parsed condition (pySigma's tree: identifiers resolved to their detections,
modifiers applied to the values) compiled into one Python function of a record, once, at load.

The function is generated code: `and`/`or`/`not` stay Python's own, a field is read by its
route's expression, and a string test on a string value is an inline string operation
(`v.lower().endswith(('/nc', '/ncat'))`); a list of values of one field is one set lookup or one
affix tuple. Values that are not strings (numbers, lists from a Kubernetes object) take a slower
path with Sigma's semantics: a list matches when one of its items does. `null` matches an absent
field; keywords (values without a field) search the route's keyword text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sigma.conditions import (ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT,
                              ConditionOR, ConditionValueExpression)
from sigma.types import (SigmaBool, SigmaCasedString, SigmaCIDRExpression, SigmaExists,
                         SigmaExpansion, SigmaFieldReference, SigmaNull, SigmaNumber,
                         SigmaRegularExpression, SigmaString, SigmaTimestampPart)

from runwatch.rules.sigma.logsources import Accessor, Record, Route
from runwatch.rules.sigma.values import (Shape, UnsupportedSigma, keyword_shape,
                                         network_test, regex_pattern, string_shape, text_of,
                                         value_test, wildcard_pattern, wildcards_pattern)

Predicate = Callable[[Record], bool]

__all__ = ["CompiledCondition", "Predicate", "UnsupportedSigma", "compile_condition", "reader_of"]


# -- a small tree of our own: pySigma's, with expansions as ORs and nested ANDs/ORs flattened --

@dataclass(frozen=True, slots=True)
class _Leaf:
    field: str | None  # None: a keyword
    value: object


@dataclass(frozen=True, slots=True)
class _Node:
    op: str  # "and", "or", "not"
    args: tuple[_Node | _Leaf, ...]


def _tree(node: object) -> _Node | _Leaf:
    if node is None:
        raise UnsupportedSigma("a detection without any item")
    if isinstance(node, (ConditionAND, ConditionOR)):
        op = "and" if isinstance(node, ConditionAND) else "or"
        args: list[_Node | _Leaf] = []
        for arg in node.args:
            child = _tree(arg)
            args += child.args if isinstance(child, _Node) and child.op == op else [child]
        return _Node(op, tuple(args)) if len(args) != 1 else args[0]
    if isinstance(node, ConditionNOT):
        return _Node("not", (_tree(node.args[0]),))
    if isinstance(node, (ConditionFieldEqualsValueExpression, ConditionValueExpression)):
        name = node.field if isinstance(node, ConditionFieldEqualsValueExpression) else None
        if isinstance(node.value, SigmaExpansion):  # windash, base64offset: any of the values
            return _Node("or", tuple(_Leaf(name, value) for value in node.value.values))
        return _Leaf(name, node.value)
    raise UnsupportedSigma(f"condition element {type(node).__name__}")


# -- code generation -----------------------------------------------------------------------

def _any_item(found: object, test: Callable[[object], bool]) -> bool:
    """A value that is not a string: a list matches when an item does; a scalar is tested."""
    if isinstance(found, (list, tuple)):
        return any(item is not None and _any_item(item, test) for item in found)
    return test(found)


def _all_contained(found: object, texts: tuple[str, ...]) -> bool:
    """`contains|all` on a list: every text in some item."""
    items = [text_of(item) for item in found] if isinstance(found, (list, tuple)) \
        else [text_of(found)]
    return all(any(text in item for item in items) for text in texts)


def _same(found: object, other: object) -> bool:
    """`fieldref`: both fields present and equal (case-insensitively, as strings are)."""
    if found is None or other is None:
        return False
    mine = {text_of(v) for v in (found if isinstance(found, list) else [found])}
    return any(text_of(v) in mine for v in (other if isinstance(other, list) else [other]))


def _fullmatch_test(pattern: re.Pattern[str]) -> Callable[[object], bool]:
    return lambda found: pattern.fullmatch(text_of(found)) is not None


def _is_null(found: object) -> bool:
    return found is None or found == []


_HELPERS: dict[str, object] = {"type": type, "any": any, "all": all, "map": map,
                               "_any_item": _any_item, "_all_contained": _all_contained,
                               "_same": _same, "_is_null": _is_null,
                               "_lower": lambda v: None if v is None else text_of(v)}
"""Names the generated code calls (builtins bound here are found without a second lookup)."""


@dataclass(slots=True)
class _Code:
    """One rule's code being written: the constants it names, and the accessors it reads."""

    route: Route
    namespace: dict[str, object] = field(default_factory=dict)
    fields: dict[str, Accessor] = field(default_factory=dict)

    def const(self, value: object) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def read(self, name: str) -> str:
        accessor = self.route.fields(name)
        self.fields.setdefault(name, accessor)
        return accessor.expr

    def expr(self, node: _Node | _Leaf) -> str:
        if isinstance(node, _Leaf):
            return self.leaf(node)
        if node.op == "not":
            return f"not ({self.expr(node.args[0])})"
        parts = self.grouped(node) if node.op == "or" else self.grouped_all(node)
        return f" {node.op} ".join(f"({part})" for part in parts)

    def grouped(self, node: _Node) -> list[str]:
        """An OR's operands, with plain string tests of one field and shape merged: a set lookup
        for equals, one startswith/endswith call for affixes, one pass for contains."""
        groups: dict[tuple[str | None, Shape], list[str]] = {}
        networks: dict[str, list[SigmaCIDRExpression]] = {}
        wildcards: dict[str, list[SigmaString]] = {}
        rest: list[_Node | _Leaf] = []
        for arg in node.args:
            shape = self.shape_of(arg)
            if shape is not None:
                assert isinstance(arg, _Leaf)
                groups.setdefault((arg.field, shape[0]), []).append(shape[1])
            elif isinstance(arg, _Leaf) and arg.field is not None and \
                    isinstance(arg.value, SigmaCIDRExpression):
                networks.setdefault(arg.field, []).append(arg.value)
            elif isinstance(arg, _Leaf) and arg.field is not None and \
                    type(arg.value) is SigmaString:
                wildcards.setdefault(arg.field, []).append(arg.value)
            else:
                rest.append(arg)
        parts = [self.shaped(name, shape, texts) for (name, shape), texts in groups.items()]
        for name, cidrs in networks.items():
            parts.append(self.tested(name, network_test([c.network for c in cidrs])))
        for name, strings in wildcards.items():
            if len(strings) == 1:
                rest.append(_Leaf(name, strings[0]))
                continue
            pattern = wildcards_pattern(strings)
            parts.append(self.tested(name, _fullmatch_test(pattern),
                                     f"{self.const(pattern)}.fullmatch(_x) is not None"))
        return parts + [self.expr(arg) for arg in rest]

    def grouped_all(self, node: _Node) -> list[str]:
        """An AND's operands, with `contains` tests of one field merged (`contains|all`)."""
        contained: dict[str | None, list[str]] = {}
        rest: list[_Node | _Leaf] = []
        for arg in node.args:
            shape = self.shape_of(arg)
            if shape is not None and shape[0] == "contains":
                assert isinstance(arg, _Leaf)
                contained.setdefault(arg.field, []).append(shape[1])
            else:
                rest.append(arg)
        parts = []
        for name, texts in contained.items():
            if len(texts) == 1:
                parts.append(self.shaped(name, "contains", texts))
            else:
                parts.append(self.all_contained(name, tuple(texts)))
        return parts + [self.expr(arg) for arg in rest]

    def shape_of(self, node: _Node | _Leaf) -> tuple[Shape, str] | None:
        if not isinstance(node, _Leaf):
            return None
        if node.field is None:
            text = keyword_shape(node.value)
            return None if text is None else ("contains", text)
        return string_shape(node.value)

    def source_of(self, name: str | None, raw: bool = False) -> str:
        """The expression reading a field, or for keywords the route's text: lower-cased, or
        as written when `raw` (a case-sensitive regular expression)."""
        if name is not None:
            return self.read(name)
        keyword = self.route.keyword_raw if raw else self.route.keyword
        if keyword is None:
            raise UnsupportedSigma(f"keywords (values without a field) on {self.route.name} "
                                   f"events: there is no text to search")
        self.fields.setdefault("<keywords>", keyword)
        return keyword.expr

    def shaped(self, name: str | None, shape: Shape, texts: list[str]) -> str:
        """Plain string tests of one field: inline on a string value, through `_any_item` on
        anything else (a number, a list)."""
        unique = tuple(dict.fromkeys(texts))
        if shape == "eq":
            wanted = self.const(unique[0] if len(unique) == 1 else frozenset(unique))
            fast = f"{{v}} == {wanted}" if len(unique) == 1 else f"{{v}} in {wanted}"
        else:
            affixes = self.const(unique[0] if len(unique) == 1 else unique)
            if shape == "startswith":
                fast = f"{{v}}.startswith({affixes})"
            elif shape == "endswith":
                fast = f"{{v}}.endswith({affixes})"
            elif len(unique) == 1:
                fast = f"{affixes} in {{v}}"
            else:
                fast = f"any(map({{v}}.__contains__, {affixes}))"
        if name is None:  # keyword text: already lower-cased
            return f"(_v := {self.source_of(None)}) is not None and {fast.format(v='_v')}"
        on_text: Callable[[str], bool] = eval(  # noqa: S307 - our own generated code
            f"lambda _v: {fast.format(v='_v')}", {**self.namespace, "any": any, "map": map})
        slow = self.const(lambda item: on_text(text_of(item)))
        return (f"{fast.format(v='_x.lower()')} if type(_x := {self.source_of(name)}) is str "
                f"else _x is not None and _any_item(_x, {slow})")

    def all_contained(self, name: str | None, texts: tuple[str, ...]) -> str:
        wanted = self.const(texts)
        if name is None:
            return f"(_v := {self.source_of(None)}) is not None and " \
                   f"all(map(_v.__contains__, {wanted}))"
        return (f"all(map(_x.lower().__contains__, {wanted})) if type(_x := "
                f"{self.source_of(name)}) is str else _x is not None and "
                f"_all_contained(_x, {wanted})")

    def tested(self, name: str, test: Callable[[object], bool], fast: str | None = None) -> str:
        """A field against a test of one scalar value; `fast` is the inline form on a str."""
        call = self.const(test)
        fast = fast or f"{call}(_x)"
        return (f"{fast} if type(_x := {self.source_of(name)}) is str else "
                f"_x is not None and _any_item(_x, {call})")

    def leaf(self, leaf: _Leaf) -> str:
        shape = self.shape_of(leaf)
        if shape is not None:
            return self.shaped(leaf.field, shape[0], [shape[1]])
        if leaf.field is None:
            return self.keyword(leaf.value)
        value, name = leaf.value, leaf.field
        if isinstance(value, SigmaNull):
            return f"_is_null({self.source_of(name)})"
        if isinstance(value, SigmaExists):
            return f"({self.source_of(name)}) is {'not ' if value.exists else ''}None"
        if isinstance(value, SigmaFieldReference):
            if value.starts_with or value.ends_with:
                raise UnsupportedSigma(f"fieldref with startswith/endswith on {name}")
            return f"_same({self.source_of(name)}, {self.read(value.field)})"
        if isinstance(value, SigmaRegularExpression):
            pattern = self.const(regex_pattern(value))
            return self.tested(name, value_test(value), f"{pattern}.search(_x) is not None")
        if isinstance(value, SigmaString):
            pattern = self.const(wildcard_pattern(value))
            return self.tested(name, value_test(value), f"{pattern}.fullmatch(_x) is not None")
        return self.tested(name, value_test(value))

    def keyword(self, value: object) -> str:
        """A keyword that is not a plain string: searched anywhere in the route's text."""
        if isinstance(value, (SigmaNumber, SigmaBool)) and \
                not isinstance(value, SigmaTimestampPart):
            text = self.const(str(value).lower())
            return f"(_v := {self.source_of(None)}) is not None and {text} in _v"
        if isinstance(value, SigmaRegularExpression):
            pattern = self.const(regex_pattern(value))
            return f"(_v := {self.source_of(None, raw=True)}) is not None and " \
                   f"{pattern}.search(_v) is not None"
        if isinstance(value, SigmaString):
            cased = isinstance(value, SigmaCasedString)
            pattern = self.const(wildcard_pattern(value, search=True))
            return f"(_v := {self.source_of(None, raw=cased)}) is not None and " \
                   f"{pattern}.search(_v) is not None"
        raise UnsupportedSigma(f"keyword {value!r} ({type(value).__name__}): keywords search "
                               f"text")


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A rule's predicate, the code it was made from, and the Sigma fields it reads."""

    predicate: Predicate
    source: str
    fields: dict[str, Accessor]
    key: tuple[str, frozenset[str]] | None
    """(Sigma field, base names): a match needs the field's value to end in one of these names
    (after its last '/'; the whole value when it has none): an index can skip the rule."""
    record_types: frozenset[str] | None
    """For auditd: the record types (upper case) a match needs; None when any may match."""


def compile_condition(trees: Sequence[object], route: Route, where: str) -> CompiledCondition:
    """The predicate of a rule's parsed conditions (several are ORed, as Sigma says) over the
    records of `route`. Raises UnsupportedSigma, or Unmapped for a field without a reading."""
    roots = [_tree(tree) for tree in trees]
    root = roots[0] if len(roots) == 1 else _Node("or", tuple(roots))
    code = _Code(route)
    body = code.expr(root)
    source = f"def _match(r):\n    return bool({body})\n"
    namespace: dict[str, object] = {**_HELPERS, **route.helpers, **code.namespace}
    exec(compile(source, where, "exec"), namespace)  # noqa: S102 - our own generated code
    predicate: Predicate = namespace["_match"]  # type: ignore[assignment]
    keys = _required(root)
    record_types = keys.pop("type", None) if route.per_record else None
    key = min(keys.items(), key=lambda item: len(item[1])) if keys else None
    return CompiledCondition(predicate, source, code.fields, key,
                             frozenset(t.upper() for t in record_types) if record_types else None)


def reader_of(accessor: Accessor, route: Route) -> Callable[[Record], object]:
    """A function reading one field the way the rule's code reads it (for indexes, outputs)."""
    reader: Callable[[Record], object] = eval(  # noqa: S307 - our own generated code
        f"lambda r: {accessor.expr}", {**_HELPERS, **route.helpers})
    return reader


def _base_name(text: str) -> str:
    return text.rpartition("/")[2]


def _required(node: _Node | _Leaf) -> dict[str, frozenset[str]]:
    """Fields whose value a match needs to end in one of a few base names: `a0: getcap` needs
    'getcap', `Image|endswith: ['/nc', '/bin/ncat']` needs 'nc' or 'ncat'."""
    if isinstance(node, _Leaf):
        shape = string_shape(node.value) if node.field is not None else None
        if node.field is None or shape is None:
            return {}
        if shape[0] == "eq" or (shape[0] == "endswith" and "/" in shape[1]):
            return {node.field: frozenset({_base_name(shape[1])})}
        return {}
    if node.op == "not":
        return {}
    children = [_required(arg) for arg in node.args]
    if node.op == "and":
        merged: dict[str, frozenset[str]] = {}
        for child in children:
            for name, names in child.items():
                merged[name] = merged[name] & names if name in merged else names
        return merged
    common = set(children[0]).intersection(*children[1:]) if children else set()
    return {name: frozenset().union(*(child[name] for child in children)) for name in common}
