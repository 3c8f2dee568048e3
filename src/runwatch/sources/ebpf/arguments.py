"""Each syscall's own fields: fd.*, fs.path.*, evt.arg.* and evt.args, as Falco fills them.

A decoder gets the event already holding the header's fields (process, user, container, result)
and the record's values, laid out as catalog.py prints them after the header.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any

from runwatch.capabilities import capability_names
from runwatch.enrich.process_tree import ProcessInfo
from runwatch.event import Event
from runwatch.sources.ebpf import flags as F
from runwatch.sources.ebpf.catalog import HEADER_FIELDS, SYSCALLS
from runwatch.sources.ebpf.paths import AT_FDCWD, split_path

if TYPE_CHECKING:
    from runwatch.sources.ebpf.decode import EventDecoder

Record = list[Any]
"""One record as bpftrace printed it (a JSON array); positions are catalog.py's."""

Decode = Callable[["EventDecoder", Event, Record, ProcessInfo], None]

_HEADER = len(HEADER_FIELDS)
_RET = HEADER_FIELDS.index("ret")
_AF_UNIX, _AF_INET, _AF_INET6 = 1, 2, 10
_EINPROGRESS = -115


def ipv4(value: int) -> str:
    """An IPv4 address the kernel keeps in network order, read as a little-endian u32."""
    return socket.inet_ntoa((value & 0xFFFFFFFF).to_bytes(4, "little"))


def ipv6(high: int, low: int) -> str:
    """An IPv6 address read as two little-endian u64 halves in memory order; an IPv4-mapped
    one (::ffff:127.0.0.1, a dual-stack socket talking IPv4) as the IPv4 address it carries."""
    address = IPv6Address(high.to_bytes(8, "little") + low.to_bytes(8, "little"))
    return str(address.ipv4_mapped) if address.ipv4_mapped is not None else address.compressed


def network_port(value: int) -> int:
    """A port in network byte order, read as a little-endian u16."""
    return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)


def set_args(event: Event, args: dict[str, object]) -> None:
    """evt.arg.<name> for each argument, and evt.args as Falco prints them all."""
    for key, value in args.items():
        event[f"evt.arg.{key}"] = value
    event["evt.args"] = " ".join(f"{key}={value}" for key, value in args.items())


def _file_fields(event: Event, path: str, raw: str, typechar: str = "f") -> None:
    directory, filename = split_path(path)
    event.update({"fd.name": path, "fd.nameraw": raw, "fd.directory": directory,
                  "fd.filename": filename, "fd.typechar": typechar,
                  "fd.type": "directory" if typechar == "d" else "file", "fs.path.name": path})


# -- one decoder per syscall: values after the header, in the order catalog.py prints them ----

