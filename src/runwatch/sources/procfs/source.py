"""The procfs source: the low-fidelity fallback that polls /proc where eBPF cannot run.

It reports process starts (with parent, command line, user, cgroup) and TCP/UDP connections and
listening sockets, with Falco's field names. Polling has blind spots, and the source says so in
/healthz and at start: see LIMITATIONS.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from runwatch.config import ProcfsSourceConfig
from runwatch.enrich.process_tree import ProcessInfo, ProcessTree, process_fields
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.procfs.processes import read_boot_time_ns, read_process, read_stat
from runwatch.sources.procfs.sockets import (TCP_ESTABLISHED, TCP_LISTEN, UDP_CONNECTED,
                                             UDP_UNCONNECTED, Socket, find_socket_owners,
                                             read_sockets)

log = logging.getLogger(__name__)

LIMITATIONS = [
    "polling /proc misses processes that start and exit between two scans (short-lived commands)",
    "no file, privilege, module or syscall activity: only process starts and network sockets",
    "connections are seen only if they are open at a scan",
]
_KTHREADD_PID = 2


@dataclass(frozen=True, slots=True)
class _FoundSocket:
    kind: str
    socket: Socket
    pid: int | None
    fd: int | None
    netns_pid: int


@dataclass(frozen=True, slots=True)
class _ScanResult:
    started: list[ProcessInfo]
    exited: list[int]
    sockets: list[_FoundSocket]


class ProcfsSource:
    """Polls /proc every `interval_s` and emits what changed since the previous scan."""

    name = "procfs"
    fields = frozenset({
        "evt.type", "evt.dir", "evt.source", "evt.category", "evt.res", "evt.rawres", "evt.time",
        "proc.pid", "proc.ppid", "proc.name", "proc.cmdline", "proc.args", "proc.exe",
        "proc.exepath", "proc.cwd", "proc.vpid", "proc.sid", "proc.tty", "proc.start_ts",
        "proc.env", "proc.exe_ino", "proc.is_exe_upper_layer", "proc.is_exe_from_memfd",
        "thread.tid", "thread.cap_effective", "thread.cap_permitted", "user.uid", "group.gid",
        "user.loginuid", "container.id", "fd.type", "fd.typechar", "fd.l4proto", "fd.sockfamily",
        "fd.lip", "fd.lport", "fd.rip", "fd.rport", "fd.sip", "fd.sport", "fd.cip", "fd.cport",
        "fd.dip", "fd.dport", "fd.name", "fd.num", "fd.connected"})
    """The fields its events can carry (rules using others are reported at load)."""

    def __init__(self, config: ProcfsSourceConfig, tree: ProcessTree,
                 proc_root: Path = Path("/proc")) -> None:
        self.config = config
        self.tree = tree
        self.proc_root = proc_root
        self.status = SourceStatus(limitations=list(LIMITATIONS))
        if os.geteuid() != 0:
            self.status.limitations.append(
                "not root: executable paths, working directories and socket owners are seen only "
                "for this user's own processes")
        self._boot_time_ns = 0
        self._known: dict[int, tuple[str, str]] = {}
        self._sockets: set[tuple[object, ...]] = set()

    async def events(self) -> AsyncIterator[list[Event]]:
        self._boot_time_ns = read_boot_time_ns(self.proc_root)
        self._apply(await asyncio.to_thread(self._scan, False), emit=False)  # learn what runs
        self.status.state = "running"
        log.warning("procfs fallback source running with blind spots",
                    extra={"limitations": self.status.limitations})
        while True:
            await asyncio.sleep(self.config.interval_s)
            batch = self._apply(await asyncio.to_thread(self._scan, True), emit=True)
            if batch:
                self.status.events_total += len(batch)
                yield batch

    def _apply(self, scan: _ScanResult, emit: bool) -> list[Event]:
        """Update the process table, then turn the scan's news into events, parents first."""
        for pid in scan.exited:
            self.tree.remove(pid)
        for info in scan.started:
            self.tree.add(info)
        if not emit:
            return []
        batch = [_exec_event(info) for info in scan.started]
        for found in scan.sockets:
            owner = self.tree.get(found.pid) if found.pid is not None else None
            event = _socket_event(found.kind, found.socket, owner, found.fd)
            neighbour = self.tree.get(found.netns_pid)
            if owner is None and neighbour is not None and neighbour.container_id:
                event["container.id"] = neighbour.container_id  # same network namespace
            batch.append(event)
        return batch

    def _scan(self, report_sockets: bool) -> _ScanResult:
        """One pass over /proc; runs in a worker thread and changes only the scan's own state."""
        started: list[ProcessInfo] = []
        alive: dict[int, tuple[str, str]] = {}
        for entry in os.listdir(self.proc_root):
            if not entry.isdigit():
                continue
            pid = int(entry)
            stat = read_stat(self.proc_root, pid)
            if stat is None:
                continue
            comm, fields = stat
            if pid == _KTHREADD_PID or int(fields[1]) == _KTHREADD_PID:
                continue  # kernel threads are not process starts
            identity = (fields[19], comm)  # start time and name: a new name means an exec
            alive[pid] = identity
            if self._known.get(pid) != identity:
                info = read_process(self.proc_root, pid, self._boot_time_ns)
                if info is not None:
                    started.append(info)
        exited = [pid for pid in self._known if pid not in alive]
        self._known = alive
        started.sort(key=lambda info: (info.start_ns or 0, info.pid))
        sockets = self._scan_sockets(started) if self.config.connections else []
        return _ScanResult(started, exited, sockets if report_sockets else [])

    def _scan_sockets(self, started: list[ProcessInfo]) -> list[_FoundSocket]:
        """Sockets that appeared since the last scan, one /proc/<pid>/net read per namespace."""
        netns_of = {info.pid: info.netns for info in started}
        by_netns: dict[int, list[int]] = {}
        for pid in self._known:
            info = self.tree.get(pid)
            netns = netns_of.get(pid, info.netns if info is not None else None)
            if netns is not None:
                by_netns.setdefault(netns, []).append(pid)
        current: set[tuple[object, ...]] = set()
        listening: set[tuple[int, str, int]] = set()
        news: list[tuple[str, Socket, int]] = []
        for netns, pids in by_netns.items():
            for sock in read_sockets(self.proc_root, min(pids)):
                key, kind = self._classify(netns, sock, listening)
                if key is not None:
                    current.add(key)
                    if key not in self._sockets:
                        news.append((kind, sock, netns))
        self._sockets = current
        found: list[_FoundSocket] = []
        wanted = {sock.inode for _, sock, _ in news if sock.inode}
        owners = find_socket_owners(self.proc_root, sorted({pid for _, _, netns in news
                                                            for pid in by_netns[netns]}), wanted)
        for kind, sock, netns in news:
            if kind == "connect" and (netns, sock.l4proto, sock.local_port) in listening:
                kind = "accept"  # established on a port this namespace listens on
            owner = owners.get(sock.inode)
            found.append(_FoundSocket(kind, sock, owner[0] if owner else None,
                                      owner[1] if owner else None, min(by_netns[netns])))
        return found

    @staticmethod
    def _classify(netns: int, sock: Socket, listening: set[tuple[int, str, int]]
                  ) -> tuple[tuple[object, ...] | None, str]:
        if sock.l4proto == "tcp" and sock.state == TCP_LISTEN:
            listening.add((netns, "tcp", sock.local_port))
            return ("listen", netns, "tcp", sock.local_ip, sock.local_port), "listen"
        if sock.l4proto == "udp" and sock.state == UDP_UNCONNECTED and sock.local_port:
            listening.add((netns, "udp", sock.local_port))
            return ("bind", netns, "udp", sock.local_ip, sock.local_port), "bind"
        if sock.state in (TCP_ESTABLISHED, UDP_CONNECTED):
            return (sock.l4proto, netns, sock.local_ip, sock.local_port, sock.remote_ip,
                    sock.remote_port, sock.inode), "connect"
        return None, ""


