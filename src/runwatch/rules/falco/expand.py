"""Lists and macros substituted into parsed conditions, and exceptions turned into conditions.

Falco's semantics (userspace/engine/rule_loader_compiler.cpp): a list's items that name an
earlier list are replaced by its items; a list name among the values of `in`, `pmatch` or
`intersects` becomes its items, an item with spaces staying one value; a macro name becomes the
macro's tree, and a macro sees only macros defined before it (rules see all). Exceptions become
`(condition) and not (field comp (values)) and not (...)`, built as text exactly as Falco does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runwatch.rules.falco.collector import ExceptionInfo, ListInfo, MacroInfo
from runwatch.rules.falco.parser import OPERATORS, And, Check, ConditionSyntaxError, Const, \
    Expr, ListValue, MacroRef, Not, Or, parse_condition, read_list_item

_LIST_OPERATORS = ("in", "pmatch", "intersects")


class ExpandError(Exception):
    """A condition refers to something that does not exist; `macro` names where it was met."""

    def __init__(self, message: str, macro: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.macro = macro


@dataclass(slots=True)
class Expander:
    """Holds the final lists and parsed macros; expands one condition at a time."""

    lists: dict[str, ListInfo]
    macros: dict[str, MacroInfo]
    flat_lists: dict[str, tuple[str, ...]] = field(default_factory=dict)
    parsed_macros: dict[str, Expr] = field(default_factory=dict)
    macro_errors: dict[str, ConditionSyntaxError] = field(default_factory=dict)
    used_lists: set[str] = field(default_factory=set)
    used_macros: set[str] = field(default_factory=set)
    origin: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, info in self.lists.items():
            items: list[str] = []
            for entry in info.items:
                earlier = self.flat_lists.get(entry)
                if earlier is not None:
                    self.used_lists.add(entry)
                    items.extend(earlier)
                else:
                    items.append(entry)
            self.flat_lists[name] = tuple(items)

    def macro_tree(self, name: str) -> Expr:
        """A macro's own condition, parsed once (not yet expanded)."""
        tree = self.parsed_macros.get(name)
        if tree is None:
            error = self.macro_errors.get(name)
            if error is not None:
                raise ExpandError(f"macro '{name}' has a broken condition: {error.message}",
                                  name)
            try:
                tree = parse_condition(self.macros[name].condition)
            except ConditionSyntaxError as err:
                self.macro_errors[name] = err
                raise ExpandError(f"macro '{name}' has a broken condition: {err.message}",
                                  name) from None
            self.parsed_macros[name] = tree
        return tree

    def expand(self, expr: Expr, visible_before: int | None = None) -> Expr:
        """Substitute macros and lists; `visible_before` limits macros to earlier ones."""
        return self._expand(expr, visible_before, (), None)

    def _expand(self, expr: Expr, visible_before: int | None, stack: tuple[str, ...],
                inside: str | None) -> Expr:
        if isinstance(expr, And):
            return And(tuple(self._expand(c, visible_before, stack, inside) for c in expr.children))
        if isinstance(expr, Or):
            return Or(tuple(self._expand(c, visible_before, stack, inside) for c in expr.children))
        if isinstance(expr, Not):
            return Not(self._expand(expr.child, visible_before, stack, inside))
        if isinstance(expr, MacroRef):
            return self._macro(expr, visible_before, stack, inside)
        if isinstance(expr, Check):
            expanded = self._lists(expr)
            if inside is not None:
                self.origin[id(expanded)] = inside
            return expanded
        return expr

    def _macro(self, ref: MacroRef, visible_before: int | None, stack: tuple[str, ...],
               inside: str | None) -> Expr:
        name = ref.name
        info = self.macros.get(name)
        if info is None:
            if name in self.lists:
                raise ExpandError(f"'{name}' is a list, not a macro: use it as "
                                  f"`field in ({name})`", inside)
            raise ExpandError(f"undefined macro '{name}'", inside)
        if visible_before is not None and info.order >= visible_before:
            raise ExpandError(f"macro '{name}' is used before it is defined (a macro can use "
                              f"only macros defined above it)", inside)
        if name in stack:
            raise ExpandError(f"macro '{name}' refers to itself: "
                              f"{' -> '.join((*stack, name))}", inside)
        self.used_macros.add(name)
        tree = self.macro_tree(name)
        return self._expand(tree, info.visibility, (*stack, name), name)

    def _lists(self, check: Check) -> Check:
        right = check.right
        if check.op not in _LIST_OPERATORS or not isinstance(right, ListValue):
            return check
        if not any(item in self.flat_lists for item in right.items):
            return check
        items: list[str] = []
        self._flatten(right.items, items, set())
        return Check(check.left, check.op, ListValue(tuple(items), right.position),
                     check.position)

    def _flatten(self, values: tuple[str, ...], out: list[str], seen: set[str]) -> None:
        for value in values:
            listed = self.flat_lists.get(value)
            if listed is None or value in seen:
                out.append(value)
                continue
            self.used_lists.add(value)
            self._flatten(tuple(read_list_item(item) for item in listed), out, seen | {value})


