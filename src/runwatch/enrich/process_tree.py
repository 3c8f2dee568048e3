"""The process table: answers ancestry questions (`proc.pname`, `proc.aname[3]`) from memory.

Sources that see process starts (the kernel sensor, or procfs as a fallback) record them here; the
enricher fills the parent and ancestor fields of each event from it, so no rule reads /proc.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from runwatch.event import Event

MAX_ANCESTORS = 16


@dataclass(slots=True)
class ProcessInfo:
    """What the table knows of one process; fields absent at the source stay None."""

    pid: int
    ppid: int
    name: str
    exe: str | None = None
    exepath: str | None = None
    args: list[str] | None = None
    cwd: str | None = None
    uid: int | None = None
    gid: int | None = None
    loginuid: int | None = None
    vpid: int | None = None
    sid: int | None = None
    tty: int | None = None
    start_ns: int | None = None
    container_id: str | None = None
    cap_effective: str | None = None
    cap_permitted: str | None = None
    netns: int | None = None
    env: list[str] | None = None
    exe_ino: int | None = None
    is_exe_upper_layer: bool | None = None
    is_exe_from_memfd: bool | None = None

    @property
    def cmdline(self) -> str:
        """Falco's proc.cmdline: the process name, then its arguments."""
        return " ".join([self.name, *(self.args or [])])


PROCESS_FIELDS = frozenset({
    "proc.pid", "proc.vpid", "proc.ppid", "proc.sid", "proc.name", "proc.exe", "proc.exepath",
    "proc.exe_ino", "proc.cmdline", "proc.args", "proc.cwd", "proc.env", "proc.tty",
    "proc.start_ts", "proc.is_exe_upper_layer", "proc.is_exe_from_memfd", "thread.tid",
    "thread.cap_effective", "thread.cap_permitted", "user.uid", "user.loginuid", "group.gid",
    "container.id"})
"""The fields `process_fields` fills (for sources to declare what they provide)."""


def process_fields(info: ProcessInfo) -> Event:
    """The proc.*, user.* and thread.* fields of one process, leaving out what is unknown.

    `proc.cwd` ends with '/' as Falco prints it ('/dev/shm/'), so `startswith "/dev/shm/"` works.
    """
    event: Event = {"proc.pid": info.pid, "proc.ppid": info.ppid, "proc.name": info.name,
                    "thread.tid": info.pid, "proc.cmdline": info.cmdline}
    if info.args is not None:
        event["proc.args"] = " ".join(info.args)
    cwd = info.cwd if info.cwd is None or info.cwd.endswith("/") else info.cwd + "/"
    optional: dict[str, object] = {
        "proc.exe": info.exe, "proc.exepath": info.exepath, "proc.cwd": cwd,
        "user.uid": info.uid, "group.gid": info.gid, "user.loginuid": info.loginuid,
        "proc.vpid": info.vpid, "proc.sid": info.sid, "proc.tty": info.tty,
        "proc.start_ts": info.start_ns, "container.id": info.container_id,
        "thread.cap_effective": info.cap_effective, "thread.cap_permitted": info.cap_permitted,
        "proc.env": info.env, "proc.exe_ino": info.exe_ino,
        "proc.is_exe_upper_layer": info.is_exe_upper_layer,
        "proc.is_exe_from_memfd": info.is_exe_from_memfd,
    }
    event.update({key: value for key, value in optional.items() if value is not None})
    return event


class ProcessTree:
    """pid -> ProcessInfo, bounded (least recently added go first), with ancestry lookups."""

    def __init__(self, max_processes: int = 65_536) -> None:
        self.max_processes = max_processes
        self._processes: OrderedDict[int, ProcessInfo] = OrderedDict()

    def __len__(self) -> int:
        return len(self._processes)

    def add(self, info: ProcessInfo) -> None:
        self._processes[info.pid] = info
        self._processes.move_to_end(info.pid)
        while len(self._processes) > self.max_processes:
            self._processes.popitem(last=False)

    def remove(self, pid: int) -> None:
        self._processes.pop(pid, None)

    def get(self, pid: int) -> ProcessInfo | None:
        return self._processes.get(pid)

    def ancestors(self, pid: int) -> list[ProcessInfo]:
        """Parent first, up to MAX_ANCESTORS, stopping at the first unknown pid or a loop."""
        found: list[ProcessInfo] = []
        seen = {pid}
        info = self._processes.get(pid)
        while info is not None and len(found) < MAX_ANCESTORS:
            parent = self._processes.get(info.ppid)
            if parent is None or parent.pid in seen:
                break
            found.append(parent)
            seen.add(parent.pid)
            info = parent
        return found


class ProcessTreeEnricher:
    """Fills parent, ancestor and session fields of events that carry a `proc.pid`."""

    name = "process_tree"
    fields = frozenset({"proc.pname", "proc.pcmdline", "proc.pexe", "proc.pexepath",
                        "proc.pvpid", "proc.sname", "proc.aname", "proc.apid", "proc.aexe",
                        "proc.aexepath", "proc.acmdline", "proc.duration"})
    """The fields it adds (rules using fields nothing provides are reported at load)."""

    def __init__(self, tree: ProcessTree) -> None:
        self.tree = tree

    def enrich(self, batch: list[Event]) -> None:
        for event in batch:
            pid = event.get("proc.pid")
            if not isinstance(pid, int) or "proc.aname" in event:
                continue
            started, now = event.get("proc.start_ts"), event.get("evt.time")
            if isinstance(started, int) and isinstance(now, int) and 0 < started <= now:
                event["proc.duration"] = now - started
            ancestors = self.tree.ancestors(pid)
            if not ancestors:
                continue
            parent = ancestors[0]
            event.setdefault("proc.pname", parent.name)
            event.setdefault("proc.pcmdline", parent.cmdline)
            if parent.exe is not None:
                event.setdefault("proc.pexe", parent.exe)
            if parent.exepath is not None:
                event.setdefault("proc.pexepath", parent.exepath)
            if parent.vpid is not None:
                event.setdefault("proc.pvpid", parent.vpid)
            event["proc.aname"] = [a.name for a in ancestors]
            event["proc.apid"] = [a.pid for a in ancestors]
            event["proc.aexe"] = [a.exe or "" for a in ancestors]
            event["proc.aexepath"] = [a.exepath or "" for a in ancestors]
            event["proc.acmdline"] = [a.cmdline for a in ancestors]
            sid = event.get("proc.sid")
            leader = self.tree.get(sid) if isinstance(sid, int) else None
            if leader is not None:
                event.setdefault("proc.sname", leader.name)
