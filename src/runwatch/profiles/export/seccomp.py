"""An OCI seccomp profile (runtime-spec `linux.seccomp`, also podman's and Docker's
`--security-opt seccomp=FILE`) allowing the syscalls the workload was seen making.

Syscalls are counted in the kernel per container (profiles/syscalls.py), which includes what the
runtime's init does inside the container. Added to them are the calls a runtime makes between
loading the filter and running the entrypoint, and that a process needs to start and end at
all, and each learned syscall's equivalents (generalise.SYSCALL_FAMILIES) (runc and crun load the filter just before execve; the dynamic loader, libc start-up, signal
return and exit follow): learned profiles notoriously miss these, and a container then cannot
even start. Everything else fails with EPERM.
"""

from __future__ import annotations

import orjson

from runwatch.profiles.export.base import ExportContext
from runwatch.profiles.generalise import ALWAYS_ALLOWED_SYSCALLS, syscall_family
from runwatch.profiles.model import Kind

ARCHITECTURES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
_EPERM = 1


def export_seccomp(context: ExportContext) -> str:
    learned = {same for (name,) in context.items(Kind.SYSCALL) for same in syscall_family(name)}
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": _EPERM,
        "architectures": ARCHITECTURES,
        "syscalls": [{"names": sorted(learned | ALWAYS_ALLOWED_SYSCALLS), "action": "SCMP_ACT_ALLOW"}],
    }
    return orjson.dumps(profile, option=orjson.OPT_INDENT_2).decode() + "\n"
