"""Generalising paths and peers, and collapsing siblings, keep profiles small and stable."""

from __future__ import annotations

import pytest

from runwatch.profiles.generalise import generalise_path, path_matches, peer_matches
from runwatch.profiles.model import Kind, Profile


@pytest.mark.parametrize(("path", "expected"), [
    ("/proc/4711/status", "/proc/*/status"),
    ("/proc/1/fd/3", "/proc/*/fd/*"),
    ("/tmp/tmp.aZ3kq9Lm", "/tmp/tmp.*"),
    ("/var/run/app.12345.pid", "/var/run/app.*.pid"),
    ("/var/lib/docker/containers/3f2a9c01bd77e6a1/config.json", "/var/lib/docker/containers/*/config.json"),
    ("/tmp/sess_0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9", "/tmp/sess_*"),
    ("/etc/nginx/nginx.conf", "/etc/nginx/nginx.conf"),
    ("/usr/lib/python3.11/os.py", "/usr/lib/python3.11/os.py"),
    ("/var/log/app.log", "/var/log/app.log"),
])
def test_per_process_and_random_names_collapse(path: str, expected: str) -> None:
    assert generalise_path(path) == expected


def test_a_wildcard_never_crosses_a_directory() -> None:
    assert path_matches("/var/cache/*", "/var/cache/x")
    assert not path_matches("/var/cache/*", "/var/cache/x/y")
    assert not path_matches("/var/cache/*", "/var/cachex")


def test_peers_match_by_name_address_or_network() -> None:
    assert peer_matches("10.1.2.0/24", "10.1.2.77")
    assert not peer_matches("10.1.2.0/24", "10.1.3.1")
    assert not peer_matches("web@nginx", "10.1.2.3")


def test_a_directory_collapses_once_it_has_more_than_a_few_children() -> None:
    profile = Profile(collapse_after=3)
    for name in ("a", "b", "c"):
        assert profile.learn(Kind.FILE_WRITE, (f"/var/cache/app/{name}",)) == (
            [(f"/var/cache/app/{name}",)], [])
    added, removed = profile.learn(Kind.FILE_WRITE, ("/var/cache/app/d",))
    assert added == [("/var/cache/app/*",)]
    assert sorted(removed) == [("/var/cache/app/a",), ("/var/cache/app/b",), ("/var/cache/app/c",)]
    assert profile.items(Kind.FILE_WRITE) == [("/var/cache/app/*",)]
    assert profile.covers(Kind.FILE_WRITE, ("/var/cache/app/zzz",))
    assert not profile.covers(Kind.FILE_WRITE, ("/var/cache/other",))
    assert profile.learn(Kind.FILE_WRITE, ("/var/cache/app/e",)) == ([], [])


def test_many_external_addresses_on_one_port_become_their_network() -> None:
    profile = Profile(collapse_after=2)
    for host in (1, 2, 3):
        profile.learn(Kind.OUTBOUND, (f"93.184.216.{host}", "443", "tcp"))
    assert profile.items(Kind.OUTBOUND) == [("93.184.216.0/24", "443", "tcp")]
    assert profile.covers(Kind.OUTBOUND, ("93.184.216.200", "443", "tcp"))
    assert not profile.covers(Kind.OUTBOUND, ("93.184.216.200", "80", "tcp"))


def test_workload_peers_and_processes_never_collapse() -> None:
    profile = Profile(collapse_after=1)
    for name in ("a", "b", "c"):
        profile.learn(Kind.OUTBOUND, (f"{name}@img", "80", "tcp"))
        profile.learn(Kind.PROCESS, (f"/bin/{name}", name, "sh"))
    assert len(profile.items(Kind.OUTBOUND)) == 3 and len(profile.items(Kind.PROCESS)) == 3


def test_a_learned_syscall_covers_its_equivalents_only() -> None:
    profile = Profile()
    profile.learn(Kind.SYSCALL, ("poll",))
    profile.learn(Kind.SYSCALL, ("socket",))
    assert profile.covers(Kind.SYSCALL, ("epoll_pwait",))
    assert profile.learn(Kind.SYSCALL, ("ppoll",)) == ([], [])
    assert not profile.covers(Kind.SYSCALL, ("ptrace",))
