"""The event types the kernel sensor can trace, and what each one reports.

Each syscall is traced at its exit tracepoint only: the arguments are read back from the registers
the kernel saved when the syscall was entered (`struct pt_regs` at the top of the task's kernel
stack, x86_64 calling convention: di, si, dx, r10, r8, r9), as Falco's modern probe does. One
probe per syscall instead of an enter/exit pair halves the cost and needs no per-thread map.
User memory is read at exit, when the kernel has already faulted it in (a path read at enter is
often empty because its page was not yet touched).

Every probe prints one JSON tuple: a fixed header (`HEADER_FIELDS`) then the spec's own values
(`EventSpec.fields`). A string value does not fit in that tuple (bpftrace 0.17 gives every str()
200 bytes of the 512-byte BPF stack, and copies it once more into the tuple), so each one is
printed just before, as a `(KIND_STRING, tid, index, text)` record, and the tuple holds 0 in its
place. Even one such record does not fit next to the tuple, so each string is printed by a probe
of its own on the same tracepoint, attached just before the tuple's: programs on a tracepoint
run in attach order, and one CPU's records reach user space in order. `decode.py` puts them back
together.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEADER_FIELDS = ("kind", "ktime_ns", "pid", "tid", "ppid", "uid", "gid", "cgroup_id", "comm", "ret")
HEADER_VALUES = ("nsecs", "pid", "tid", "curtask->real_parent->tgid", "curtask->cred->euid.val",
                 "curtask->cred->egid.val", "cgroup", "comm", "$ret")

STR_MAX = 200  # bpftrace 0.17 keeps strings on the 512-byte BPF stack and caps them at 200 bytes
_ARGS = ("$regs->di", "$regs->si", "$regs->dx", "$regs->r10", "$regs->r8", "$regs->r9")


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One traced syscall: its Falco event type name, output code, x86_64 number and values."""

    name: str
    kind: int
    number: int
    category: str
    fields: tuple[str, ...]
    values: tuple[str, ...]
    setup: str = ""
    condition: str = ""
    tracepoint: str = ""
    guards: dict[str, str] = field(default_factory=dict)

    @property
    def tracepoint_name(self) -> str:
        """The syscalls:sys_exit_<name> tracepoint (umount2 is traced as `umount`)."""
        return self.tracepoint or self.name


def _arg(index: int) -> str:
    return _ARGS[index]


def _ustr(expr: str, size: int = STR_MAX) -> str:
    return f"str(uptr({expr}), {size})"


def _int(expr: str) -> str:
    """A register holding a C int: sign-extend its low 32 bits (AT_FDCWD is -100)."""
    return f"(int32){expr}"


# The socket behind file descriptor `fd`, read from the kernel's own structures (after accept,
# bind, listen and connect they hold the real local and remote addresses). $sk stays NULL for a
# non-socket fd (a dup2 of a plain file): reads through it fail and give 0, so family is 0.
# IPv4 addresses and ports are as the kernel keeps them: skc_rcv_saddr/skc_daddr in network
# order, skc_num in host order, skc_dport in network order; IPv6 addresses as two 64-bit halves,
# each from two 32-bit words in memory order. Values are read straight into the tuple: a
# variable per field would not fit in the 512-byte stack next to a string.
_COMMON = "$sk->__sk_common"


def _six(kernel: str, first: int) -> str:
    words = f"{_COMMON}.skc_v6_{kernel}.in6_u.u6_addr32"
    return f"((uint64){words}[{first}] | ((uint64){words}[{first + 1}] << 32))"


_LOCAL = {"sock_family": f"{_COMMON}.skc_family", "sock_type": "$sk->sk_type",
          "sock_proto": "$sk->sk_protocol", "laddr": f"{_COMMON}.skc_rcv_saddr",
          "lport": f"{_COMMON}.skc_num", "laddr6_hi": _six("rcv_saddr", 0),
          "laddr6_lo": _six("rcv_saddr", 2)}
_REMOTE = {"raddr": f"{_COMMON}.skc_daddr", "rport": f"{_COMMON}.skc_dport",
           "raddr6_hi": _six("daddr", 0), "raddr6_lo": _six("daddr", 2)}


