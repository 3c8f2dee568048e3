"""Turning observed paths and peers into profile patterns, so a profile stays small and stable.

A path component that is a PID, a long number, a hex id or a mktemp-style random name is
replaced by `*` (`/proc/4711/status` -> `/proc/*/status`, `/tmp/tmp.aZ3kq9Lm` -> `/tmp/tmp.*`).
A directory whose learned children outnumber `collapse_after` becomes `dir/*`, and external
IPv4 peers on one port become their /24 the same way. `*` never crosses a `/`.
"""

from __future__ import annotations

import functools
import ipaddress
import re

WILDCARD = "*"

_DIGITS = re.compile(r"^\d+$")
_LONG_NUMBER = re.compile(r"\d{4,}")
_HEX_ID = re.compile(r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*")
# mktemp's XXXXXX and friends: a run of 6+ letters and digits mixing upper, lower and digits.
_RANDOM_TAIL = re.compile(r"(?<=[._-])[A-Za-z0-9]{6,}$|^[A-Za-z0-9]{10,}$")


def _looks_random(text: str) -> bool:
    kinds = (any(c.isdigit() for c in text), any(c.islower() for c in text),
             any(c.isupper() for c in text))
    return sum(kinds) >= 2 and kinds[0] or sum(kinds) == 3


def generalise_component(name: str) -> str:
    """One path component with its per-process and random parts replaced by `*`."""
    if _DIGITS.match(name):
        return WILDCARD
    name = _HEX_ID.sub(lambda m: WILDCARD if any(c.isdigit() for c in m.group()) else m.group(),
                       name)
    name = _LONG_NUMBER.sub(WILDCARD, name)
    tail = _RANDOM_TAIL.search(name)
    if tail and _looks_random(tail.group()):
        name = name[:tail.start()] + WILDCARD
    return re.sub(r"\*+", WILDCARD, name)


@functools.lru_cache(maxsize=16384)
def generalise_path(path: str) -> str:
    """`/proc/4711/fd/3` -> `/proc/*/fd/*`; absolute paths only, others are returned as they are."""
    if not path.startswith("/"):
        return path
    return "/".join(generalise_component(part) if part else part for part in path.split("/"))


@functools.lru_cache(maxsize=4096)
def _path_regex(pattern: str) -> re.Pattern[str]:
    return re.compile("".join("[^/]*" if c == WILDCARD else re.escape(c) for c in pattern) + r"\Z")


def path_matches(pattern: str, path: str) -> bool:
    """True when `path` fits `pattern`; `*` stands for any text within one component."""
    if WILDCARD not in pattern:
        return pattern == path
    return _path_regex(pattern).match(path) is not None


def parent_directory(path: str) -> str | None:
    """`/var/cache/x` -> `/var/cache`; None for `/` and for paths that are not absolute."""
    if not path.startswith("/") or path == "/":
        return None
    return path.rsplit("/", 1)[0] or "/"


def join(directory: str, name: str) -> str:
    return f"{directory.rstrip('/')}/{name}"


def network_of(peer: str, prefix_len: int = 24) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) around an IP peer, for collapsing many peers into one;
    None when the peer is a workload name or a network already."""
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return None
    bits = prefix_len if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))


def peer_matches(pattern: str, peer: str) -> bool:
    """A learned peer covers an observed one: the same name or IP, or an IP inside a learned network."""
    if pattern == peer:
        return True
    if "/" not in pattern:
        return False
    try:
        return ipaddress.ip_address(peer) in ipaddress.ip_network(pattern, strict=False)
    except ValueError:
        return False


# Syscalls that do the same thing in other words: a program (or its libc version, or a timing)
# picks one or the other, so learning one covers the family, and a seccomp export allows all.
SYSCALL_FAMILIES: tuple[frozenset[str], ...] = tuple(frozenset(family.split()) for family in (
    "poll ppoll select pselect6 epoll_wait epoll_pwait epoll_pwait2",
    "stat fstat lstat newfstatat statx",
    "open openat openat2 creat",
    "read readv pread64 preadv preadv2",
    "write writev pwrite64 pwritev pwritev2",
    "recvfrom recvmsg recvmmsg",
    "sendto sendmsg sendmmsg",
    "accept accept4",
    "dup dup2 dup3",
    "pipe pipe2",
    "wait4 waitid",
    "nanosleep clock_nanosleep",
    "fork vfork clone clone3",
    "getdents getdents64",
    "access faccessat faccessat2",
    "readlink readlinkat",
    "signalfd signalfd4",
    "eventfd eventfd2",
    "epoll_create epoll_create1",
    "inotify_init inotify_init1",
    "rt_sigtimedwait rt_sigsuspend pause",
))
_FAMILY_OF = {name: family for family in SYSCALL_FAMILIES for name in family}


def syscall_family(name: str) -> frozenset[str]:
    """The syscalls equivalent to `name` (itself alone when it has no family)."""
    return _FAMILY_OF.get(name, frozenset({name}))


ALWAYS_ALLOWED_SYSCALLS = frozenset({
    # runc/crun after the filter is loaded: close inherited fds (reading /proc/self/fd), signal
    # the exec fifo, exec the entrypoint; runc's Go runtime meanwhile may start threads and poll
    "execve", "execveat", "close", "close_range", "fcntl", "dup2", "dup3", "getpid", "getppid",
    "getdents", "getdents64", "clone", "clone3", "epoll_create1", "epoll_ctl", "epoll_pwait",
    "epoll_wait", "pipe2", "fstatfs", "statfs",
    "gettid", "futex", "capget", "capset", "prctl", "setgroups", "setuid", "setgid", "setresuid",
    "setresgid", "chdir", "fchdir", "write", "read", "openat", "newfstatat", "fstat", "statx",
    # the dynamic loader and libc start-up
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "arch_prctl", "access",
    "faccessat", "faccessat2", "pread64", "readlink", "readlinkat", "set_tid_address",
    "set_robust_list", "rseq", "prlimit64", "getrandom", "uname", "getuid", "geteuid", "getgid",
    "getegid", "getcwd", "lseek", "ioctl", "sched_getaffinity", "sched_yield",
    # signals, sleeping, time, and the way out
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "restart_syscall",
    "nanosleep", "clock_nanosleep", "clock_gettime", "gettimeofday", "exit", "exit_group",
    "wait4", "kill", "tgkill",
})
"""What a runtime does between loading a seccomp filter and running the entrypoint, and what any
process needs to start and end: a seccomp export always allows these, so using one is never a
deviation either."""
