"""bpftrace's JSON tuples -> events with Falco's fields, keeping the process table current.

The decoder is the sensor's user-space half: exec, fork and exit records update the process table
(seeded from /proc at start), every syscall record becomes one event whose `proc.*` fields come
from that table, `container.id` from the cgroup, and `fd.*`/`evt.arg.*` from its own values.
It runs on the hot path, so per event it copies one cached dict of process fields and adds a few
keys; nothing here blocks but the rare readlink of /proc for a path it cannot otherwise resolve.
"""

from __future__ import annotations

import copy
import re
import time
from collections import deque
from pathlib import Path

from runwatch.capabilities import capability_names
from runwatch.enrich.container_id import HOST
from runwatch.enrich.process_tree import ProcessInfo, ProcessTree, process_fields
from runwatch.event import Event
from runwatch.sources.ebpf import flags as F
from runwatch.sources.ebpf.catalog import (HEADER_FIELDS, KIND_ARGV, KIND_ENV, KIND_EXE_NAME,
                                           KIND_EXEC, KIND_EXIT, KIND_FILENAME, KIND_FORK,
                                           KIND_STRING, SYSCALLS)
from runwatch.sources.ebpf.arguments import DECODERS, Decode, Record, set_args
from runwatch.sources.ebpf.cgroups import CgroupResolver
from runwatch.sources.ebpf.paths import AT_FDCWD, PathResolver
from runwatch.sources.ebpf.program import FORK_NAMES_BY_NUMBER
from runwatch.sources.procfs.processes import read_boot_time_ns, read_process

_HEADER = len(HEADER_FIELDS)
_NO_LOGINUID = 4294967295
_EXECVEAT_NUMBER = 322
_MAX_PENDING_EXECS = 4096
_HEX_ESCAPE = re.compile(r"\\x([0-9a-f]{2})")


def decode_buffer(text: str) -> bytes:
    """bpftrace prints buf() bytes as text with non-printable bytes as `\\xNN`."""
    return _HEX_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text).encode("latin-1",
                                                                              errors="replace")


def split_nul(data: bytes) -> list[str]:
    """argv or environ: NUL-separated strings (the last one may be cut short)."""
    return [part.decode(errors="replace") for part in data.rstrip(b"\0").split(b"\0")] if data else []


