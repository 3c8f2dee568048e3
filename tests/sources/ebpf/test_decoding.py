"""The pure parts of decoding: Falco's renderings of flags, addresses and paths."""

from __future__ import annotations

import errno
import os

import pytest

from runwatch.sources.ebpf import flags as F
from runwatch.sources.ebpf.arguments import ipv4, ipv6, network_port
from runwatch.sources.ebpf.decode import decode_buffer, split_nul
from runwatch.sources.ebpf.paths import PathResolver, normalize, split_path


def test_open_flags_render_as_falco_prints_them() -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    assert F.render_open_flags(flags) == "O_TRUNC|O_CREAT|O_WRONLY"
    assert F.render_open_flags(os.O_RDONLY | os.O_CLOEXEC) == "O_CLOEXEC|O_RDONLY"
    assert F.render_open_flags(os.O_RDWR | os.O_APPEND) == "O_APPEND|O_RDWR"
    assert "O_TMPFILE" in F.render_open_flags(os.O_TMPFILE | os.O_RDWR)


def test_results_are_success_or_the_errno_name() -> None:
    assert F.render_result(3) == "SUCCESS" and F.render_result(0) == "SUCCESS"
    assert F.render_result(-errno.ENOENT) == "ENOENT"
    assert F.render_result(-errno.EINPROGRESS) == "EINPROGRESS"


def test_requests_domains_and_namespace_flags_have_their_names() -> None:
    assert F.ptrace_request_name(16) == "PTRACE_ATTACH"
    assert F.ptrace_request_name(0) == "PTRACE_TRACEME"
    assert F.ptrace_request_name(0x4206) == "PTRACE_SEIZE"
    assert F.socket_family_name(17) == "AF_PACKET" and F.socket_family_name(10) == "AF_INET6"
    assert F.socket_type_name(3) == "SOCK_RAW"
    assert F.socket_type_name(1 | 0x80000) == "SOCK_STREAM|SOCK_CLOEXEC"
    assert F.render_flags(0x20000 | 0x40000000, F.NAMESPACE_FLAGS) == "CLONE_NEWNS|CLONE_NEWNET"
    assert F.render_flags(4096 | 16384, F.MOUNT_FLAGS) == "MS_BIND|MS_REC"
    assert F.render_mode(0o644) == "0644" and F.render_mode(0) == "0"


def test_addresses_are_read_as_the_kernel_keeps_them() -> None:
    assert ipv4(0x0100007F) == "127.0.0.1"  # 127.0.0.1 in network order, read little-endian
    assert network_port(0x5000) == 80 and network_port(0xBB01) == 443
    loopback = (1).to_bytes(16, "big")
    assert ipv6(int.from_bytes(loopback[:8], "little"), int.from_bytes(loopback[8:], "little")) == "::1"
    mapped = bytes(10) + b"\xff\xff" + bytes([10, 0, 0, 7])
    assert ipv6(int.from_bytes(mapped[:8], "little"), int.from_bytes(mapped[8:], "little")) == "10.0.0.7"
    assert F.decode_c_string([int.from_bytes(b"tmpfs\0\0\0", "little"), 0]) == "tmpfs"


def test_buffers_and_argument_lists_are_decoded() -> None:
    assert decode_buffer("ls\\x00-l\\x00\\xc3\\xa9\\x00") == b"ls\0-l\0\xc3\xa9\0"
    assert split_nul(b"ls\0-l\0caf\xc3\xa9\0") == ["ls", "-l", "café"]
    assert split_nul(b"") == []


@pytest.mark.parametrize(("path", "expected"), [
    ("/var/www/../../etc/shadow", "/etc/shadow"), ("/etc//shadow", "/etc/shadow"),
    ("//etc/./passwd", "/etc/passwd"), ("/../../..", "/"),
])
def test_paths_are_normalized(path: str, expected: str) -> None:
    assert normalize(path) == expected


def test_relative_paths_resolve_against_cwd_or_dirfd(tmp_path: object) -> None:
    resolver = PathResolver()
    assert resolver.resolve("../etc/passwd", "/var", pid=1) == "/etc/passwd"
    directory = os.open("/usr", os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert resolver.resolve("bin/ls", None, os.getpid(), dirfd=directory) == "/usr/bin/ls"
    finally:
        os.close(directory)
    assert resolver.resolve("x", None, pid=2 ** 22 + 12345) == "x"  # no such process: unresolved
    assert resolver.unresolved == 1
    assert split_path("/etc/shadow") == ("/etc", "shadow") and split_path("/x") == ("/", "x")