def exception_condition(condition: str, exceptions: list[ExceptionInfo]) -> str:
    """Falco's build_rule_exception_infos: `(cond) and not (...)` for each exception.

    Raises ExpandError for values that do not fit the fields.
    """
    result = f"({condition})"
    for exception in exceptions:
        text = _one_exception(exception)
        if text:
            result += " and not " + text
    return result


def _quote(item: str) -> str:
    """Falco's quote_item: an item with a space is quoted unless it already is."""
    if " " in item and item[:1] not in ("\"", "'"):
        return f"\"{item}\""
    return item


def _paren(item: str) -> str:
    return item if item.startswith("(") else f"({item})"


def _scalar(value: Any, exception: ExceptionInfo) -> str:
    if isinstance(value, str):
        return value
    raise ExpandError(f"exception '{exception.name}': expected a string value, got {value!r}")


def _one_exception(exception: ExceptionInfo) -> str:
    fields = exception.fields
    if isinstance(fields, str):
        comp = exception.comps if isinstance(exception.comps, str) else "in"
        if isinstance(exception.comps, list):
            raise ExpandError(f"exception '{exception.name}': fields is one field, so comps "
                              f"must be one operator too")
        if comp not in _LIST_OPERATORS:
            raise ExpandError(f"exception '{exception.name}': with a single field, comps must "
                              f"be one of in, pmatch, intersects (got '{comp}')")
        values = []
        for value in exception.values:
            if isinstance(value, list):
                raise ExpandError(f"exception '{exception.name}': fields is one field, so "
                                  f"values must be a list of strings")
            values.append(_quote(_scalar(value, exception)))
        return f"({fields} {comp} ({', '.join(values)}))" if values else ""
    if fields is None:
        raise ExpandError(f"exception '{exception.name}' has no fields")
    comps = exception.comps if exception.comps is not None else ["="] * len(fields)
    if isinstance(comps, str) or len(comps) != len(fields):
        raise ExpandError(f"exception '{exception.name}': fields and comps must be lists of "
                          f"the same length")
    for comp in comps:
        if comp not in OPERATORS:
            raise ExpandError(f"exception '{exception.name}': '{comp}' is not an operator; "
                              f"expected one of {', '.join(OPERATORS)}")
    alternatives = []
    for row in exception.values:
        if not isinstance(row, list) or len(row) != len(fields):
            raise ExpandError(f"exception '{exception.name}': each value must be a list of "
                              f"{len(fields)} items, one per field ({', '.join(fields)}); got "
                              f"{row!r}")
        terms = []
        for name, comp, value in zip(fields, comps, row, strict=True):
            if isinstance(value, list):
                text = "(" + ", ".join(_quote(_scalar(v, exception)) for v in value) + ")"
            else:
                text = _scalar(value, exception)
                text = _paren(text) if comp in _LIST_OPERATORS else _quote(text)
            terms.append(f" {name} {comp} {text}")
        alternatives.append("(" + " and".join(terms) + ")")
    return f"({' or '.join(alternatives)})" if alternatives else ""


def fold(expr: Expr) -> Expr:
    """Simplify constants out of a tree: `x and false` is false, `not true` is false."""
    if isinstance(expr, Not):
        child = fold(expr.child)
        return Const(not child.value) if isinstance(child, Const) else Not(child)
    if isinstance(expr, (And, Or)):
        is_and = isinstance(expr, And)
        kept: list[Expr] = []
        for child in expr.children:
            folded = fold(child)
            if isinstance(folded, Const):
                if folded.value != is_and:
                    return Const(not is_and)
                continue
            kept.append(folded)
        if not kept:
            return Const(is_and)
        if len(kept) == 1:
            return kept[0]
        return And(tuple(kept)) if is_and else Or(tuple(kept))
    return expr
