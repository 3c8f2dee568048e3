"""Per-container resource usage read straight from the cgroup files (v1 and v2) and /proc.

Docker's stats API costs a round trip per container and is slow on Podman; the kernel's own
counters are one file read each. Memory is reported as `docker stats` does: usage minus the
inactive page cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

_UNLIMITED = 1 << 62  # cgroup v1 reports "no limit" as a huge page-aligned number


@dataclass(frozen=True, slots=True)
class Usage:
    """One reading; `cpu_ns` and the byte counters are cumulative, the rest are levels."""

    time_ns: int
    cpu_ns: int
    memory_bytes: int
    memory_limit_bytes: int
    pids: int
    net_rx_bytes: int
    net_tx_bytes: int

    @property
    def memory_percent(self) -> float:
        return 100.0 * self.memory_bytes / self.memory_limit_bytes if self.memory_limit_bytes else 0.0


def cpu_percent(previous: Usage | None, current: Usage) -> float:
    """CPU used between two readings, in percent of one CPU (200.0 = two full CPUs)."""
    if previous is None or current.time_ns <= previous.time_ns:
        return 0.0
    return 100.0 * max(current.cpu_ns - previous.cpu_ns, 0) / (current.time_ns - previous.time_ns)


class CgroupReader:
    """Finds a process's cgroups and reads its container's counters."""

    def __init__(self, proc_root: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")) -> None:
        self.proc_root = proc_root
        self.cgroup_root = cgroup_root
        self.is_v2 = (cgroup_root / "cgroup.controllers").exists()
        self._host_memory = _host_memory_bytes(proc_root)

    def read(self, pid: int) -> Usage | None:
        """The usage of the cgroup `pid` lives in, or None when the process is gone."""
        paths = self._cgroup_paths(pid)
        if paths is None:
            return None
        if self.is_v2:
            base = self.cgroup_root / paths.get("", "").lstrip("/")
            cpu_ns = _stat_value(base / "cpu.stat", "usage_usec") * 1000
            memory = _read_int(base / "memory.current") - _stat_value(base / "memory.stat", "inactive_file")
            limit = _read_int(base / "memory.max", default=0)
            pids = _read_int(base / "pids.current")
        else:
            def v1(controller: str, name: str) -> Path:
                return self.cgroup_root / controller / paths.get(controller, "").lstrip("/") / name
            cpu_ns = _read_int(v1("cpuacct", "cpuacct.usage"))
            memory = _read_int(v1("memory", "memory.usage_in_bytes")) - \
                _stat_value(v1("memory", "memory.stat"), "total_inactive_file")
            limit = _read_int(v1("memory", "memory.limit_in_bytes"), default=0)
            pids = _read_int(v1("pids", "pids.current"))
        if not limit or limit >= _UNLIMITED:
            limit = self._host_memory
        rx, tx = _net_bytes(self.proc_root / str(pid) / "net" / "dev")
        return Usage(time.time_ns(), cpu_ns, max(memory, 0), limit, pids, rx, tx)

    def _cgroup_paths(self, pid: int) -> dict[str, str] | None:
        """controller -> path from /proc/<pid>/cgroup; the v2 line has controller ''."""
        try:
            text = (self.proc_root / str(pid) / "cgroup").read_text()
        except OSError:
            return None
        paths: dict[str, str] = {}
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                paths[controller] = path
        return paths


def _read_int(path: Path, default: int = 0) -> int:
    try:
        text = path.read_text().strip()
    except OSError:
        return default
    return int(text) if text.isdigit() else default


def _stat_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass  # a missing controller file reads as zero: the counter is unavailable, not negative
    return 0


def _net_bytes(path: Path) -> tuple[int, int]:
    """Received and sent bytes over every interface but loopback, from /proc/<pid>/net/dev."""
    rx = tx = 0
    try:
        lines = path.read_text().splitlines()[2:]
    except OSError:
        return 0, 0
    for line in lines:
        name, _, counters = line.partition(":")
        values = counters.split()
        if name.strip() != "lo" and len(values) >= 9:
            rx += int(values[0])
            tx += int(values[8])
    return rx, tx


def _host_memory_bytes(proc_root: Path) -> int:
    try:
        for line in (proc_root / "meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass  # no meminfo: percentages of an unlimited container stay 0
    return 0
