"""A Sigma rule's parsed condition (pySigma's tree, identifiers already resolved to their
detections, modifiers already applied to the values) compiled into one Python predicate.

Sigma's semantics: plain strings match whole values case-insensitively, with `*` and `?`
wildcards; `re` is a case-sensitive search unless flagged; a field holding a list matches when
one of its items does; `null` matches an absent or empty field; keywords (values without a field)
search the route's keyword fields, or every value of an auditd record.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence

from sigma.conditions import (ConditionAND, ConditionFieldEqualsValueExpression, ConditionNOT,
                              ConditionOR, ConditionValueExpression)
from sigma.types import (SigmaBool, SigmaCasedString, SigmaCIDRExpression, SigmaCompareExpression,
                         SigmaExists, SigmaExpansion, SigmaFieldReference, SigmaNull, SigmaNumber,
                         SigmaRegularExpression, SigmaRegularExpressionFlag, SigmaString,
                         SpecialChars)

from runwatch.rules.sigma.logsources import Reader, Record, Route

Predicate = Callable[[Record], bool]
ValueTest = Callable[[object], bool]


class UnsupportedSigma(Exception):
    """A construct runwatch cannot evaluate; the message says which."""


def compile_condition(node: object, route: Route) -> Predicate:
    """The predicate of a parsed condition tree for records of `route`."""
    if isinstance(node, ConditionAND):
        parts = [compile_condition(arg, route) for arg in node.args]
        return lambda record: all(part(record) for part in parts)
    if isinstance(node, ConditionOR):
        parts = _grouped_strings(node.args, route) + [
            compile_condition(arg, route) for arg in node.args if _string_shape(arg) is None]
        if len(parts) == 1:
            return parts[0]
        return lambda record: any(part(record) for part in parts)
    if isinstance(node, ConditionNOT):
        inner = compile_condition(node.args[0], route)
        return lambda record: not inner(record)
    if isinstance(node, ConditionFieldEqualsValueExpression):
        return _field_predicate(route.reader(node.field), node.value, route)
    if isinstance(node, ConditionValueExpression):
        return _keyword_predicate(node.value, route)
    raise UnsupportedSigma(f"condition element {type(node).__name__}")


def _string_shape(node: object) -> tuple[str, str, str] | None:
    """(field, equals|startswith|endswith, lower-cased text) of a plain Sigma string test."""
    if not isinstance(node, ConditionFieldEqualsValueExpression) or \
            type(node.value) is not SigmaString:
        return None
    parts = node.value.s
    if all(isinstance(part, str) for part in parts):
        return node.field, "equals", "".join(parts).lower()  # type: ignore[arg-type]
    if len(parts) == 2 and isinstance(parts[1], str) and parts[0] == SpecialChars.WILDCARD_MULTI:
        return node.field, "endswith", parts[1].lower()
    if len(parts) == 2 and isinstance(parts[0], str) and parts[1] == SpecialChars.WILDCARD_MULTI:
        return node.field, "startswith", parts[0].lower()
    return None


def _grouped_strings(args: Sequence[object], route: Route) -> list[Predicate]:
    """The string tests of an OR, merged per field and shape: one set lookup for many equals,
    one `endswith(tuple)` for many endswith (Sigma lists of values are long ORs)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for arg in args:
        if (shape := _string_shape(arg)) is not None:
            groups.setdefault(shape[:2], []).append(shape[2])
    predicates = []
    for (field, kind), texts in groups.items():
        predicates.append(_tested_field(route.reader(field), _merged_test(kind, texts)))
    return predicates


def _merged_test(kind: str, texts: list[str]) -> ValueTest:
    if kind == "equals":
        wanted = frozenset(texts)
        return lambda found: str(found).lower() in wanted
    affixes = tuple(texts)
    if kind == "endswith":
        return lambda found: str(found).lower().endswith(affixes)
    return lambda found: str(found).lower().startswith(affixes)


def _tested_field(read: Reader, test: ValueTest) -> Predicate:
    def predicate(record: Record) -> bool:
        found = read(record)
        if found is None:
            return False
        if isinstance(found, list):
            return any(test(item) for item in found)
        return test(found)
    return predicate


