"""A workload's profile: what it was seen doing, kind by kind, as generalised items.

An item is a short tuple of strings whose meaning depends on its kind (see `Kind`). Paths may hold
`*` and IP peers may be networks; `Profile.covers` understands both, and `Profile.learn` keeps the
profile small by collapsing siblings (generalise.py) once there are more than `collapse_after`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator

from runwatch.profiles.generalise import (ALWAYS_ALLOWED_SYSCALLS, WILDCARD, join, network_of,
                                          parent_directory, path_matches, peer_matches,
                                          syscall_family)

Item = tuple[str, ...]
UNKNOWN_PARENT = "?"


class Mode(enum.StrEnum):
    """learn: record only; monitor: alert on what is not in the profile; protect: also respond."""

    LEARN = "learn"
    MONITOR = "monitor"
    PROTECT = "protect"


class Kind(enum.StrEnum):
    """What an item describes, and the fields of its tuple."""

    PROCESS = "process"        # (executable path, process name, parent process name)
    USER = "user"              # (executable path, process name, user name or uid)
    FILE_WRITE = "file_write"  # (path pattern,)
    FILE_READ = "file_read"    # (path pattern,) under the sensitive directories
    OUTBOUND = "outbound"      # (peer: workload, IP or network, server port, protocol)
    INBOUND = "inbound"        # (peer: workload, IP or network, our server port, protocol)
    LISTEN = "listen"          # (port, protocol)
    CAPABILITY = "capability"  # (CAP_NAME,)
    SYSCALL = "syscall"        # (syscall name,)


RULE_NAMES: dict[Kind, str] = {
    Kind.PROCESS: "Profile: new process", Kind.USER: "Profile: new user",
    Kind.FILE_WRITE: "Profile: new file write", Kind.FILE_READ: "Profile: new sensitive file read",
    Kind.OUTBOUND: "Profile: new outbound connection",
    Kind.INBOUND: "Profile: new inbound connection", Kind.LISTEN: "Profile: new listening port",
    Kind.CAPABILITY: "Profile: new capability", Kind.SYSCALL: "Profile: new syscall",
}
"""The alert rule raised for each kind of deviation."""

ITEM_FIELDS: dict[Kind, tuple[str, ...]] = {
    Kind.PROCESS: ("exepath", "name", "parent"), Kind.USER: ("exepath", "name", "user"),
    Kind.FILE_WRITE: ("path",), Kind.FILE_READ: ("path",),
    Kind.OUTBOUND: ("peer", "port", "protocol"), Kind.INBOUND: ("peer", "port", "protocol"),
    Kind.LISTEN: ("port", "protocol"), Kind.CAPABILITY: ("capability",),
    Kind.SYSCALL: ("syscall",),
}
"""The names of each kind's item fields, for JSON and for people."""

_PATH_KINDS = frozenset({Kind.PROCESS, Kind.USER, Kind.FILE_WRITE, Kind.FILE_READ})
_PEER_KINDS = frozenset({Kind.OUTBOUND, Kind.INBOUND})


def parse_kind(text: str) -> Kind:
    """A kind from user input; ValueError naming the known kinds otherwise."""
    try:
        return Kind(text)
    except ValueError:
        raise ValueError(f"unknown profile item kind {text!r} (expected one of: "
                         f"{', '.join(Kind)})") from None


def parse_mode(text: str) -> Mode:
    """A mode from user input; ValueError naming the modes otherwise."""
    try:
        return Mode(text)
    except ValueError:
        raise ValueError(f"unknown profile mode {text!r} (expected learn, monitor or protect)") \
            from None


def check_item(kind: Kind, item: Item) -> Item:
    """The item if it has the fields its kind needs; ValueError naming them otherwise."""
    fields = ITEM_FIELDS[kind]
    if len(item) != len(fields) or not all(isinstance(part, str) and part for part in item):
        raise ValueError(f"a {kind} item has {len(fields)} non-empty fields ({', '.join(fields)}), "
                         f"got {list(item)!r}")
    return tuple(item)


def describe_item(kind: Kind, item: Item) -> str:
    """One line for people: `/bin/sleep (parent sh)`, `tcp/8080 to web@nginx`."""
    if kind == Kind.PROCESS:
        return f"{_program(item)} (parent {item[2]})"
    if kind == Kind.USER:
        return f"{_program(item)} as {item[2]}"
    if kind in _PEER_KINDS:
        return f"{item[2]}/{item[1]} {'to' if kind == Kind.OUTBOUND else 'from'} {item[0]}"
    if kind == Kind.LISTEN:
        return f"{item[1]}/{item[0]}"
    return item[0]


