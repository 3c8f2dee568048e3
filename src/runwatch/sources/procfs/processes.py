"""Reading one process from /proc (proc(5)): stat, status, cmdline, environ, exe, cwd, cgroup, loginuid."""

from __future__ import annotations

import os
from pathlib import Path

from runwatch.capabilities import capability_names
from runwatch.enrich.container_id import HOST, container_from_proc_cgroup
from runwatch.enrich.process_tree import ProcessInfo

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_NO_LOGINUID = 4294967295  # (uid_t)-1 in /proc/<pid>/loginuid: "not set"; Falco shows -1


def read_boot_time_ns(proc_root: Path) -> int:
    """Boot time from the `btime` line of /proc/stat, in ns since the epoch."""
    for line in (proc_root / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return int(line.split()[1]) * 1_000_000_000
    raise OSError(f"no btime line in {proc_root / 'stat'}")


def read_stat(proc_root: Path, pid: int) -> tuple[str, list[str]] | None:
    """(comm, the fields after comm) of /proc/<pid>/stat, or None if the process is gone.

    comm may itself hold spaces and parentheses ('(sd-pam)'), so split at the last ')'.
    """
    try:
        text = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return None
    head, _, tail = text.rpartition(")")
    return head.partition("(")[2], tail.split()


def read_process(proc_root: Path, pid: int, boot_time_ns: int, env_max_bytes: int = 0
                 ) -> ProcessInfo | None:
    """Everything /proc tells about one process, or None if it exited while being read.

    The environment is read only when `env_max_bytes` is given (at most that many bytes).
    """
    stat = read_stat(proc_root, pid)
    if stat is None:
        return None
    comm, fields = stat
    base = proc_root / str(pid)
    info = ProcessInfo(pid=pid, ppid=int(fields[1]), name=comm, sid=int(fields[3]),
                       tty=int(fields[4]),
                       start_ns=boot_time_ns + int(fields[19]) * 1_000_000_000 // _CLOCK_TICKS)
    _read_status(base, info)
    argv = _read_nul_separated(base / "cmdline")
    if argv:
        info.exe, info.args = argv[0], argv[1:]
    elif argv is not None:  # kernel threads have an empty cmdline
        info.args = []
    info.env = _read_nul_separated(base / "environ", max_bytes=env_max_bytes) if env_max_bytes else None
    info.exepath = _readlink(base / "exe")
    info.cwd = _readlink(base / "cwd")
    netns = _readlink(base / "ns" / "net")
    if netns and netns.startswith("net:["):
        info.netns = int(netns[5:-1])
    cgroup = _read_text(base / "cgroup")
    if cgroup is not None:
        ref = container_from_proc_cgroup(cgroup)
        info.container_id = ref.id if ref else HOST
    loginuid = _read_text(base / "loginuid")
    if loginuid and loginuid.strip().isdigit():
        value = int(loginuid)
        info.loginuid = -1 if value == _NO_LOGINUID else value
    return info


def _read_status(base: Path, info: ProcessInfo) -> None:
    text = _read_text(base / "status")
    if text is None:
        return
    for line in text.splitlines():
        key, _, value = line.partition(":")
        parts = value.split()
        if not parts:
            continue
        if key == "Uid":
            info.uid = int(parts[1])  # effective uid, as Falco's user.uid
        elif key == "Gid":
            info.gid = int(parts[1])
        elif key == "NSpid":
            info.vpid = int(parts[-1])
        elif key == "CapEff":
            info.cap_effective = capability_names(int(parts[0], 16))
        elif key == "CapPrm":
            info.cap_permitted = capability_names(int(parts[0], 16))


def _read_nul_separated(path: Path, max_bytes: int = -1) -> list[str] | None:
    """cmdline and environ: strings separated by NUL bytes; None if unreadable."""
    try:
        with path.open("rb") as file:
            raw = file.read(max_bytes)
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.rstrip(b"\0").split(b"\0")] if raw else []


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:  # gone, or not ours to read
        return None


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None
