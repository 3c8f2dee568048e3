"""User and group names as the container sees them: from its own /etc/passwd, not the host's."""

from __future__ import annotations

import time
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


class UserNameEnricher:
    """Fills `user.name` and `group.name` from each container's own account files, cached a minute.

    The files are read through `/proc/<pid>/root`, which is the container's root filesystem.
    """

    name = "users"

    def __init__(self, proc_root: Path = Path("/proc")) -> None:
        self.proc_root = proc_root
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

    def _names(self, event: Event) -> tuple[dict[int, str], dict[int, str]]:
        key = str(event.get("container.id", "host"))
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and now - cached[0] < _TTL_S:
            return cached[1], cached[2]
        root = Path("/")
        pid = event.get("proc.pid")
        if key != "host" and isinstance(pid, int):
            root = self.proc_root / str(pid) / "root"
        users = parse_id_names(_read_text(root / "etc/passwd"))
        groups = parse_id_names(_read_text(root / "etc/group"))
        if users or key == "host":
            self._cache[key] = (now, users, groups)
        return users, groups


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # the process may be gone, or the image has no such file
        return ""