def _program(item: Item) -> str:
    """`/usr/bin/curl`, or `/proc/self/exe (date)` where the path does not name the program."""
    path, name = item[0], item[1]
    return path if path.rsplit("/", 1)[-1][:15] == name else f"{path} ({name})"


def _is_pattern(kind: Kind, item: Item) -> bool:
    if kind in _PATH_KINDS:
        return WILDCARD in item[0]
    return kind in _PEER_KINDS and "/" in item[0]


def item_covers(kind: Kind, pattern: Item, item: Item) -> bool:
    """True when a learned (possibly generalised) item covers an observed one."""
    if pattern == item:
        return True
    if kind in _PATH_KINDS:
        return pattern[1:] == item[1:] and path_matches(pattern[0], item[0])
    if kind in _PEER_KINDS:
        return pattern[1:] == item[1:] and peer_matches(pattern[0], item[0])
    return False


class Profile:
    """The items learned for one workload, with fast lookups for exact items and patterns."""

    def __init__(self, collapse_after: int = 5) -> None:
        self.collapse_after = collapse_after
        self._items: dict[Kind, set[Item]] = {kind: set() for kind in Kind}
        self._patterns: dict[Kind, set[Item]] = {kind: set() for kind in Kind}

    def __len__(self) -> int:
        return sum(len(items) for items in self._items.values())

    def __iter__(self) -> Iterator[tuple[Kind, Item]]:
        for kind in Kind:
            for item in sorted(self._items[kind]):
                yield kind, item

    def items(self, kind: Kind) -> list[Item]:
        return sorted(self._items[kind])

    def covers(self, kind: Kind, item: Item) -> bool:
        if item in self._items[kind]:
            return True
        if kind == Kind.PROCESS and self._covers_parent_unknown(item):
            return True
        if kind == Kind.SYSCALL:
            return item[0] in ALWAYS_ALLOWED_SYSCALLS or \
                any((name,) in self._items[kind] for name in syscall_family(item[0]))
        return any(item_covers(kind, pattern, item) for pattern in self._patterns[kind])

    def _covers_parent_unknown(self, item: Item) -> bool:
        """A process whose parent was not known (it started before the sensor, or in a new
        container before the engine described it) is judged by its program alone."""
        if item[2] == UNKNOWN_PARENT:
            return any(known[:2] == item[:2] for known in self._items[Kind.PROCESS])
        return (*item[:2], UNKNOWN_PARENT) in self._items[Kind.PROCESS]

    def add(self, kind: Kind, item: Item) -> None:
        """Put an item in as it is (loading from the store, accepting a deviation)."""
        self._items[kind].add(item)
        if _is_pattern(kind, item):
            self._patterns[kind].add(item)
            self._items[kind] -= {other for other in self._items[kind]
                                  if other != item and item_covers(kind, item, other)}

    def remove(self, kind: Kind, item: Item) -> None:
        self._items[kind].discard(item)
        self._patterns[kind].discard(item)

    def learn(self, kind: Kind, item: Item) -> tuple[list[Item], list[Item]]:
        """Add an observed item, collapsing siblings once there are too many.

        Returns (items added, items removed): a collapse adds `dir/*` and removes the siblings.
        Nothing changes when the profile already covers the item.
        """
        if self.covers(kind, item):
            return [], []
        self._items[kind].add(item)
        collapsed = self._collapse(kind, item)
        if collapsed is None:
            return [item], []
        pattern, siblings = collapsed
        for sibling in siblings:
            self._items[kind].discard(sibling)
        self.add(kind, pattern)
        return [pattern], [s for s in siblings if s != item]

    def _collapse(self, kind: Kind, item: Item) -> tuple[Item, list[Item]] | None:
        """`dir/*` (or the peer's network) and the siblings it replaces, when they are too many."""
        if kind in (Kind.FILE_WRITE, Kind.FILE_READ):
            directory = parent_directory(item[0])
            if directory is None or directory == "/":
                return None
            siblings = [other for other in self._items[kind]
                        if parent_directory(other[0]) == directory and other[1:] == item[1:]]
            pattern: Item = (join(directory, WILDCARD), *item[1:])
        elif kind in _PEER_KINDS:
            network = network_of(item[0])
            if network is None:
                return None
            siblings = [other for other in self._items[kind]
                        if other[1:] == item[1:] and network_of(other[0]) == network]
            pattern = (network, *item[1:])
        else:
            return None
        return (pattern, siblings) if len(siblings) > self.collapse_after else None

    def count_by_kind(self) -> dict[str, int]:
        return {str(kind): len(items) for kind, items in self._items.items() if items}


def merge(profile: Profile, items: Iterable[tuple[Kind, Item]]) -> None:
    """Put stored items into a profile."""
    for kind, item in items:
        profile.add(kind, item)
