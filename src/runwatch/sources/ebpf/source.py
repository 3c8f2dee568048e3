"""The kernel sensor: runs bpftrace, reads its JSON lines, and yields events in batches.

Start-up, in order: check the machine (preflight), generate the program for the wanted event
types, start bpftrace, wait until its probes are attached, seed the process table from /proc,
then prove the whole path works by having a child process `cd` into a marker directory and
waiting for that record. Only then is the source `running`. Lost events (the kernel's ring
buffer overran because user space fell behind) are counted in `status.lost_total`, logged, and
raised as an internal alert by the daemon: never silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from runwatch.config import EbpfSourceConfig
from runwatch.enrich.process_tree import PROCESS_FIELDS, ProcessInfo, ProcessTree
from runwatch.errors import SourceError
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.ebpf.catalog import KIND_STRING, SUPPORTED_TYPES
from runwatch.sources.ebpf.cgroups import CgroupResolver, find_cgroup2_mount
from runwatch.sources.ebpf.decode import EventDecoder
from runwatch.sources.ebpf.preflight import Environment, check_environment
from runwatch.sources.ebpf.program import Program, ProgramOptions, build_program
from runwatch.sources.procfs.processes import read_boot_time_ns, read_process

log = logging.getLogger(__name__)

_READ_BYTES = 1 << 20
_CLOCK_SYNC_INTERVAL_S = 10.0
_SELF_TEST_TIMEOUT_S = 10.0
_STDERR_KEPT = 40
# bpftrace 0.17 prints bytes >= 0x80 of str() values as "\uffffffXX" (a sign-extended char):
# 'é' (c3 a9) arrives as \uffffffc3\uffffffa9. Turned back into \u00XX, then into UTF-8 bytes.
_BROKEN_ESCAPE = re.compile(rb"\\uffffff([0-9a-f]{2})")
_HARMLESS_STDERR = ("RLIMIT_MEMLOCK", "Attaching ")


class EbpfSource:
    """Syscall events from every container and the host, through bpftrace."""

    name = "ebpf"
    overflow = "drop"  # the kernel cannot wait: when the pipeline is full, drop and count
    fields = PROCESS_FIELDS | frozenset({
        "evt.type", "evt.time", "evt.dir", "evt.num", "evt.source", "evt.category", "evt.res",
        "evt.rawres", "evt.failed", "evt.args", "evt.arg.*", "evt.is_open_read",
        "evt.is_open_write", "evt.is_open_exec", "fd.num", "fd.name", "fd.nameraw",
        "fd.name_changed", "fd.directory", "fd.filename", "fd.type", "fd.typechar",
        "fd.sockfamily", "fd.l4proto", "fd.connected", "fd.cip", "fd.sip", "fd.dip", "fd.lip",
        "fd.rip", "fd.cport", "fd.sport", "fd.dport", "fd.lport", "fd.rport", "fs.path.name",
        "fs.path.source", "fs.path.target", "container.full_id", "container.type"})
    """What its events carry (`evt.arg.*`: every argument by name), so rules on fields that
    nothing provides are reported at load rather than silently never matching."""

    def __init__(self, config: EbpfSourceConfig, tree: ProcessTree,
                 event_types: frozenset[str] | None = None, proc_root: Path = Path("/proc")) -> None:
        self.config = config
        self.tree = tree
        self.proc_root = proc_root
        self.requested = None if event_types is None else \
            frozenset({*event_types, *config.event_types})
        self.status = SourceStatus()
        self.cgroups = CgroupResolver(find_cgroup2_mount())
        self.decoder = EventDecoder(tree, self.cgroups, self._deliver_types(), proc_root,
                                    config.exit_linger_s)
        self.program: Program | None = None
        self.records_total = 0
        unsupported = sorted((self.requested or frozenset()) - SUPPORTED_TYPES)
        if unsupported:
            self.status.limitations.append(
                "the rules need event types the kernel sensor does not trace: " + ", ".join(unsupported))
        self._stderr: deque[str] = deque(maxlen=_STDERR_KEPT)
        self._marker: str | None = None
        self._marker_seen = asyncio.Event()
        self._environment: Environment | None = None

    def environment_tracepoints(self) -> frozenset[str]:
        """The syscalls with an exit tracepoint on this kernel (known once started)."""
        return self._environment.syscall_tracepoints if self._environment else frozenset()

    def _deliver_types(self) -> frozenset[str] | None:
        """Which event types become events; None means all (no rules narrowed them)."""
        if self.requested is None:
            return None
        return frozenset({*self.requested, "execve", "execveat"})

    def build(self, environment: Environment) -> Program:
        """The program for this machine's tracepoints and this config; validated by bpftrace later."""
        wanted = SUPPORTED_TYPES if self.requested is None else self.requested
        ignore = ("$1", str(os.getpid())) if self.config.ignore_self else ()
        options = ProgramOptions(
            thread_size=environment.thread_size, ignore_pids=ignore,
            filter_open_reads=self.config.filter_open_reads,
            open_read_prefixes=tuple(self.config.open_read_prefixes),
            traversal_scan_bytes=self.config.traversal_scan_bytes,
            args_max_bytes=self.config.args_max_bytes, env_max_bytes=self.config.env_max_bytes,
            available_tracepoints=environment.syscall_tracepoints,
            raw_syscalls_fallback=self.config.raw_syscalls_fallback)
        program = build_program(frozenset(wanted), options)
        if program.raw_fallback:
            self._limitation(
                "traced through raw_syscalls (no tracepoint of their own on this kernel; every "
                "syscall pays a small filter cost): " + ", ".join(program.raw_fallback))
        if program.unavailable:
            self._limitation(
                "not traced: no tracepoint on this kernel (sources.ebpf.raw_syscalls_fallback "
                "traces them at a cost to every syscall): " + ", ".join(program.unavailable))
        return program

    def _limitation(self, text: str) -> None:
        """A blind spot found only at start (after the banner): in /healthz and in the log."""
        self.status.limitations.append(text)
        log.warning("kernel sensor cannot see: %s", text)

    async def events(self) -> AsyncIterator[list[Event]]:
        environment = await asyncio.to_thread(check_environment, self.config.bpftrace)
        self._environment = environment
        self.program = self.build(environment)
        with tempfile.TemporaryDirectory(prefix="runwatch-ebpf-") as workdir:
            program_path = Path(workdir) / "sensor.bt"
            program_path.write_text(self.program.text)
            marker = Path(workdir) / "ready"
            marker.mkdir()
            self._marker = str(marker)
            process = await self._start(environment, program_path)
            stderr_task = asyncio.create_task(self._drain_stderr(process))
            try:
                async for batch in self._run(process, marker):
                    yield batch
            finally:
                await self._stop(process)
                stderr_task.cancel()
                await asyncio.gather(stderr_task, return_exceptions=True)
                self.status.state = "stopped"

    async def _start(self, environment: Environment, program_path: Path
                     ) -> asyncio.subprocess.Process:
        env = {**os.environ, "BPFTRACE_STRLEN": "200",
               "BPFTRACE_PERF_RB_PAGES": str(self.config.perf_buffer_pages)}
        # `exec` keeps the shell's pid, so `$$` is bpftrace's own pid: the program's `$1`,
        # which it leaves out of what it traces.
        return await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", 'exec "$0" --no-warnings -f json -B none "$1" $$',
            environment.bpftrace, str(program_path), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
            limit=_READ_BYTES)

    async def _run(self, process: asyncio.subprocess.Process, marker: Path
                   ) -> AsyncIterator[list[Event]]:
        assert process.stdout is not None
        stdout = process.stdout
        attach_deadline = time.monotonic() + self.config.startup_timeout_s
        attached = False
        pending = b""
        next_sync = time.monotonic() + _CLOCK_SYNC_INTERVAL_S
        self_test: asyncio.Task[None] | None = None
        try:
            while True:
                timeout = None if attached else max(attach_deadline - time.monotonic(), 0.01)
                try:
                    chunk = await asyncio.wait_for(stdout.read(_READ_BYTES), timeout)
                except TimeoutError:
                    raise SourceError(f"bpftrace did not attach its probes within "
                                      f"{self.config.startup_timeout_s}s{self._stderr_text()}") from None
                if not chunk:
                    code = await process.wait()
                    raise SourceError(f"bpftrace exited with code {code}{self._stderr_text()}")
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                batch, newly_attached = self._decode_lines(lines)
                if newly_attached and not attached:
                    attached = True
                    self_test = asyncio.create_task(self._become_ready(marker))
                if self_test is not None and self_test.done():
                    self_test.result()  # raises if the self-test failed
                    self_test = None
                if batch:
                    self.status.events_total += len(batch)
                    yield batch
                if time.monotonic() >= next_sync:
                    self.decoder.sync_clock()
                    next_sync = time.monotonic() + _CLOCK_SYNC_INTERVAL_S
        finally:
            if self_test is not None:
                self_test.cancel()
                await asyncio.gather(self_test, return_exceptions=True)

    def _decode_lines(self, lines: list[bytes]) -> tuple[list[Event], bool]:
        batch: list[Event] = []
        attached = False
        decode = self.decoder.decode
        last_ktime = 0
        for line in lines:
            if not line:
                continue
            message: dict[str, Any]
            if b"\\uffffff" in line:
                line = _BROKEN_ESCAPE.sub(rb"\\u00\1", line)
                message = _fix_latin1(orjson.loads(line))
            else:
                message = orjson.loads(line)
            kind = message.get("type")
            if kind == "value":
                values = message["data"]
                self.records_total += 1
                if values[0] == KIND_STRING and values[3] == self._marker:
                    self._marker_seen.set()
                event = decode(values)
                if event is not None:
                    batch.append(event)
                    last_ktime = values[1]
            elif kind == "lost_events":
                self._count_lost(int(message["data"]["events"]))
            elif kind == "attached_probes":
                attached = True
                log.info("kernel sensor probes attached",
                         extra={"probes": message["data"]["probes"]})
        if last_ktime:
            self.decoder.expire(last_ktime)
        return batch, attached

    def _count_lost(self, count: int) -> None:
        if self.status.lost_total == 0:
            log.error("kernel events lost: the ring buffer overran before they were read",
                      extra={"lost": count, "perf_buffer_pages": self.config.perf_buffer_pages})
        self.status.lost_total += count

    async def _become_ready(self, marker: Path) -> None:
        """Seed the process table, then check that a known syscall comes back right."""
        infos = await asyncio.to_thread(self._scan_proc)
        for info in infos:
            if self.tree.get(info.pid) is None:
                self.tree.add(info)
        deadline = time.monotonic() + _SELF_TEST_TIMEOUT_S
        while not self._marker_seen.is_set():  # again each second: on a busy host one may be lost
            if time.monotonic() > deadline:
                raise SourceError("kernel sensor self-test failed: a chdir into a marker directory "
                                  "was not seen with the right path (unexpected kernel register "
                                  "layout?)" + self._stderr_text())
            child = await asyncio.create_subprocess_exec("/bin/sh", "-c", 'cd "$0"', str(marker))
            await child.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._marker_seen.wait(), 1.0)
        self.status.state = "running"
        log.info("kernel sensor running", extra={
            "event_types": sorted(self.program.event_types) if self.program else [],
            "processes": len(self.tree), "limitations": self.status.limitations})

    def _scan_proc(self) -> list[ProcessInfo]:
        boot_ns = read_boot_time_ns(self.proc_root)
        infos = []
        for entry in os.listdir(self.proc_root):
            if entry.isdigit():
                info = read_process(self.proc_root, int(entry), boot_ns, self.config.env_max_bytes)
                if info is not None:
                    infos.append(info)
        return infos

    async def _drain_stderr(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        async for raw in process.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line and not any(text in line for text in _HARMLESS_STDERR):
                self._stderr.append(line)

    def _stderr_text(self) -> str:
        return (": " + " | ".join(self._stderr)) if self._stderr else ""

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """SIGINT lets bpftrace detach its probes; SIGKILL if it does not within 5 s."""
        if process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


def _fix_latin1(message: Any) -> Any:
    """Undo bpftrace's escaping of non-ASCII bytes in strings (see _BROKEN_ESCAPE)."""
    if isinstance(message, dict):
        return {key: _fix_latin1(value) for key, value in message.items()}
    if isinstance(message, list):
        return [_fix_latin1(value) for value in message]
    if isinstance(message, str) and any(0x80 <= ord(ch) <= 0xFF for ch in message):
        return message.encode("latin-1", errors="replace").decode(errors="replace")
    return message