def _field_predicate(read: Reader, value: object, route: Route) -> Predicate:
    if isinstance(value, SigmaExists):
        wanted = value.exists
        return lambda record: (read(record) not in (None, "")) == wanted
    if isinstance(value, SigmaNull):
        return lambda record: read(record) in (None, "")
    if isinstance(value, SigmaFieldReference):
        other = route.reader(value.field)
        return lambda record: read(record) is not None and \
            str(read(record)).lower() == str(other(record)).lower()
    if isinstance(value, SigmaExpansion):
        parts = [_field_predicate(read, item, route) for item in value.values]
        return lambda record: any(part(record) for part in parts)
    return _tested_field(read, value_test(value))


def _keyword_predicate(value: object, route: Route) -> Predicate:
    """Keywords are full-text searches: a plain keyword matches anywhere in the text."""
    test: ValueTest
    if type(value) is SigmaString and not value.contains_special():
        wanted = str(value).lower()
        test = lambda found: wanted in str(found).lower()  # noqa: E731
    else:
        test = value_test(value)
    fields = route.keyword_fields
    if fields:
        return lambda record: any(record.get(f) is not None and test(record[f]) for f in fields)
    return lambda record: any(test(item) for item in record.values() if isinstance(item, str))


def value_test(value: object) -> ValueTest:
    """A test of one field value against one Sigma value."""
    if isinstance(value, SigmaCasedString):
        return _string_test(value, case_sensitive=True)
    if isinstance(value, SigmaString):
        return _string_test(value, case_sensitive=False)
    if isinstance(value, SigmaBool):
        wanted = value.boolean
        return lambda found: found is wanted or str(found).lower() == str(wanted).lower()
    if isinstance(value, SigmaNumber):
        number = value.number
        return lambda found: _as_number(found) == number
    if isinstance(value, SigmaRegularExpression):
        flags = 0
        for flag in value.flags:
            flags |= {SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
                      SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
                      SigmaRegularExpressionFlag.DOTALL: re.DOTALL}[flag]
        source = str(value.regexp.original)  # the pattern as written, not a wildcard string
        try:
            pattern = re.compile(source, flags)
        except re.error as err:
            raise UnsupportedSigma(f"regular expression {source!r}: {err}") from None
        return lambda found: pattern.search(str(found)) is not None
    if isinstance(value, SigmaCIDRExpression):
        network = ipaddress.ip_network(value.network, strict=False) \
            if not isinstance(value.network, (ipaddress.IPv4Network, ipaddress.IPv6Network)) \
            else value.network
        return lambda found: _in_network(found, network)
    if isinstance(value, SigmaCompareExpression):
        number = value.number.number
        ops = SigmaCompareExpression.CompareOperators
        compare: Callable[[float], bool] = {ops.LT: lambda a: a < number, ops.LTE: lambda a: a <= number,
                   ops.GT: lambda a: a > number, ops.GTE: lambda a: a >= number,
                   ops.NEQ: lambda a: a != number}[value.op]
        return lambda found: (n := _as_number(found)) is not None and compare(n)
    raise UnsupportedSigma(f"value type {type(value).__name__}")


def _string_test(value: SigmaString, case_sensitive: bool) -> ValueTest:
    parts = value.s
    fold: Callable[[str], str] = (lambda text: text) if case_sensitive else str.lower
    plain = [part for part in parts if isinstance(part, str)]
    specials = [part for part in parts if not isinstance(part, str)]
    if not specials:
        wanted = fold("".join(plain))
        return lambda found: fold(str(found)) == wanted
    if all(part == SpecialChars.WILDCARD_MULTI for part in specials) and len(plain) == 1:
        text = fold(plain[0])
        starts, ends = parts[0] == SpecialChars.WILDCARD_MULTI, parts[-1] == SpecialChars.WILDCARD_MULTI
        if starts and ends and len(parts) == 3:
            return lambda found: text in fold(str(found))
        if starts and len(parts) == 2:
            return lambda found: fold(str(found)).endswith(text)
        if ends and len(parts) == 2:
            return lambda found: fold(str(found)).startswith(text)
    pattern = re.compile("".join(
        re.escape(part) if isinstance(part, str) else
        (".*" if part == SpecialChars.WILDCARD_MULTI else ".") for part in parts),
        re.DOTALL | (0 if case_sensitive else re.IGNORECASE))
    return lambda found: pattern.fullmatch(str(found)) is not None


def _as_number(found: object) -> float | int | None:
    if isinstance(found, bool):
        return None
    if isinstance(found, (int, float)):
        return found
    try:
        return float(str(found))
    except ValueError:
        return None


def _in_network(found: object, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(str(found)) in network
    except ValueError:
        return False