class EventDecoder:
    """Turns the sensor's records into events; owns the process table's updates."""

    def __init__(self, tree: ProcessTree, cgroups: CgroupResolver,
                 deliver: frozenset[str] | None = None, proc_root: Path = Path("/proc"),
                 exit_linger_s: float = 5.0) -> None:
        self.tree = tree
        self.cgroups = cgroups
        self.deliver = deliver
        self.paths = PathResolver(proc_root)
        self.exit_linger_ns = int(exit_linger_s * 1e9)
        self.epoch_offset_ns = 0
        self.boot_time_ns = read_boot_time_ns(proc_root)
        self.sequence = 0
        self.sync_clock()
        self._pending: dict[int, list[tuple[int, str]]] = {}
        self._fields: dict[int, tuple[ProcessInfo, Event]] = {}
        self._containers: dict[int, tuple[str, str | None, str | None]] = {}
        self._exited: deque[tuple[int, int, ProcessInfo]] = deque()
        self._strings: dict[int, dict[int, str]] = {}
        self._decoders: dict[int, tuple[str, str, Decode, tuple[int, ...]]] = {
            spec.kind: (spec.name, spec.category, DECODERS[spec.name],
                        tuple(_HEADER + i for i, value in enumerate(spec.values)
                              if value.startswith("str(")))
            for spec in SYSCALLS.values()}

    def sync_clock(self) -> None:
        """bpftrace's nsecs is CLOCK_MONOTONIC; events carry ns since the epoch."""
        self.epoch_offset_ns = time.time_ns() - time.monotonic_ns()

    def decode(self, values: Record) -> Event | None:
        """One record; returns the event it stands for, or None (table updates, exec pieces)."""
        kind = values[0]
        if kind == KIND_STRING:
            strings = self._strings.setdefault(values[1], {})
            strings[values[2]] = values[3]
            return None
        if kind == KIND_ARGV or kind == KIND_ENV or kind == KIND_EXE_NAME or kind == KIND_FILENAME:
            self._add_piece(values)
            return None
        if kind == KIND_EXIT:
            return self._exit(values)
        entry = self._decoders.get(kind)
        if kind == KIND_EXEC:
            return self._exec(values)
        if kind == KIND_FORK:
            return self._fork(values)
        if entry is None:
            return None
        name, category, decode, string_indexes = entry
        if string_indexes:
            strings = self._strings.pop(values[3], {})
            values = list(values)
            for index in string_indexes:
                values[index] = strings.get(index, "")
        event, info = self._event(values, name, category)
        decode(self, event, values, info)
        if self.deliver is not None and name not in self.deliver:
            return None
        return event

    def expire(self, now_ktime_ns: int) -> None:
        """Forget processes that exited more than `exit_linger_s` ago (late events still find them)."""
        while self._exited and self._exited[0][0] <= now_ktime_ns:
            _, pid, info = self._exited.popleft()
            if self.tree.get(pid) is info:
                self.tree.remove(pid)
                self._fields.pop(pid, None)

    # -- the process table ------------------------------------------------------------------

    def _add_piece(self, values: Record) -> None:
        """(kind, tid, text) or, for argv/environ, (kind, tid, offset, length, 200 bytes)."""
        kind, tid, text = values[0], values[1], values[-1]
        if len(values) == 5:
            offset, length = values[2], values[3]
            data = decode_buffer(text)
            if offset + len(data) > length:  # the last piece: the bytes ending at `end`
                data = data[len(data) - (length - offset):]
            text = data.decode("latin-1")
        pieces = self._pending.setdefault(tid, [])
        pieces.append((kind, text))
        if len(self._pending) > _MAX_PENDING_EXECS:  # exec records lost: don't grow forever
            self._pending.pop(next(iter(self._pending)))

    def _exec(self, values: Record) -> Event | None:
        (_, ktime, pid, tid, ppid, uid, gid, cgroup_id, comm, _ret, number, upper, memfd,
         ttynr, loginuid, cap_eff, cap_prm, vpid, sid, ino) = values
        argv_bytes, env_bytes, exe_name, filename = b"", b"", "", ""
        for piece_kind, text in self._pending.pop(tid, []):
            if piece_kind == KIND_ARGV:
                argv_bytes += text.encode("latin-1")
            elif piece_kind == KIND_ENV:
                env_bytes += text.encode("latin-1")
            elif piece_kind == KIND_FILENAME:
                filename = text
            else:
                exe_name = text
        argv = split_nul(argv_bytes)
        previous = self.tree.get(pid)
        parent = self.tree.get(ppid)
        cwd = previous.cwd if previous is not None else self.paths.read_link(pid, "cwd")
        if cwd is None and parent is not None:
            cwd = parent.cwd
        exepath = exe_name if memfd and exe_name else self.paths.resolve(filename, cwd, pid)
        container_id = self._container(cgroup_id)[0]
        evt_time = ktime + self.epoch_offset_ns
        info = ProcessInfo(
            pid=pid, ppid=ppid, name=comm, exe=argv[0] if argv else filename, exepath=exepath,
            args=argv[1:], cwd=cwd, uid=uid, gid=gid,
            loginuid=-1 if loginuid == _NO_LOGINUID else loginuid,
            vpid=vpid, sid=sid, tty=ttynr, start_ns=evt_time,
            container_id=container_id, cap_effective=capability_names(cap_eff),
            cap_permitted=capability_names(cap_prm), env=split_nul(env_bytes),
            exe_ino=ino, is_exe_upper_layer=bool(upper),
            is_exe_from_memfd=bool(memfd))
        self.tree.add(info)
        self._fields.pop(pid, None)
        name = "execveat" if number == _EXECVEAT_NUMBER else "execve"
        if self.deliver is not None and name not in self.deliver:
            return None
        event, _ = self._event(values, name, "process")
        exe_flags = (F.EXE_UPPER_LAYER if upper else 0) | (F.EXE_FROM_MEMFD if memfd else 0)
        set_args(event, {"filename": exepath, "exe": info.exe, "args": " ".join(info.args or []),
                          "cwd": event.get("proc.cwd"), "tty": ttynr, "pid": pid, "ptid": ppid,
                          "flags": F.render_flags(exe_flags, F.EXE_FLAGS) or "0"})
        return event

    def _fork(self, values: Record) -> Event | None:
        """A new process: a copy of its parent (same program, cwd, user) until it execs.

        The record comes from the child, whose parent may already have exited (a daemon's double
        fork): then the kernel names its new parent, a stranger. A parent whose name is not the
        child's is not copied; /proc tells who the child is while it still lives.
        """
        ktime, pid, ppid, comm, number = values[1], values[2], values[4], values[8], values[_HEADER]
        evt_time = ktime + self.epoch_offset_ns
        existing = self.tree.get(pid)
        if existing is None or (existing.start_ns or 0) < evt_time:
            parent = self.tree.get(ppid)
            child: ProcessInfo | None
            if parent is not None and parent.name == comm:
                child = copy.copy(parent)
                child.vpid = None
            else:
                child = read_process(self.paths.proc_root, pid, self.boot_time_ns)
            if child is None:
                child = ProcessInfo(pid=pid, ppid=ppid, name=comm)
            child.pid, child.ppid, child.start_ns = pid, ppid, evt_time
            self.tree.add(child)
            self._fields.pop(pid, None)
        name = FORK_NAMES_BY_NUMBER.get(number, "clone")
        if self.deliver is None or name not in self.deliver:
            return None
        event, _ = self._event(values, name, "process")
        set_args(event, {"res": 0, "ptid": ppid})
        return event

    def _exit(self, values: Record) -> Event | None:
        ktime, pid = values[1], values[2]
        info = self.tree.get(pid)
        if info is not None:
            self._exited.append((ktime + self.exit_linger_ns, pid, info))
        if self.deliver is None or "procexit" not in self.deliver or info is None:
            return None
        event: Event = dict(self._process_fields(info))
        event.update({"evt.type": "procexit", "evt.time": ktime + self.epoch_offset_ns,
                      "evt.dir": "<", "evt.source": "syscall", "evt.category": "process"})
        return event

    # -- the event --------------------------------------------------------------------------

    def _container(self, cgroup_id: int) -> tuple[str, str | None, str | None]:
        cached = self._containers.get(cgroup_id)
        if cached is not None:
            return cached
        ref = self.cgroups.container(cgroup_id)
        result = (ref.id, ref.full_id, ref.runtime) if ref is not None else (HOST, None, None)
        if ref is not None or self.cgroups.path(cgroup_id) is not None:
            self._containers[cgroup_id] = result
        return result

    def _process_fields(self, info: ProcessInfo) -> Event:
        cached = self._fields.get(info.pid)
        if cached is not None and cached[0] is info:
            return cached[1]
        fields = process_fields(info)
        self._fields[info.pid] = (info, fields)
        return fields

    def _event(self, values: Record, name: str, category: str) -> tuple[Event, ProcessInfo]:
        _, ktime, pid, tid, ppid, uid, gid, cgroup_id, comm, ret = values[:_HEADER]
        info = self.tree.get(pid)
        if info is None:  # started before the table was seeded, or its fork record was lost
            info = ProcessInfo(pid=pid, ppid=ppid, name=comm, cwd=self.paths.read_link(pid, "cwd"))
            self.tree.add(info)
        elif info.ppid != ppid:  # reparented after its parent exited
            info.ppid = ppid
            self._fields.pop(pid, None)
        container_id, full_id, runtime = self._container(cgroup_id)
        if info.container_id != container_id:
            info.container_id = container_id
            self._fields.pop(pid, None)
        self.sequence += 1
        event = dict(self._process_fields(info))
        event.update({
            "evt.type": name, "evt.time": ktime + self.epoch_offset_ns, "evt.dir": "<",
            "evt.source": "syscall", "evt.category": category, "evt.num": self.sequence,
            "evt.res": F.render_result(ret), "evt.rawres": ret, "evt.failed": ret < 0,
            "proc.name": comm, "proc.ppid": ppid, "thread.tid": tid, "user.uid": uid,
            "group.gid": gid, "container.id": container_id,
        })
        if full_id is not None:
            event["container.full_id"] = full_id
            event["container.type"] = runtime
        return event, info

    def resolve(self, info: ProcessInfo, path: str, dirfd: int = AT_FDCWD) -> str:
        return self.paths.resolve(path, info.cwd, info.pid, dirfd)

    def update_cwd(self, info: ProcessInfo, cwd: str | None) -> None:
        if cwd is not None:
            info.cwd = cwd
            self._fields.pop(info.pid, None)

    def update_caps(self, info: ProcessInfo, effective: int, permitted: int) -> None:
        info.cap_effective = capability_names(effective)
        info.cap_permitted = capability_names(permitted)
        self._fields.pop(info.pid, None)


