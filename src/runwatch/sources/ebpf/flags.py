"""Syscall argument values rendered as Falco renders them: flag names joined by `|`, errno names.

Values are Linux x86_64's (include/uapi/asm-generic/fcntl.h, linux/sched.h, linux/mount.h,
linux/ptrace.h, linux/memfd.h, linux/socket.h). Rules match these strings:
`evt.arg.flags contains O_TRUNC`, `evt.arg.request contains PTRACE_ATTACH`,
`evt.arg.domain contains AF_PACKET`.
"""

from __future__ import annotations

import errno

FlagTable = tuple[tuple[int, str], ...]

O_ACCMODE = 0x3
O_WRONLY = 0x1
O_RDWR = 0x2
O_CREAT = 0x40
O_TRUNC = 0x200
O_DIRECTORY = 0x10000
O_PATH = 0x200000
O_TMPFILE = 0x410000

# Falco's order for open flags (ppm_events_public.h's PPM_O_* table); O_RDONLY is the absence
# of O_WRONLY and O_RDWR, and is named when the access mode is 0.
OPEN_FLAGS: FlagTable = (
    (0x8000, "O_LARGEFILE"), (O_DIRECTORY, "O_DIRECTORY"), (0x4000, "O_DIRECT"),
    (O_TRUNC, "O_TRUNC"), (0x101000, "O_SYNC"), (0x800, "O_NONBLOCK"), (0x80, "O_EXCL"),
    (0x1000, "O_DSYNC"), (0x400, "O_APPEND"), (O_CREAT, "O_CREAT"), (O_RDWR, "O_RDWR"),
    (O_WRONLY, "O_WRONLY"), (0x80000, "O_CLOEXEC"), (0x20000, "O_NOFOLLOW"),
    (O_TMPFILE, "O_TMPFILE"), (0x40000, "O_NOATIME"), (O_PATH, "O_PATH"), (0x100, "O_NOCTTY"),
    (0x2000, "O_ASYNC"),
)

NAMESPACE_FLAGS: FlagTable = (
    (0x00000080, "CLONE_NEWTIME"), (0x00000200, "CLONE_FS"), (0x00000400, "CLONE_FILES"),
    (0x00020000, "CLONE_NEWNS"), (0x00040000, "CLONE_SYSVSEM"), (0x02000000, "CLONE_NEWCGROUP"),
    (0x04000000, "CLONE_NEWUTS"), (0x08000000, "CLONE_NEWIPC"), (0x10000000, "CLONE_NEWUSER"),
    (0x20000000, "CLONE_NEWPID"), (0x40000000, "CLONE_NEWNET"),
)

MOUNT_FLAGS: FlagTable = tuple((1 << bit, name) for bit, name in enumerate((
    "MS_RDONLY", "MS_NOSUID", "MS_NODEV", "MS_NOEXEC", "MS_SYNCHRONOUS", "MS_REMOUNT",
    "MS_MANDLOCK", "MS_DIRSYNC", "", "", "MS_NOATIME", "MS_NODIRATIME", "MS_BIND", "MS_MOVE",
    "MS_REC", "MS_SILENT", "MS_POSIXACL", "MS_UNBINDABLE", "MS_PRIVATE", "MS_SLAVE", "MS_SHARED",
    "MS_RELATIME", "MS_KERNMOUNT", "MS_I_VERSION", "MS_STRICTATIME", "MS_LAZYTIME")) if name)

UMOUNT_FLAGS: FlagTable = ((1, "MNT_FORCE"), (2, "MNT_DETACH"), (4, "MNT_EXPIRE"),
                           (8, "UMOUNT_NOFOLLOW"))
MEMFD_FLAGS: FlagTable = ((1, "MFD_CLOEXEC"), (2, "MFD_ALLOW_SEALING"), (4, "MFD_HUGETLB"),
                          (8, "MFD_NOEXEC_SEAL"), (0x10, "MFD_EXEC"))
