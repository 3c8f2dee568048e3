"""What one Sigma value means for one field value, as Sigma specifies it: a plain string matches the
whole value case-insensitively, `*` and `?` are wildcards, `re` searches case-sensitively unless
flagged, numbers and booleans compare as such, `cidr` tests an address, `lt`/`gt`/... compare
numbers.

Plain strings get a shape (equals, startswith, endswith, contains and a lower-cased text) that
the compiler turns into inline string operations; every other value gets a test function of one
scalar value.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Literal

from sigma.types import (CompareOperators, SigmaBool, SigmaCasedString, SigmaCIDRExpression,
                         SigmaCompareExpression, SigmaNumber, SigmaRegularExpression,
                         SigmaRegularExpressionFlag, SigmaString, SigmaTimestampPart, SpecialChars)

ValueTest = Callable[[object], bool]
Shape = Literal["eq", "startswith", "endswith", "contains"]

_FLAGS = {SigmaRegularExpressionFlag.IGNORECASE: re.IGNORECASE,
          SigmaRegularExpressionFlag.MULTILINE: re.MULTILINE,
          SigmaRegularExpressionFlag.DOTALL: re.DOTALL}
_ANY = SpecialChars.WILDCARD_MULTI
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class UnsupportedSigma(Exception):
    """A construct runwatch cannot evaluate; the message says which."""


def string_shape(value: object) -> tuple[Shape, str] | None:
    """(shape, lower-cased text) of a case-insensitive string without inner wildcards:
    'a' is eq, 'a*' startswith, '*a' endswith, '*a*' contains."""
    if type(value) is not SigmaString:
        return None
    parts = value.s
    texts = [part for part in parts if isinstance(part, str)]
    if len(texts) > 1 or len(parts) - len(texts) > 2 or \
            any(part is not _ANY for part in parts if not isinstance(part, str)):
        return None
    text = texts[0].lower() if texts else ""
    starts, ends = bool(parts) and parts[0] is _ANY, bool(parts) and parts[-1] is _ANY
    if not texts:
        return None  # '*' alone: any value, a regular expression's job
    if starts and ends:
        return ("contains", text) if len(parts) == 3 else None
    if starts:
        return "endswith", text
    if ends:
        return "startswith", text
    return "eq", text


def keyword_shape(value: object) -> str | None:
    """The lower-cased text a keyword searches for, when it has no inner wildcards: keywords
    match anywhere in the text, so 'a', '*a' and '*a*' all search for 'a'."""
    if type(value) is not SigmaString:
        return None
    parts = list(value.s)
    while parts and parts[0] is _ANY:
        parts.pop(0)
    while parts and parts[-1] is _ANY:
        parts.pop()
    if len(parts) == 1 and isinstance(parts[0], str):
        return parts[0].lower()
    return None


def wildcard_source(value: SigmaString) -> str:
    """A Sigma string with wildcards as the source of a regular expression."""
    if value.contains_placeholder():
        raise UnsupportedSigma(f"placeholder in {value} (expand modifier): runwatch has no "
                               f"values for placeholders")
    return "".join(re.escape(part) if isinstance(part, str) else
                   (".*" if part is _ANY else ".") for part in value.s)


def wildcard_pattern(value: SigmaString, search: bool = False) -> re.Pattern[str]:
    """A Sigma string with wildcards as a regular expression: whole-value (fullmatch) unless
    `search`; case-insensitive unless the string is `cased`."""
    flags = re.DOTALL if not search else 0
    if not isinstance(value, SigmaCasedString):
        flags |= re.IGNORECASE
    return re.compile(wildcard_source(value), flags)


def wildcards_pattern(values: list[SigmaString]) -> re.Pattern[str]:
    """Several case-insensitive wildcard strings as one pattern: matching any is one call."""
    return re.compile("|".join(f"(?:{wildcard_source(value)})" for value in values),
                      re.DOTALL | re.IGNORECASE)


def regex_pattern(value: SigmaRegularExpression) -> re.Pattern[str]:
    """The `re` modifier's pattern with its flags (`re|i`, `re|m`, `re|s`); searched, not
    anchored, as Sigma's backends do."""
    flags = 0
    for flag in value.flags:
        flags |= _FLAGS[flag]
    source = str(value.regexp)
    try:
        return re.compile(source, flags)
    except re.error as err:
        raise UnsupportedSigma(f"regular expression {source!r}: {err}") from None


def value_test(value: object) -> ValueTest:
    """A test of one scalar field value (str, int, bool, ...) against one Sigma value."""
    if isinstance(value, SigmaString):  # also cased strings
        pattern = wildcard_pattern(value)
        return lambda found: pattern.fullmatch(found if type(found) is str else _text(found)) \
            is not None
    if isinstance(value, SigmaRegularExpression):
        regex = regex_pattern(value)
        return lambda found: regex.search(found if type(found) is str else _text(found)) \
            is not None
    if isinstance(value, SigmaBool):
        wanted, word = value.boolean, str(value.boolean).lower()
        return lambda found: found is wanted if isinstance(found, bool) else \
            _text(found).lower() == word
    if isinstance(value, SigmaTimestampPart):
        raise UnsupportedSigma(f"timestamp part modifier ({value.timestamp_part.name.lower()}): "
                               f"runwatch's events carry no Sigma timestamp fields")
    if isinstance(value, SigmaNumber):
        number = value.number
        return lambda found: as_number(found) == number
    if isinstance(value, SigmaCIDRExpression):
        return network_test([value.network])
    if isinstance(value, SigmaCompareExpression):
        return _compare_test(value)
    raise UnsupportedSigma(f"value {value!r} ({type(value).__name__})")


def network_test(networks: list[IpNetwork]) -> ValueTest:
    """True for an address inside any of `networks` (the `cidr` modifier)."""
    def test(found: object) -> bool:
        try:
            address = ipaddress.ip_address(_text(found))
        except ValueError:
            return False
        return any(address in network for network in networks)
    return test


def _compare_test(value: SigmaCompareExpression) -> ValueTest:
    limit = value.number.number
    compare: Callable[[int | float], bool] = {
        CompareOperators.LT: lambda n: n < limit, CompareOperators.LTE: lambda n: n <= limit,
        CompareOperators.GT: lambda n: n > limit, CompareOperators.GTE: lambda n: n >= limit,
        CompareOperators.NEQ: lambda n: n != limit}[value.op]
    return lambda found: (number := as_number(found)) is not None and compare(number)


def as_number(found: object) -> int | float | None:
    """A field value as a number: ints as they are, numeric text parsed; None otherwise."""
    if isinstance(found, bool):
        return None
    if isinstance(found, (int, float)):
        return found
    try:
        return int(str(found))
    except ValueError:
        pass
    try:
        return float(str(found))
    except ValueError:
        return None


def _text(found: object) -> str:
    """A non-string value as Sigma compares it: booleans as 'true'/'false'."""
    if isinstance(found, bool):
        return "true" if found else "false"
    return str(found)


def text_of(found: object) -> str:
    """A field value as lower-cased text, for case-insensitive string tests."""
    return (found if type(found) is str else _text(found)).lower()