def _open(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    dirfd, raw, flags, mode = values[_HEADER:_HEADER + 4]
    ret: int = values[_RET]
    path = decoder.resolve(info, raw, dirfd)
    is_directory = bool(flags & F.O_DIRECTORY) and not (flags & F.O_TMPFILE == F.O_TMPFILE)
    _file_fields(event, path, raw, "d" if is_directory else "f")
    access = flags & F.O_ACCMODE
    event["fd.num"] = ret if ret >= 0 else -1
    event["evt.is_open_read"] = access in (0, F.O_RDWR) and not flags & F.O_PATH
    event["evt.is_open_write"] = access in (F.O_WRONLY, F.O_RDWR)
    event["evt.is_open_exec"] = bool(flags & F.O_CREAT and mode & 0o111)
    args: dict[str, object] = {"fd": ret, "name": path,
                               "flags": F.render_open_flags(flags), "mode": F.render_mode(mode)}
    if event["evt.type"] != "open" and event["evt.type"] != "creat":
        args = {"fd": ret, "dirfd": dirfd, **{k: v for k, v in args.items() if k != "fd"}}
    set_args(event, args)


def _execve_failed(decoder: EventDecoder, event: Event, values: Record,
                   info: ProcessInfo) -> None:
    raw = values[_HEADER]
    dirfd = values[_HEADER + 1] if len(values) > _HEADER + 1 else AT_FDCWD
    set_args(event, {"res": values[_RET], "filename": decoder.resolve(info, raw, dirfd)})


def _chdir(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    raw = values[_HEADER]
    path = decoder.resolve(info, raw)
    if values[_RET] == 0:
        decoder.update_cwd(info, path)
    set_args(event, {"res": values[_RET], "path": path})


def _fchdir(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    fd = values[_HEADER]
    if values[_RET] == 0:
        decoder.update_cwd(info, decoder.paths.read_link(info.pid, "cwd"))
    set_args(event, {"res": values[_RET], "fd": fd})


def _socket(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    domain, socket_type, proto = values[_HEADER:_HEADER + 3]
    ret: int = values[_RET]
    event["fd.num"] = ret
    family = {_AF_INET: ("ipv4", "4"), _AF_INET6: ("ipv6", "6"), _AF_UNIX: ("unix", "u")}
    fd_type, typechar = family.get(domain, ("socket", "s"))
    event["fd.type"], event["fd.typechar"] = fd_type, typechar
    set_args(event, {"fd": ret, "domain": F.socket_family_name(domain),
                      "type": F.socket_type_name(socket_type), "proto": proto})


def _l4proto(sock_type: int, proto: int) -> str:
    if proto in F.IP_PROTOCOLS:
        return F.IP_PROTOCOLS[proto]
    return {1: "tcp", 2: "udp", 3: "raw"}.get(sock_type & 0xF, "unknown")


def _named(values: Record, names: tuple[str, ...], start: int) -> dict[str, int]:
    return {name: values[start + i] for i, name in enumerate(names)}


_SOCKADDR = ("addr_family", "addr_port", "addr4", "addr6_hi", "addr6_lo")
_LOCAL = ("sock_family", "sock_type", "sock_proto", "laddr", "lport", "laddr6_hi", "laddr6_lo")
_FULL = (*_LOCAL, "raddr", "rport", "raddr6_hi", "raddr6_lo")


def _connection(event: Event, family: int, proto: str, local: tuple[str, int],
                remote: tuple[str, int], local_is_server: bool) -> None:
    """fd.* of a connected IP socket: client/server from who initiated, local/remote from us."""
    server, client = (local, remote) if local_is_server else (remote, local)
    if family == _AF_INET6 and "." in local[0] and "." in remote[0]:
        family = _AF_INET  # both ends IPv4-mapped: an IPv4 connection, as Falco reports it
    event.update({
        "fd.type": "ipv4" if family == _AF_INET else "ipv6",
        "fd.typechar": "4" if family == _AF_INET else "6", "fd.sockfamily": "ip",
        "fd.l4proto": proto, "fd.lip": local[0], "fd.lport": local[1], "fd.rip": remote[0],
        "fd.rport": remote[1], "fd.sip": server[0], "fd.sport": server[1], "fd.cip": client[0],
        "fd.cport": client[1], "fd.dip": server[0], "fd.dport": server[1],
        "fd.name": f"{client[0]}:{client[1]}->{server[0]}:{server[1]}",
    })


def _local_address(sock: dict[str, int]) -> tuple[str, int]:
    if sock["sock_family"] == _AF_INET6:
        return ipv6(sock["laddr6_hi"], sock["laddr6_lo"]), sock["lport"]
    return ipv4(sock["laddr"]), sock["lport"]


def _remote_address(sock: dict[str, int]) -> tuple[str, int]:
    if sock["sock_family"] == _AF_INET6:
        return ipv6(sock["raddr6_hi"], sock["raddr6_lo"]), network_port(sock["rport"])
    return ipv4(sock["raddr"]), network_port(sock["rport"])


def _sockaddr_address(addr: dict[str, int]) -> tuple[str, int]:
    if addr["addr_family"] == _AF_INET6:
        return ipv6(addr["addr6_hi"], addr["addr6_lo"]), network_port(addr["addr_port"])
    return ipv4(addr["addr4"]), network_port(addr["addr_port"])


def _outbound(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    """connect, sendto and sendmsg: we are the client; the sockaddr names the server."""
    fd = values[_HEADER]
    start = _HEADER + 1 if event["evt.type"] == "connect" else _HEADER + 2
    addr = _named(values, _SOCKADDR, start)
    path = values[start + len(_SOCKADDR)]
    sock = _named(values, _LOCAL, start + len(_SOCKADDR) + 1)
    event["fd.num"] = fd
    family = addr["addr_family"] or sock["sock_family"]
    args: dict[str, object] = {"fd": fd}
    if family == _AF_UNIX:
        event.update({"fd.type": "unix", "fd.typechar": "u", "fd.sockfamily": "unix",
                      "fd.name": path})
        args["addr"] = path
    elif family in (_AF_INET, _AF_INET6):
        remote = _sockaddr_address({**addr, "addr_family": family})
        _connection(event, family, _l4proto(sock["sock_type"], sock["sock_proto"]),
                    _local_address({**sock, "sock_family": family}), remote, local_is_server=False)
        args["tuple"] = event["fd.name"]
    ret: int = values[_RET]
    if event["evt.type"] != "connect":
        event.update({"fd.connected": False, "fd.name_changed": True})
        args["size"] = values[_HEADER + 1]
    else:
        event["fd.connected"] = ret >= 0 or ret == _EINPROGRESS
        event["fd.name_changed"] = True
    set_args(event, {"res": ret, **args})


def _accept(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    ret: int = values[_RET]
    offset = 2 if event["evt.type"] == "accept4" else 1
    sock = _named(values, _FULL, _HEADER + offset)
    event["fd.num"] = ret
    args: dict[str, object] = {"fd": ret}
    if sock["sock_family"] in (_AF_INET, _AF_INET6):
        _connection(event, sock["sock_family"], _l4proto(sock["sock_type"], sock["sock_proto"]),
                    _local_address(sock), _remote_address(sock), local_is_server=True)
        event["fd.connected"] = True
        args["tuple"] = event["fd.name"]
    elif sock["sock_family"] == _AF_UNIX:
        event.update({"fd.type": "unix", "fd.typechar": "u", "fd.sockfamily": "unix"})
    set_args(event, args)


def _server_socket(event: Event, sock: dict[str, int], local: tuple[str, int] | None) -> None:
    family = sock["sock_family"]
    if family in (_AF_INET, _AF_INET6) and local is not None:
        event.update({
            "fd.type": "ipv4" if family == _AF_INET else "ipv6",
            "fd.typechar": "4" if family == _AF_INET else "6", "fd.sockfamily": "ip",
            "fd.l4proto": _l4proto(sock["sock_type"], sock["sock_proto"]),
            "fd.lip": local[0], "fd.lport": local[1], "fd.sip": local[0], "fd.sport": local[1],
            "fd.name": f"{local[0]}:{local[1]}"})
    elif family == _AF_UNIX:
        event.update({"fd.type": "unix", "fd.typechar": "u", "fd.sockfamily": "unix"})


def _bind(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    fd = values[_HEADER]
    addr = _named(values, _SOCKADDR, _HEADER + 1)
    path = values[_HEADER + 1 + len(_SOCKADDR)]
    sock = _named(values, _LOCAL, _HEADER + 2 + len(_SOCKADDR))
    event["fd.num"] = fd
    family = addr["addr_family"] or sock["sock_family"]
    local = _sockaddr_address({**addr, "addr_family": family}) \
        if family in (_AF_INET, _AF_INET6) else None
    _server_socket(event, {**sock, "sock_family": family}, local)
    if family == _AF_UNIX:
        event["fd.name"] = path
    set_args(event, {"res": values[_RET], "fd": fd, "addr": event.get("fd.name", "")})


def _listen(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    fd, backlog = values[_HEADER], values[_HEADER + 1]
    sock = _named(values, _FULL, _HEADER + 2)
    event["fd.num"] = fd
    _server_socket(event, sock, _local_address(sock)
                   if sock["sock_family"] in (_AF_INET, _AF_INET6) else None)
    set_args(event, {"res": values[_RET], "fd": fd, "backlog": backlog})


def _dup(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    """dup/dup2/dup3: fd.* describe the old fd (the one duplicated onto evt.rawres)."""
    names = {"dup": ("oldfd",), "dup2": ("oldfd", "newfd"), "dup3": ("oldfd", "newfd", "flags")}
    own = names[str(event["evt.type"])]
    args: dict[str, Any] = {"res": values[_RET],
                               **{n: values[_HEADER + i] for i, n in enumerate(own)}}
    if "flags" in args:
        args["flags"] = F.render_flags(args["flags"], F.FD_FLAGS)
    sock = _named(values, _FULL, _HEADER + len(own))
    event["fd.num"] = args["oldfd"]
    if sock["sock_family"] in (_AF_INET, _AF_INET6):
        local, remote = _local_address(sock), _remote_address(sock)
        # Without the connection's history, the side on a well-known port is taken as the server.
        _connection(event, sock["sock_family"], _l4proto(sock["sock_type"], sock["sock_proto"]),
                    local, remote, local_is_server=0 < local[1] < remote[1] or remote[1] == 0)
    elif sock["sock_family"] == _AF_UNIX:
        event.update({"fd.type": "unix", "fd.typechar": "u", "fd.sockfamily": "unix"})
    set_args(event, args)


def _user(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    spec = SYSCALLS[str(event["evt.type"])]
    own = dict(zip(spec.fields, values[_HEADER:], strict=False))
    if "cap_effective" in own:
        effective, permitted = own.pop("cap_effective"), own.pop("cap_permitted")
        if values[_RET] == 0:
            decoder.update_caps(info, effective, permitted)
            event["thread.cap_effective"] = info.cap_effective
            event["thread.cap_permitted"] = info.cap_permitted
    set_args(event, {"res": values[_RET], **own})


def _ptrace(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    request, target = values[_HEADER], values[_HEADER + 1]
    set_args(event, {"res": values[_RET], "request": F.ptrace_request_name(request),
                      "pid": target})


def _mount(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    dev, target, fs0, fs1, mount_flags = values[_HEADER:_HEADER + 5]
    set_args(event, {"res": values[_RET], "dev": dev,
                      "dir": decoder.resolve(info, target),
                      "type": F.decode_c_string([fs0, fs1]),
                      "flags": F.render_flags(mount_flags, F.MOUNT_FLAGS)})


def _umount(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    name, umount_flags = values[_HEADER], values[_HEADER + 1]
    set_args(event, {"res": values[_RET], "name": decoder.resolve(info, name),
                      "flags": F.render_flags(umount_flags, F.UMOUNT_FLAGS)})


def _unshare(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    value = values[_HEADER]
    set_args(event, {"res": values[_RET],
                      "flags": F.render_flags(value, F.NAMESPACE_FLAGS)})


def _setns(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    fd, nstype = values[_HEADER], values[_HEADER + 1]
    set_args(event, {"res": values[_RET], "fd": fd,
                      "nstype": F.render_flags(nstype, F.NAMESPACE_FLAGS)})


def _module(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    spec = SYSCALLS[str(event["evt.type"])]
    own = dict(zip(spec.fields, values[_HEADER:], strict=False))
    effective = own.pop("cap_effective")
    event["thread.cap_effective"] = capability_names(effective)
    set_args(event, {"res": values[_RET], **own})


def _path_args(names: dict[str, str | None]) -> Decode:
    """A decoder for path syscalls. `names` maps each path value to what it is relative to: the
    value naming its dirfd, None for the cwd, or "raw" to keep it as given (a symlink's target)."""
    def decode(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
        spec = SYSCALLS[str(event["evt.type"])]
        own = dict(zip(spec.fields, values[_HEADER:], strict=False))
        for name, relative_to in names.items():
            raw = own[name]
            if relative_to != "raw":
                dirfd = own[relative_to] if relative_to is not None else AT_FDCWD
                own[name] = decoder.resolve(info, raw, dirfd)
        if "mode" in own:
            own["mode"] = F.render_mode(int(own["mode"]))
        if "flags" in own:
            table = F.RENAME_FLAGS if spec.name == "renameat2" else F.AT_FLAGS
            own["flags"] = F.render_flags(int(own["flags"]), table)
        paths = [own[name] for name in names]
        if len(paths) == 2:
            event["fs.path.source"], event["fs.path.target"] = paths
        else:
            event["fs.path.name"] = paths[0]
        set_args(event, {"res": values[_RET], **own})
    return decode


def _fd_args(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    spec = SYSCALLS[str(event["evt.type"])]
    own = dict(zip(spec.fields, values[_HEADER:], strict=False))
    if "mode" in own:
        own["mode"] = F.render_mode(own["mode"])
    if "fd" in own:
        event["fd.num"] = own["fd"]
        path = decoder.paths.read_link(info.pid, f"fd/{own['fd']}")
        if path is not None and path.startswith("/"):
            _file_fields(event, path, path)
    set_args(event, {"res": values[_RET], **own})


def _memfd(decoder: EventDecoder, event: Event, values: Record, info: ProcessInfo) -> None:
    name, memfd_flags = values[_HEADER], values[_HEADER + 1]
    ret: int = values[_RET]
    event.update({"fd.num": ret, "fd.type": "memfd", "fd.typechar": "m",
                  "fd.name": f"memfd:{name}"})
    set_args(event, {"fd": ret, "name": name,
                      "flags": F.render_flags(memfd_flags, F.MEMFD_FLAGS)})


def _userfaultfd(decoder: EventDecoder, event: Event, values: Record,
                 info: ProcessInfo) -> None:
    value = values[_HEADER]
    event["fd.num"] = values[_RET]
    set_args(event, {"res": values[_RET], "flags": F.render_flags(value, F.FD_FLAGS)})


DECODERS: dict[str, Decode] = {
    "open": _open, "openat": _open, "openat2": _open, "creat": _open,
    "execve": _execve_failed, "execveat": _execve_failed,
    "chdir": _chdir, "fchdir": _fchdir, "socket": _socket,
    "connect": _outbound, "sendto": _outbound, "sendmsg": _outbound, "accept": _accept, "accept4": _accept,
    "bind": _bind, "listen": _listen, "dup": _dup, "dup2": _dup, "dup3": _dup,
    "setuid": _user, "setgid": _user, "setresuid": _user, "setresgid": _user,
    "ptrace": _ptrace, "mount": _mount, "umount2": _umount, "unshare": _unshare,
    "setns": _setns, "init_module": _module, "finit_module": _module,
    "chmod": _path_args({"filename": None}), "fchmod": _fd_args,
    "fchmodat": _path_args({"filename": "dirfd"}),
    "fchmodat2": _path_args({"filename": "dirfd"}),
    "unlink": _path_args({"path": None}), "rmdir": _path_args({"path": None}),
    "unlinkat": _path_args({"name": "dirfd"}),
    "rename": _path_args({"oldpath": None, "newpath": None}),
    "renameat": _path_args({"oldpath": "olddirfd", "newpath": "newdirfd"}),
    "renameat2": _path_args({"oldpath": "olddirfd", "newpath": "newdirfd"}),
    "symlink": _path_args({"target": "raw", "linkpath": None}),
    "symlinkat": _path_args({"target": "raw", "linkpath": "linkdirfd"}),
    "link": _path_args({"oldpath": None, "newpath": None}),
    "linkat": _path_args({"oldpath": "olddir", "newpath": "newdir"}),
    "mkdir": _path_args({"path": None}),
    "mkdirat": _path_args({"path": "dirfd"}),
    "memfd_create": _memfd, "userfaultfd": _userfaultfd,
}
