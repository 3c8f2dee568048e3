"""Turning observed paths and peers into profile patterns, so a profile stays small and stable.

A path component that is a PID, a long number, a hex id or a mktemp-style random name is
replaced by `*` (`/proc/4711/status` -> `/proc/*/status`, `/tmp/tmp.aZ3kq9Lm` -> `/tmp/tmp.*`).
A directory whose learned children outnumber `collapse_after` becomes `dir/*`, and external
IPv4 peers on one port become their /24 the same way. `*` never crosses a `/`.
"""

from __future__ import annotations

import functools
import ipaddress
import re

WILDCARD = "*"

_DIGITS = re.compile(r"^\d+$")
_LONG_NUMBER = re.compile(r"\d{4,}")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*")
# mktemp's XXXXXX and friends: a run of 6+ letters and digits mixing upper, lower and digits.
_RANDOM_TAIL = re.compile(r"(?<=[._-])[A-Za-z0-9]{6,}$|^[A-Za-z0-9]{10,}$")


def _looks_random(text: str) -> bool:
    kinds = (any(c.isdigit() for c in text), any(c.islower() for c in text),
             any(c.isupper() for c in text))
    return sum(kinds) >= 2 and kinds[0] or sum(kinds) == 3


def generalise_component(name: str) -> str:
    """One path component with its per-process and random parts replaced by `*`."""
    if _DIGITS.match(name):
        return WILDCARD
    name = _HEX_ID.sub(lambda m: WILDCARD if any(c.isdigit() for c in m.group()) else m.group(),
                       name)
    name = _LONG_NUMBER.sub(WILDCARD, name)
    tail = _RANDOM_TAIL.search(name)
    if tail and _looks_random(tail.group()):
        name = name[:tail.start()] + WILDCARD
    return re.sub(r"\*+", WILDCARD, name)


def generalise_path(path: str) -> str:
    """`/proc/4711/fd/3` -> `/proc/*/fd/*`; absolute paths only, others are returned as they are."""
    if not path.startswith("/"):
        return path
    return "/".join(generalise_component(part) if part else part for part in path.split("/"))


@functools.lru_cache(maxsize=4096)
def _path_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join("[^/]*" if c == WILDCARD else re.escape(c) for c in pattern) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """True when `path` fits `pattern`; `*` stands for any text within one component."""
    if WILDCARD not in pattern:
        return pattern == path
    return _path_regex(pattern).match(path) is not None


def parent_directory(path: str) -> str | None:
    """`/var/cache/x` -> `/var/cache`; None for `/` and for paths that are not absolute."""
    if not path.startswith("/") or path == "/":
        return None
    return path.rsplit("/", 1)[0] or "/"


def join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def network_of(peer: str, prefix_len: int = 24) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) around an IP peer, for collapsing many peers into one;
    None when the peer is a workload name or a network already."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return None
    bits = prefix_len if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def peer_matches(pattern: str, peer: str) -> bool:
    """A learned peer covers an observed one: the same name or IP, or an IP inside a learned network."""
    if pattern == peer:
        return True
    if "/" not in pattern:
        return False
    try:
        return ipaddress.ip_address(peer) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False
