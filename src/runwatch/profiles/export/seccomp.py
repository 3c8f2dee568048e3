"""An OCI seccomp profile (runtime-spec `linux.seccomp`, also podman's and Docker's
`--security-opt seccomp=FILE`) allowing the syscalls the workload was seen making.

Syscalls are counted in the kernel per container (profiles/syscalls.py), which includes what the
runtime's init does inside the container. Added to them are the calls a runtime makes between
loading the filter and running the entrypoint, and that a process needs to start and end at
all (runc and crun load the filter just before execve; the dynamic loader, libc start-up, signal
return and exit follow): learned profiles notoriously miss these, and a container then cannot
even start. Everything else fails with EPERM.
"""

from __future__ import annotations

import orjson

from runwatch.profiles.export.base import ExportContext
from runwatch.profiles.model import Kind

RUNTIME_SYSCALLS = frozenset({
    # runc/crun after the filter is loaded: finish the exec of the entrypoint
    "execve", "execveat", "close", "close_range", "fcntl", "dup2", "dup3", "getpid", "getppid",
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
"""Always allowed: what starting and ending a process in a container needs."""

ARCHITECTURES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
_EPERM = 1


def export_seccomp(context: ExportContext) -> str:
    learned = {name for (name,) in context.items(Kind.SYSCALL)}
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": _EPERM,
        "architectures": ARCHITECTURES,
        "syscalls": [{"names": sorted(learned | RUNTIME_SYSCALLS), "action": "SCMP_ACT_ALLOW"}],
    }
    return orjson.dumps(profile, option=orjson.OPT_INDENT_2).decode() + "\n"
