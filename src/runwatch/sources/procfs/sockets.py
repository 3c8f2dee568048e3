"""Parsing /proc/<pid>/net/{tcp,tcp6,udp,udp6} (proc(5)) and finding which process owns a socket."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

TCP_ESTABLISHED = 0x01
TCP_LISTEN = 0x0A
UDP_CONNECTED = 0x01  # the kernel reuses TCP_ESTABLISHED for a connect()ed UDP socket
UDP_UNCONNECTED = 0x07  # TCP_CLOSE: bound, not connected

_TABLES = (("tcp", 4), ("tcp6", 6), ("udp", 4), ("udp6", 6))


@dataclass(frozen=True, slots=True)
class Socket:
    """One row of a /proc/net table."""

    l4proto: str
    family: int
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    state: int
    inode: int


def decode_address(text: str) -> tuple[str, int]:
    """'0100007F:1F90' -> ('127.0.0.1', 8080). The address is in host byte order, 32 bits at a time."""
    hex_ip, _, hex_port = text.partition(":")
    raw = bytes.fromhex(hex_ip)
    swapped = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(swapped)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address), int(hex_port, 16)


def parse_table(text: str, l4proto: str, family: int) -> list[Socket]:
    """Rows of one table; the header and malformed rows are skipped."""
    sockets = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        try:
            local_ip, local_port = decode_address(parts[1])
            remote_ip, remote_port = decode_address(parts[2])
            sockets.append(Socket(l4proto, family, local_ip, local_port, remote_ip, remote_port,
                                  int(parts[3], 16), int(parts[9])))
        except ValueError:
            continue
    return sockets


def read_sockets(proc_root: Path, pid: int) -> list[Socket]:
    """Every TCP/UDP socket of the network namespace that process `pid` lives in."""
    sockets: list[Socket] = []
    for table, family in _TABLES:
        try:
            text = (proc_root / str(pid) / "net" / table).read_text()
        except OSError:
            continue
        sockets.extend(parse_table(text, table.rstrip("6"), family))
    return sockets


def find_socket_owners(proc_root: Path, pids: list[int], inodes: set[int]) -> dict[int, tuple[int, int]]:
    """inode -> (pid, fd number) for the wanted socket inodes, looking only at the given pids."""
    owners: dict[int, tuple[int, int]] = {}
    for pid in pids:
        fd_dir = proc_root / str(pid) / "fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(fd_dir / fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inode = int(target[8:-1])
                if inode in inodes and inode not in owners:
                    owners[inode] = (pid, int(fd))
        if len(owners) == len(inodes):
            break
    return owners