def _exec_event(info: ProcessInfo) -> Event:
    event = process_fields(info)
    event.update({"evt.type": "execve", "evt.dir": "<", "evt.source": "syscall",
                  "evt.category": "process", "evt.res": "SUCCESS", "evt.rawres": 0,
                  "evt.time": info.start_ns or time.time_ns()})
    return event


def _socket_event(kind: str, sock: Socket, owner: ProcessInfo | None, fd: int | None) -> Event:
    event: Event = process_fields(owner) if owner is not None else {}
    family = "ipv4" if sock.family == 4 else "ipv6"
    event.update({"evt.type": kind, "evt.dir": "<", "evt.source": "syscall", "evt.category": "net",
                  "evt.res": "SUCCESS", "evt.rawres": 0, "evt.time": time.time_ns(),
                  "fd.type": family, "fd.typechar": str(sock.family), "fd.l4proto": sock.l4proto,
                  "fd.sockfamily": "ip", "fd.lip": sock.local_ip, "fd.lport": sock.local_port})
    if fd is not None:
        event["fd.num"] = fd
    if kind in ("listen", "bind"):
        event.update({"fd.sip": sock.local_ip, "fd.sport": sock.local_port,
                      "fd.name": f"{sock.local_ip}:{sock.local_port}"})
        return event
    event.update({"fd.rip": sock.remote_ip, "fd.rport": sock.remote_port, "fd.connected": True})
    if kind == "accept":
        server, client = (sock.local_ip, sock.local_port), (sock.remote_ip, sock.remote_port)
    else:
        server, client = (sock.remote_ip, sock.remote_port), (sock.local_ip, sock.local_port)
    event.update({"fd.sip": server[0], "fd.sport": server[1], "fd.dip": server[0],
                  "fd.dport": server[1], "fd.cip": client[0], "fd.cport": client[1],
                  "fd.name": f"{client[0]}:{client[1]}->{server[0]}:{server[1]}"})
    return event
