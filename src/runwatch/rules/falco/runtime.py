"""The small functions generated rule code calls: field reads that are more than a dict lookup,
and the operators that are more than one Python expression (pmatch, CIDR, flags, val())."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FieldList(list[str]):
    """The values of a plugin's list field (`ka.req.pod.containers.image`): outputs print them
    `(a,b)`, as libsinsp prints list fields (userspace/libsinsp/sinsp_filtercheck.cpp)."""

    __slots__ = ()


def item(values: object, index: int) -> object:
    """values[index] of a list field, None when the list is absent or too short."""
    if isinstance(values, list) and 0 <= index < len(values):
        return values[index]
    return None


def present(*values: object) -> tuple[object, ...] | None:
    """The known values among several fields (fd.ip is the client IP or the server IP)."""
    known = tuple(v for v in values if v is not None)
    return known or None


def env_value(env: object, name: str) -> str | None:
    """proc.env[NAME]: the value of one variable from the `NAME=value` list."""
    if isinstance(env, list):
        prefix = name + "="
        for entry in env:
            if isinstance(entry, str) and entry.startswith(prefix):
                return entry[len(prefix):]
    return None


def joined(values: object) -> str | None:
    """A list field read as one string (proc.env without an argument), items space-separated."""
    if isinstance(values, list):
        return " ".join(str(v) for v in values)
    return values if isinstance(values, str) else None


def argument(args: object, exe: object, index: int) -> str | None:
    """proc.args[N]: argv[N]; N = 0 is argv[0] (proc.exe), N >= 1 the Nth argument."""
    if index == 0:
        return exe if isinstance(exe, str) else None
    if isinstance(args, str):
        parts = args.split()
        if index <= len(parts):
            return parts[index - 1]
    return None


def label(labels: object, name: str) -> object:
    """container.label[NAME], k8s.pod.label[NAME]."""
    return labels.get(name) if isinstance(labels, dict) else None


def mount_dest(mounts: object, pattern: re.Pattern[str]) -> str | None:
    """container.mount.dest[GLOB]: the first mount destination matching the glob."""
    for source_dest in _mounts(mounts):
        if pattern.fullmatch(source_dest[1]):
            return source_dest[1]
    return None


def mount_source(mounts: object, pattern: re.Pattern[str]) -> str | None:
    """container.mount.source[GLOB]: the source of the first mount whose destination matches."""
    for source_dest in _mounts(mounts):
        if pattern.fullmatch(source_dest[1]):
            return source_dest[0]
    return None


def _mounts(mounts: object) -> list[tuple[str, str]]:
    out = []
    if isinstance(mounts, list):
        for entry in mounts:
            if isinstance(entry, str):
                parts = entry.split(":")
                if len(parts) >= 2:
                    out.append((parts[0], parts[1]))
    return out


@lru_cache(maxsize=8192)
def ip(text: object) -> IPAddress | None:
    """An event's IP string as an address (cached: the same peers come back again and again)."""
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def in_networks(text: object, networks: tuple[IPNetwork, ...]) -> bool:
    """fd.snet in (10.0.0.0/8, ...): the IP lies in one of the networks (same family)."""
    address = ip(text)
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)


@lru_cache(maxsize=65536)
def not_in_network(text: object, network: IPNetwork) -> bool:
    """fd.snet != 10.0.0.0/8: a known IP outside the network (Falco: the masked IPs differ)."""
    address = ip(text)
    if address is None:
        return False
    return address.version != network.version or address not in network


def has_flags(value: object, wanted: frozenset[str]) -> bool:
    """`evt.arg.flags contains O_TRUNC`: every named flag is set in `O_WRONLY|O_TRUNC`."""
    if not isinstance(value, str):
        return False
    return wanted.issubset(value.split("|"))


class PathPrefixes:
    """pmatch: does a path start with one of the prefixes, at a path-component boundary?

    `/tmp/hello` matches `/tmp/hello` and `/tmp/hello/world`, not `/tmp/hello_world`.
    Prefixes may hold glob wildcards, which do not cross `/` (Falco 0.36+).
    """

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        self.exact: frozenset[str] = frozenset(p.rstrip("/") or "/" for p in prefixes
                                               if not _has_wildcard(p))
        self.globs: tuple[tuple[re.Pattern[str], ...], ...] = tuple(
            tuple(re.compile(glob_regex(part, slash_is_special=True)) for part in _components(p))
            for p in prefixes if _has_wildcard(p))
        self.matches_root = "/" in self.exact

    def __call__(self, path: object) -> bool:
        if not isinstance(path, str) or not path:
            return False
        exact = self.exact
        if path in exact or (self.matches_root and path.startswith("/")):
            return True
        index = path.find("/", 1)
        while index != -1:
            if path[:index] in exact:
                return True
            index = path.find("/", index + 1)
        if self.globs:
            parts = _components(path)
            for pattern in self.globs:
                if len(parts) >= len(pattern) and all(
                        p.fullmatch(part) for p, part in zip(pattern, parts, strict=False)):
                    return True
        return False


