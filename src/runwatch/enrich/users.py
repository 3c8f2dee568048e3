"""User and group names as the container sees them: from its own /etc/passwd, not the host's."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from runwatch.event import Event

_TTL_S = 60.0


def parse_id_names(text: str) -> dict[int, str]:
    """uid -> name from /etc/passwd text (or gid -> name from /etc/group); bad lines are skipped."""
    names: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            names.setdefault(int(parts[2]), parts[0])
    return names


ContainerPids = Callable[[str], list[int]]
"""Live pids of a container by id: any one opens a way into its root filesystem."""


class UserNameEnricher:
    """Fills `user.name` and `group.name` from each container's own account files, cached a minute.

    The files are read through `/proc/<pid>/root`, which is the container's root filesystem. The
    event's own process may be gone already (`cat /etc/shadow` lives a millisecond), so when it
    is, any live process of the same container will do (`container_pids`, e.g. from its cgroup).
    """

    name = "users"
    fields = frozenset({"user.name", "group.name", "user.loginname"})
    """The fields it adds (rules using fields nothing provides are reported at load)."""

    def __init__(self, proc_root: Path = Path("/proc"),
                 container_pids: ContainerPids | None = None) -> None:
        self.proc_root = proc_root
        self.container_pids = container_pids
        self._cache: dict[str, tuple[float, dict[int, str], dict[int, str]]] = {}

    def enrich(self, batch: list[Event]) -> None:
        for event in batch:
            uid, gid = event.get("user.uid"), event.get("group.gid")
            if not isinstance(uid, int) or "user.name" in event:
                continue
            users, groups = self._names(event)
            if uid in users:
                event["user.name"] = users[uid]
            if isinstance(gid, int) and gid in groups:
                event["group.name"] = groups[gid]
            loginuid = event.get("user.loginuid")
            if isinstance(loginuid, int) and loginuid in users:  # -1 (never logged in) stays absent
                event["user.loginname"] = users[loginuid]

    def _names(self, event: Event) -> tuple[dict[int, str], dict[int, str]]:
        key = str(event.get("container.id", "host"))
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < _TTL_S:
            return cached[1], cached[2]
        users: dict[int, str] = {}
        groups: dict[int, str] = {}
        for root in self._roots(key, event.get("proc.pid")):
            users = parse_id_names(_read_text(root / "etc/passwd"))
            if users:
                groups = parse_id_names(_read_text(root / "etc/group"))
                break
        if users or key == "host":
            self._cache[key] = (now, users, groups)
        return users, groups

    def _roots(self, container_id: str, pid: object) -> Iterator[Path]:
        """Where the container's files can be read: its processes' /proc/<pid>/root.

        A process in the container's cgroup may not be in its filesystem yet: runc joins the
        cgroup first and pivots into the container's root after. A root that is our own `/` is
        not the container's, and is skipped.
        """
        if container_id == "host":
            yield Path("/")
            return
        candidates = [pid] if isinstance(pid, int) else []
        if self.container_pids is not None:
            candidates.extend(sorted(self.container_pids(container_id))[:3])
        own_root = _identity(Path("/"))
        for candidate in candidates:
            root = self.proc_root / str(candidate) / "root"
            identity = _identity(root)
            if identity is not None and identity != own_root:
                yield root


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a directory, or None when it cannot be reached."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # the process may be gone, or the image has no such file
        return ""
