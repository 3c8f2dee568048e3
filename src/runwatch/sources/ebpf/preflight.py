"""Can the kernel sensor run here? Checked before anything starts, each failure said plainly.

The sensor needs root, an x86_64 kernel with BTF (/sys/kernel/btf/vmlinux), syscall tracepoints
(CONFIG_FTRACE_SYSCALLS) under a mounted tracefs, and bpftrace. tracefs and debugfs are mounted
here when they are missing, as bpftrace expects them.
"""

from __future__ import annotations

import gzip
import logging
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from runwatch.errors import SourceError

log = logging.getLogger(__name__)

BTF_PATH = Path("/sys/kernel/btf/vmlinux")
TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
DEBUGFS = Path("/sys/kernel/debug")
_THREAD_SIZE = 16384  # x86_64: THREAD_SIZE = PAGE_SIZE << 2, doubled under KASAN


@dataclass(frozen=True, slots=True)
class Environment:
    """What the checks found: the tracing directory, syscall tracepoints, the kernel stack size."""

    bpftrace: str
    tracing: Path
    syscall_tracepoints: frozenset[str]
    thread_size: int


def check_environment(bpftrace: str = "bpftrace", mount_missing: bool = True) -> Environment:
    """Every precondition of the sensor; raises SourceError naming the first one missing."""
    if platform.machine() != "x86_64":
        raise SourceError(f"the kernel sensor reads x86_64 syscall registers; this machine is "
                          f"{platform.machine()}")
    if os.geteuid() != 0:
        raise SourceError("the kernel sensor needs root (loading eBPF programs); "
                          "run runwatch as root or use the procfs source")
    binary = shutil.which(bpftrace)
    if binary is None:
        raise SourceError(f"bpftrace not found ({bpftrace!r} is not on PATH); install the Debian "
                          f"package `bpftrace` (scripts/bootstrap.sh run does)")
    if not BTF_PATH.exists():
        raise SourceError(f"the kernel has no BTF type information ({BTF_PATH} is missing); "
                          f"the sensor needs a kernel built with CONFIG_DEBUG_INFO_BTF=y")
    tracing = find_tracefs()
    if tracing is None and mount_missing:
        mount_tracing()
        tracing = find_tracefs()
    if tracing is None:
        raise SourceError("tracefs is not mounted and could not be mounted at /sys/kernel/tracing "
                          "(mount -t tracefs nodev /sys/kernel/tracing)")
    if mount_missing and not (DEBUGFS / "tracing").exists():
        mount_tracing()
    syscalls = tracing / "events" / "syscalls"
    try:
        names = os.listdir(syscalls)
    except OSError as err:
        raise SourceError(f"no syscall tracepoints at {syscalls} ({err.strerror}): the kernel "
                          f"needs CONFIG_FTRACE_SYSCALLS=y") from err
    exits = frozenset(name[len("sys_exit_"):] for name in names if name.startswith("sys_exit_"))
    return Environment(binary, tracing, exits, kernel_thread_size())


def find_tracefs() -> Path | None:
    return next((path for path in TRACEFS_CANDIDATES if (path / "events").is_dir()), None)


def mount_tracing() -> None:
    """Mount debugfs and tracefs where bpftrace looks for them; failures are logged, not raised."""
    for fstype, target in (("debugfs", DEBUGFS), ("tracefs", TRACEFS_CANDIDATES[0])):
        if target.is_mount() or (fstype == "tracefs" and (target / "events").is_dir()):
            continue
        result = subprocess.run(["mount", "-t", fstype, "nodev", str(target)], capture_output=True,
                                text=True, timeout=10, check=False)
        if result.returncode == 0:
            log.info("mounted for the kernel sensor", extra={"fstype": fstype, "path": str(target)})
        else:
            log.warning("cannot mount", extra={"fstype": fstype, "path": str(target),
                                               "error": result.stderr.strip()})


def kernel_thread_size(config: Path = Path("/proc/config.gz")) -> int:
    """The kernel stack size, which places the saved registers: 16 KiB, 32 KiB with KASAN."""
    try:
        with gzip.open(config, "rt") as file:
            kasan = any(line.strip() == "CONFIG_KASAN=y" for line in file)
    except OSError:
        return _THREAD_SIZE
    return _THREAD_SIZE * 2 if kasan else _THREAD_SIZE


def why_not(bpftrace: str = "bpftrace") -> str | None:
    """None when the sensor can run, else the reason (for choosing the procfs fallback)."""
    try:
        check_environment(bpftrace, mount_missing=os.geteuid() == 0)
    except SourceError as err:
        return err.message
    return None