def _components(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _has_wildcard(text: str) -> bool:
    return any(c in text for c in "*?[")


def glob_regex(pattern: str, slash_is_special: bool = False) -> str:
    """A glob as a regular expression, with fnmatch(3)'s rules as Falco calls it (no flags):
    `*` and `?` also match '/', `[...]`/`[!...]` are classes, and a backslash escapes."""
    any_char = "[^/]" if slash_is_special else "."
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(any_char + "*")
        elif char == "?":
            out.append(any_char)
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            start = i + 1
            if pattern[start:start + 1] in ("!", "^"):
                start += 1
            if pattern[start:start + 1] == "]":
                start += 1
            end = pattern.find("]", start)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                negate = body[:1] in ("!", "^")
                body = (body[1:] if negate else body).replace("\\", "\\\\").replace("[", "\\[")
                if body.startswith("^"):
                    body = "\\" + body
                out.append(f"[{'^' if negate else ''}{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def to_lower(value: object) -> object:
    return _map(value, str.lower)


def to_upper(value: object) -> object:
    return _map(value, str.upper)


def basename(value: object) -> object:
    """Falco's basename(): '' when the path ends with '/' ('/usr/bin/' -> '')."""
    return _map(value, lambda text: text.rpartition("/")[2])


def b64(value: object) -> object:
    """Base64-decoded text; a value that is not valid Base64 is absent."""
    def decode(text: str) -> str | None:
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return None
    return _map(value, decode)


def length(value: object) -> int | None:
    """len(): items of a list field, characters of a string, bytes of a buffer."""
    if isinstance(value, (str, list, tuple, bytes, dict)):
        return len(value)
    return None


def _map(value: object, function: Callable[[str], str | None]) -> object:
    if isinstance(value, str):
        return function(value)
    if isinstance(value, (list, tuple)):
        mapped = [function(v) for v in value if isinstance(v, str)]
        return [v for v in mapped if v is not None]
    return None


def compare_values(op: str, left: object, right: object) -> bool:
    """`field op val(other)`: both sides read from the event; absent on either side is false."""
    if left is None or right is None:
        return False
    lefts = left if isinstance(left, (list, tuple)) else (left,)
    rights = right if isinstance(right, (list, tuple)) else (right,)
    if op in ("in", "intersects"):
        return any(value in rights for value in lefts)
    return any(_compare_one(op, a, b) for a in lefts for b in rights)


def _compare_one(op: str, left: object, right: object) -> bool:
    if isinstance(left, (int, float)) != isinstance(right, (int, float)):
        left, right = str(left), str(right)
    try:
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)  # type: ignore[operator]
        if op == "<=":
            return bool(left <= right)  # type: ignore[operator]
        if op == ">":
            return bool(left > right)  # type: ignore[operator]
        if op == ">=":
            return bool(left >= right)  # type: ignore[operator]
    except TypeError:
        return False
    if not isinstance(left, str) or not isinstance(right, str):
        return False
    if op == "contains":
        return right in left
    if op == "icontains":
        return right.lower() in left.lower()
    if op == "startswith":
        return left.startswith(right)
    if op == "endswith":
        return left.endswith(right)
    if op == "glob":
        return re.fullmatch(glob_regex(right), left, re.DOTALL) is not None
    if op == "iglob":
        return re.fullmatch(glob_regex(right), left, re.DOTALL | re.IGNORECASE) is not None
    if op == "pmatch":
        return PathPrefixes((right,))(left)
    return False


def dynamic_equals(value: object, text: str, number: int | float | None) -> bool:
    """`evt.arg.NAME = X` where the argument's type is only known at run time."""
    if value is None:
        return False
    if isinstance(value, bool):
        return text == ("true" if value else "false")
    if isinstance(value, (int, float)):
        return number is not None and value == number
    return str(value) == text


def dynamic_order(value: object, op: str, number: int | float) -> bool:
    """`evt.arg.NAME < N`: numeric arguments only."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if op == "<":
        return value < number
    if op == "<=":
        return value <= number
    if op == ">":
        return value > number
    return value >= number


def dynamic_text(value: object) -> str | None:
    """An argument as text for string operators (numbers as decimal)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)