def _socket_setup(fd_expr: str) -> str:
    """Statements setting $sk to the socket behind `fd_expr`, or NULL."""
    return f"""
  $sk = (struct sock *)0;
  $fdt = curtask->files->fdt;
  $sfd = (uint64)({fd_expr});
  if ($sfd < (uint64)$fdt->max_fds) {{
    $file = *(struct file **)((uint64)$fdt->fd + 8 * $sfd);
    if ($file != 0 && ($file->f_inode->i_mode & 0xf000) == 0xc000) {{
      $sk = ((struct socket *)$file->private_data)->sk;
    }}
  }}"""


def _socket_values(remote: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    values = {**_LOCAL, **(_REMOTE if remote else {})}
    return tuple(values), tuple(values.values())


# A sockaddr the caller passed (connect, bind, sendto) at $ua: family, port (network order), the
# IPv4 address, the IPv6 address as two 64-bit halves, and a Unix socket's path. A NULL $ua
# reads as zeros.
_SOCKADDR = {"addr_family": "*(uint16 *)uptr($ua)", "addr_port": "*(uint16 *)uptr($ua + 2)",
             "addr4": "*(uint32 *)uptr($ua + 4)", "addr6_hi": "*(uint64 *)uptr($ua + 8)",
             "addr6_lo": "*(uint64 *)uptr($ua + 16)", "addr_path": "str(uptr($ua + 2), 108)"}
_SOCKADDR_FIELDS = tuple(_SOCKADDR)
_SOCKADDR_VALUES = tuple(_SOCKADDR.values())
_UNIX_ONLY = {"addr_path": "*(uint16 *)uptr($ua) == 1"}


def _sockaddr_setup(ptr_expr: str) -> str:
    return f"\n  $ua = (uint64)({ptr_expr});"


def _spec(name: str, kind: int, number: int, category: str, values: dict[str, str], *,
          setup: str = "", condition: str = "", tracepoint: str = "",
          extra: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
          guards: dict[str, str] | None = None) -> EventSpec:
    return EventSpec(name, kind, number, category, (*values, *extra[0]),
                     (*values.values(), *extra[1]), setup, condition, tracepoint, guards or {})


_SOCKET = _socket_values(remote=True)
_SOCKADDR_AND_SOCKET = ((*_SOCKADDR_FIELDS, *_socket_values(remote=False)[0]),
                        (*_SOCKADDR_VALUES, *_socket_values(remote=False)[1]))
# sendto and sendmsg are traced for UDP only: no Unix path to read.
_UDP_SOCKADDR_AND_SOCKET = (_SOCKADDR_AND_SOCKET[0],
                            tuple("0" if v.startswith("str(") else v for v in _SOCKADDR_AND_SOCKET[1]))

# Kinds 1-9 are the sensor's own records (exec pieces, fork, exit); syscalls start at 10.
KIND_ARGV = 1
KIND_ENV = 2
KIND_EXEC = 3
KIND_FORK = 4
KIND_EXIT = 5
KIND_EXE_NAME = 6
KIND_FILENAME = 7
KIND_STRING = 8

_OPEN_FLAGS = "$open_flags"
# A process's capabilities after the call (setuid can drop them); kernel_cap_t is one u64 since 6.3.
_CAPS = {"cap_effective": "curtask->cred->cap_effective.val",
         "cap_permitted": "curtask->cred->cap_permitted.val"}
_OPEN_SPECS = [
    _spec("open", 10, 2, "file", {"dirfd": "(int64)-100", "path": _ustr(_arg(0)),
                                 "flags": _OPEN_FLAGS, "mode": _arg(2)},
          setup="$open_flags = $regs->si; $open_path = $regs->di;"),
    _spec("openat", 11, 257, "file", {"dirfd": _int(_arg(0)), "path": _ustr(_arg(1)),
                                     "flags": _OPEN_FLAGS, "mode": _arg(3)},
          setup="$open_flags = $regs->dx; $open_path = $regs->si;"),
    # openat2 passes flags and mode in a struct open_how {u64 flags; u64 mode; u64 resolve}.
    _spec("openat2", 12, 437, "file", {"dirfd": _int(_arg(0)), "path": _ustr(_arg(1)),
                                      "flags": _OPEN_FLAGS, "mode": "*(uint64 *)uptr($regs->dx + 8)"},
          setup="$open_flags = *(uint64 *)uptr($regs->dx); $open_path = $regs->si;"),
    # creat(path, mode) is open(path, O_CREAT|O_WRONLY|O_TRUNC, mode).
    _spec("creat", 13, 85, "file", {"dirfd": "(int64)-100", "path": _ustr(_arg(0)),
                                   "flags": _OPEN_FLAGS, "mode": _arg(1)},
          setup="$open_flags = (uint64)0x241; $open_path = $regs->di;"),
]

SYSCALLS: dict[str, EventSpec] = {spec.name: spec for spec in [
    *_OPEN_SPECS,
    _spec("execve", 14, 59, "process", {"filename": _ustr(_arg(0))}, condition="$ret < 0"),
    _spec("execveat", 15, 322, "process", {"filename": _ustr(_arg(1)), "dirfd": _int(_arg(0))},
          condition="$ret < 0"),
    _spec("chdir", 16, 80, "file", {"path": _ustr(_arg(0))}),
    _spec("fchdir", 17, 81, "file", {"fd": _int(_arg(0))}),
    _spec("socket", 18, 41, "net", {"domain": _arg(0), "type": _arg(1), "proto": _arg(2)}),
    _spec("connect", 19, 42, "net", {"fd": _int(_arg(0))},
          setup=_sockaddr_setup("$regs->si") + _socket_setup("$regs->di"),
          extra=_SOCKADDR_AND_SOCKET, guards=_UNIX_ONLY),
    _spec("accept", 20, 43, "net", {"fd": _int(_arg(0))}, setup=_socket_setup("$ret"),
          extra=_SOCKET),
    _spec("accept4", 21, 288, "net", {"fd": _int(_arg(0)), "flags": _arg(3)},
          setup=_socket_setup("$ret"), extra=_SOCKET),
    _spec("bind", 22, 49, "net", {"fd": _int(_arg(0))},
          setup=_sockaddr_setup("$regs->si") + _socket_setup("$regs->di"),
          extra=_SOCKADDR_AND_SOCKET, guards=_UNIX_ONLY),
    _spec("listen", 23, 50, "net", {"fd": _int(_arg(0)), "backlog": _int(_arg(1))},
          setup=_socket_setup("$regs->di"), extra=_SOCKET),
    # Only UDP datagrams sent to an explicit address: what Falco's `outbound` macro reads.
    _spec("sendto", 24, 44, "net", {"fd": _int(_arg(0)), "size": _arg(2)},
          setup=_socket_setup("$regs->di") + _sockaddr_setup("$regs->r8"),
          condition="$sk->sk_protocol == 17 && $regs->r8 != 0", extra=_UDP_SOCKADDR_AND_SOCKET),
    # sendmsg(fd, msg, flags): the address is msg->msg_name, the first field of struct msghdr;
    # the size is what was sent (the result).
    _spec("sendmsg", 57, 46, "net", {"fd": _int(_arg(0)), "size": "$ret"},
          setup=_socket_setup("$regs->di") + _sockaddr_setup("*(uint64 *)uptr($regs->si)"),
          condition="$sk->sk_protocol == 17 && $ua != 0", extra=_UDP_SOCKADDR_AND_SOCKET),
    _spec("setuid", 25, 105, "user", {"uid": _int(_arg(0)), **_CAPS}),
    _spec("setgid", 26, 106, "user", {"gid": _int(_arg(0))}),
    _spec("setresuid", 27, 117, "user", {"ruid": _int(_arg(0)), "euid": _int(_arg(1)),
                                        "suid": _int(_arg(2)), **_CAPS}),
    _spec("setresgid", 28, 119, "user", {"rgid": _int(_arg(0)), "egid": _int(_arg(1)),
                                        "sgid": _int(_arg(2))}),
    _spec("ptrace", 29, 101, "process", {"request": _arg(0), "target": _int(_arg(1))}),
    # The filesystem type comes as two 64-bit words (its first 16 bytes): one string less.
    _spec("mount", 30, 165, "file", {"dev": _ustr(_arg(0)), "dir": _ustr(_arg(1)),
                                    "fstype_0": "*(uint64 *)uptr($regs->dx)",
                                    "fstype_1": "*(uint64 *)uptr($regs->dx + 8)",
                                    "flags": _arg(3)}),
    _spec("umount2", 31, 166, "file", {"name": _ustr(_arg(0)), "flags": _arg(1)},
          tracepoint="umount"),
    _spec("unshare", 32, 272, "process", {"flags": _arg(0)}),
    _spec("setns", 33, 308, "process", {"fd": _int(_arg(0)), "nstype": _arg(1)}),
    _spec("init_module", 34, 175, "process",
          {"length": _arg(1), "uargs": _ustr(_arg(2), 64),
           "cap_effective": "curtask->cred->cap_effective.val"}),
    _spec("finit_module", 35, 313, "process",
          {"fd": _int(_arg(0)), "uargs": _ustr(_arg(1), 64), "flags": _arg(2),
           "cap_effective": "curtask->cred->cap_effective.val"}),
    _spec("chmod", 36, 90, "file", {"filename": _ustr(_arg(0)), "mode": _arg(1)}),
    _spec("fchmod", 37, 91, "file", {"fd": _int(_arg(0)), "mode": _arg(1)}),
    _spec("fchmodat", 38, 268, "file", {"dirfd": _int(_arg(0)), "filename": _ustr(_arg(1)),
                                       "mode": _arg(2)}),
    _spec("unlink", 39, 87, "file", {"path": _ustr(_arg(0))}),
    _spec("unlinkat", 40, 263, "file", {"dirfd": _int(_arg(0)), "name": _ustr(_arg(1)),
                                       "flags": _arg(2)}),
    _spec("rename", 41, 82, "file", {"oldpath": _ustr(_arg(0)),
                                    "newpath": _ustr(_arg(1))}),
    _spec("renameat", 42, 264, "file", {"olddirfd": _int(_arg(0)), "oldpath": _ustr(_arg(1)),
                                       "newdirfd": _int(_arg(2)), "newpath": _ustr(_arg(3))}),
    _spec("renameat2", 43, 316, "file", {"olddirfd": _int(_arg(0)), "oldpath": _ustr(_arg(1)),
                                        "newdirfd": _int(_arg(2)), "newpath": _ustr(_arg(3)),
                                        "flags": _arg(4)}),
    _spec("symlink", 44, 88, "file", {"target": _ustr(_arg(0)),
                                     "linkpath": _ustr(_arg(1))}),
    _spec("symlinkat", 45, 266, "file", {"target": _ustr(_arg(0)), "linkdirfd": _int(_arg(1)),
                                        "linkpath": _ustr(_arg(2))}),
    _spec("link", 46, 86, "file", {"oldpath": _ustr(_arg(0)), "newpath": _ustr(_arg(1))}),
    _spec("linkat", 47, 265, "file", {"olddir": _int(_arg(0)), "oldpath": _ustr(_arg(1)),
                                     "newdir": _int(_arg(2)), "newpath": _ustr(_arg(3)),
                                     "flags": _arg(4)}),
    _spec("mkdir", 48, 83, "file", {"path": _ustr(_arg(0)), "mode": _arg(1)}),
    _spec("mkdirat", 49, 258, "file", {"dirfd": _int(_arg(0)), "path": _ustr(_arg(1)),
                                      "mode": _arg(2)}),
    _spec("memfd_create", 50, 319, "file", {"name": _ustr(_arg(0), 64), "flags": _arg(1)}),
    _spec("dup", 51, 32, "file", {"oldfd": _int(_arg(0))}, setup=_socket_setup("$regs->di"),
          extra=_SOCKET),
    _spec("dup2", 52, 33, "file", {"oldfd": _int(_arg(0)), "newfd": _int(_arg(1))},
          setup=_socket_setup("$regs->di"), extra=_SOCKET),
    _spec("dup3", 53, 292, "file", {"oldfd": _int(_arg(0)), "newfd": _int(_arg(1)),
                                   "flags": _arg(2)},
          setup=_socket_setup("$regs->di"), extra=_SOCKET),
    _spec("userfaultfd", 54, 323, "process", {"flags": _arg(0)}),
    _spec("rmdir", 56, 84, "file", {"path": _ustr(_arg(0))}),
    _spec("fchmodat2", 55, 452, "file", {"dirfd": _int(_arg(0)), "filename": _ustr(_arg(1)),
                                        "mode": _arg(2)}),
]}
"""Every syscall the sensor can trace, by Falco event type name."""

OPEN_TYPES = frozenset(spec.name for spec in _OPEN_SPECS)
FORK_TYPES = ("clone", "clone3", "fork", "vfork")
FORK_NUMBERS = {"clone": 56, "clone3": 435, "fork": 57, "vfork": 58}
SENSOR_TYPES = frozenset({"execve", "execveat", "chdir", "fchdir"})
"""Traced whatever the rules need: they keep the process table's names, arguments and cwd right."""

SUPPORTED_TYPES = frozenset({*SYSCALLS, *FORK_TYPES, "procexit"})
"""Every event type name the sensor can deliver."""

KIND_NAMES: dict[int, str] = {spec.kind: spec.name for spec in SYSCALLS.values()}