AT_FLAGS: FlagTable = ((0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"),
                       (0x400, "AT_SYMLINK_FOLLOW"), (0x1000, "AT_EMPTY_PATH"))
RENAME_FLAGS: FlagTable = ((1, "RENAME_NOREPLACE"), (2, "RENAME_EXCHANGE"), (4, "RENAME_WHITEOUT"))
FD_FLAGS: FlagTable = ((0x80000, "O_CLOEXEC"), (0x800, "O_NONBLOCK"), (1, "UFFD_USER_MODE_ONLY"))
SOCKET_TYPE_FLAGS: FlagTable = ((0x800, "SOCK_NONBLOCK"), (0x80000, "SOCK_CLOEXEC"))
EXE_FLAGS: FlagTable = ((1, "EXE_WRITABLE"), (2, "EXE_UPPER_LAYER"), (4, "EXE_FROM_MEMFD"),
                        (8, "EXE_LOWER_LAYER"))
EXE_UPPER_LAYER = 2
EXE_FROM_MEMFD = 4

SOCKET_FAMILIES = {0: "AF_UNSPEC", 1: "AF_UNIX", 2: "AF_INET", 3: "AF_AX25", 4: "AF_IPX",
                   5: "AF_APPLETALK", 9: "AF_X25", 10: "AF_INET6", 15: "AF_KEY", 16: "AF_NETLINK",
                   17: "AF_PACKET", 29: "AF_CAN", 31: "AF_BLUETOOTH", 38: "AF_ALG", 40: "AF_VSOCK",
                   44: "AF_XDP"}
SOCKET_TYPES = {1: "SOCK_STREAM", 2: "SOCK_DGRAM", 3: "SOCK_RAW", 4: "SOCK_RDM",
                5: "SOCK_SEQPACKET", 6: "SOCK_DCCP", 10: "SOCK_PACKET"}
IP_PROTOCOLS = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp", 132: "sctp", 255: "raw"}

PTRACE_REQUESTS = {
    0: "PTRACE_TRACEME", 1: "PTRACE_PEEKTEXT", 2: "PTRACE_PEEKDATA", 3: "PTRACE_PEEKUSR",
    4: "PTRACE_POKETEXT", 5: "PTRACE_POKEDATA", 6: "PTRACE_POKEUSR", 7: "PTRACE_CONT",
    8: "PTRACE_KILL", 9: "PTRACE_SINGLESTEP", 12: "PTRACE_GETREGS", 13: "PTRACE_SETREGS",
    14: "PTRACE_GETFPREGS", 15: "PTRACE_SETFPREGS", 16: "PTRACE_ATTACH", 17: "PTRACE_DETACH",
    18: "PTRACE_GETFPXREGS", 19: "PTRACE_SETFPXREGS", 24: "PTRACE_SYSCALL",
    0x4200: "PTRACE_SETOPTIONS", 0x4201: "PTRACE_GETEVENTMSG", 0x4202: "PTRACE_GETSIGINFO",
    0x4203: "PTRACE_SETSIGINFO", 0x4204: "PTRACE_GETREGSET", 0x4205: "PTRACE_SETREGSET",
    0x4206: "PTRACE_SEIZE", 0x4207: "PTRACE_INTERRUPT", 0x4208: "PTRACE_LISTEN",
    0x4209: "PTRACE_PEEKSIGINFO",
}


def render_flags(value: int, table: FlagTable) -> str:
    """'O_TRUNC|O_CREAT|O_WRONLY' for 577; an unnamed remainder is left out, as Falco does."""
    names = [name for bit, name in table if bit and value & bit == bit]
    return "|".join(names)


def render_open_flags(flags: int) -> str:
    """Open flags by name; O_RDONLY when neither O_WRONLY nor O_RDWR is set."""
    rendered = render_flags(flags & ~O_ACCMODE, OPEN_FLAGS)
    access = {0: "O_RDONLY", O_WRONLY: "O_WRONLY", O_RDWR: "O_RDWR"}.get(flags & O_ACCMODE, "")
    return "|".join(part for part in (rendered, access) if part)


def render_mode(mode: int) -> str:
    """Permission bits in octal, as Falco prints a mode argument: '0644'."""
    return f"0{mode & 0o7777:o}" if mode & 0o7777 else "0"


def render_result(ret: int) -> str:
    """Falco's evt.res: SUCCESS, or the errno name of a failure (ENOENT)."""
    if ret >= 0:
        return "SUCCESS"
    return errno.errorcode.get(-ret, f"E{-ret}")


def socket_family_name(family: int) -> str:
    return SOCKET_FAMILIES.get(family, f"AF_{family}")


def socket_type_name(socket_type: int) -> str:
    base = SOCKET_TYPES.get(socket_type & 0xF, str(socket_type & 0xF))
    extra = render_flags(socket_type, SOCKET_TYPE_FLAGS)
    return f"{base}|{extra}" if extra else base


def ptrace_request_name(request: int) -> str:
    return PTRACE_REQUESTS.get(request, f"PTRACE_{request}")


def decode_c_string(words: list[int]) -> str:
    """The NUL-terminated string held in consecutive little-endian 64-bit words."""
    data = b"".join(word.to_bytes(8, "little") for word in words)
    return data.partition(b"\0")[0].decode(errors="replace")
