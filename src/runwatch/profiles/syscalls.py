"""Which system calls and capabilities each container uses, counted in the kernel.

A small bpftrace program of its own adds one to a per-CPU map entry keyed (cgroup, syscall
number) on every `raw_syscalls:sys_enter` but runc's own (its init, `runc:[2:INIT]` or a child of
runc: it sets the container up and joins its cgroup at a moment that varies, so its calls would
come and go from one start to the next), and (cgroup, capability) on every granted
`capability:cap_capable` where the kernel has that tracepoint (Linux 6.14 and later). Every
`interval_s` it prints both maps and clears them: user space reads one record per interval,
never one per syscall. Each container's share becomes one `syscall_counts` event whose
`evt.arg.syscalls` and `evt.arg.capabilities` list the names; profiles learn from them.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import orjson

from runwatch.capabilities import CAPABILITY_NAMES
from runwatch.errors import SourceError
from runwatch.event import Event
from runwatch.profiles.observe import SYSCALL_COUNTS
from runwatch.profiles.syscall_table import SYSCALL_NAMES
from runwatch.sources.base import SourceStatus
from runwatch.sources.ebpf.cgroups import CgroupResolver

log = logging.getLogger(__name__)

_CAPABILITIES = dict(enumerate(CAPABILITY_NAMES))
CAP_TRACEPOINTS = (Path("/sys/kernel/tracing/events/capability/cap_capable"),
                   Path("/sys/kernel/debug/tracing/events/capability/cap_capable"))
_STARTUP_TIMEOUT_S = 60.0


def counting_program(interval_s: float, with_capabilities: bool) -> str:
    """The bpftrace program: counts in kernel maps, printed and cleared every interval.

    bpftrace prints nothing for an empty map, and an interval without a capability check is
    common: capabilities are printed first, and the syscalls map (never empty: bpftrace itself
    makes syscalls) closes each interval.
    """
    caps = ("tracepoint:capability:cap_capable /args->ret == 0/ "
            "{ @capabilities[cgroup, args->cap] = count(); }\n" if with_capabilities else "")
    printing = "print(@capabilities); clear(@capabilities); " if with_capabilities else ""
    return ("tracepoint:raw_syscalls:sys_enter /strncmp(comm, \"runc:[\", 6) != 0 && "
            "strncmp(curtask->real_parent->comm, \"runc\", 4) != 0/ "
            "{ @syscalls[cgroup, args->id] = count(); }\n"
            f"{caps}"
            f"interval:ms:{max(int(interval_s * 1000), 100)} {{ {printing}"
            f"print(@syscalls); clear(@syscalls); }}\n"
            f"END {{ clear(@syscalls); {'clear(@capabilities); ' if with_capabilities else ''}}}\n")


def counts_by_cgroup(record: dict[str, object]) -> tuple[str, dict[int, set[int]]] | None:
    """A printed map record -> (map name, cgroup id -> numbers seen); None for other records.

    bpftrace -f json prints `{"type": "map", "data": {"@syscalls": {"4242,59": 3, ...}}}`.
    """
    if record.get("type") != "map" or not isinstance(record.get("data"), dict):
        return None
    data: dict[str, object] = record["data"]  # type: ignore[assignment]
    for name, entries in data.items():
        found: dict[int, set[int]] = {}
        if isinstance(entries, dict):
            for key in entries:
                cgroup, _, number = str(key).partition(",")
                if cgroup.isdigit() and number.lstrip("-").isdigit():
                    found.setdefault(int(cgroup), set()).add(int(number))
        return name.lstrip("@"), found
    return None


class SyscallCountSource:
    """The source of `syscall_counts` events: one per container that ran, every interval."""

    name = "syscall_counts"
    fields = frozenset({"evt.type", "evt.source", "evt.category", "evt.time", "container.id",
                        "container.full_id"})

    def __init__(self, bpftrace: str, interval_s: float, cgroups: CgroupResolver) -> None:
        self.bpftrace = bpftrace
        self.interval_s = interval_s
        self.cgroups = cgroups
        self.status = SourceStatus()
        self.with_capabilities = any(path.exists() for path in CAP_TRACEPOINTS)
        if not self.with_capabilities:
            self.status.limitations.append("capabilities used are not counted: this kernel has "
                                           "no capability:cap_capable tracepoint (Linux 6.14+)")

    async def events(self) -> AsyncIterator[list[Event]]:
        with tempfile.TemporaryDirectory(prefix="runwatch-syscalls-") as workdir:
            program = Path(workdir) / "syscall_counts.bt"
            program.write_text(counting_program(self.interval_s, self.with_capabilities))
            process = await asyncio.create_subprocess_exec(
                self.bpftrace, "--no-warnings", "-f", "json", "-B", "none", str(program),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=16 * 1024 * 1024)
            try:
                async for batch in self._read(process):
                    yield batch
            finally:
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), 10)
                    except TimeoutError:
                        process.kill()
                        await process.wait()

    async def _read(self, process: asyncio.subprocess.Process) -> AsyncIterator[list[Event]]:
        assert process.stdout is not None and process.stderr is not None
        capabilities: dict[int, set[int]] = {}
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            timeout = None if self.status.state == "running" else max(deadline - time.monotonic(), 0.01)
            try:
                line = await asyncio.wait_for(process.stdout.readline(), timeout)
            except TimeoutError:
                raise SourceError(f"bpftrace (syscall counts) did not attach within "
                                  f"{_STARTUP_TIMEOUT_S:.0f}s") from None
            if not line:
                error = (await process.stderr.read()).decode(errors="replace").strip()
                raise SourceError(f"bpftrace (syscall counts) exited with code "
                                  f"{await process.wait()}: {error[-500:]}")
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if record.get("type") == "attached_probes":
                self.status.state = "running"
                continue
            parsed = counts_by_cgroup(record)
            if parsed is None:
                continue
            name, counts = parsed
            if name == "capabilities":
                capabilities = counts
            elif name == "syscalls":  # the interval's last map
                batch = self._events(counts, capabilities)
                capabilities = {}
                if batch:
                    yield batch

    def _events(self, syscalls: dict[int, set[int]], capabilities: dict[int, set[int]]
                ) -> list[Event]:
        """One event per container: the names of the syscalls and capabilities it used."""
        now = time.time_ns()
        full_ids: dict[str, str] = {}
        used: dict[str, tuple[set[str], set[str]]] = {}
        for table, names in ((syscalls, SYSCALL_NAMES), (capabilities, _CAPABILITIES)):
            for cgroup_id, numbers in table.items():
                ref = self.cgroups.container(cgroup_id)
                if ref is None:
                    continue
                full_ids[ref.id] = ref.full_id
                into = used.setdefault(ref.id, (set(), set()))[0 if table is syscalls else 1]
                into.update(names[number] for number in numbers if number in names)
        batch: list[Event] = [
            {"evt.type": SYSCALL_COUNTS, "evt.source": "syscall", "evt.category": "process",
             "evt.time": now, "container.id": container_id, "container.full_id": full_ids[container_id],
             "evt.arg.syscalls": sorted(names_used), "evt.arg.capabilities": sorted(caps_used)}
            for container_id, (names_used, caps_used) in used.items()]
        self.status.events_total += len(batch)
        return batch
