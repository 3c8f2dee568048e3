"""The generated bpftrace program: what it attaches, and the in-kernel open filter's arithmetic."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from runwatch.config import EbpfSourceConfig
from runwatch.enrich.process_tree import ProcessTree
from runwatch.sources.ebpf import EbpfSource
from runwatch.sources.ebpf.preflight import Environment
from runwatch.sources.ebpf.catalog import SUPPORTED_TYPES, SYSCALLS
from runwatch.sources.ebpf.program import (ProgramOptions, _prefix_test, _traversal_tests,
                                           build_program)

ALL_TRACEPOINTS = frozenset(spec.tracepoint_name for spec in SYSCALLS.values()) | {
    "clone", "clone3", "fork", "vfork"}


def attached(text: str) -> set[str]:
    return set(re.findall(r"tracepoint:syscalls:sys_exit_(\w+)", text))


def test_only_the_wanted_types_and_the_sensors_own_are_attached() -> None:
    program = build_program(frozenset({"connect"}), ProgramOptions(available_tracepoints=ALL_TRACEPOINTS))
    assert attached(program.text) == {"connect", "execve", "execveat", "chdir", "fchdir",
                                      "clone", "clone3", "fork", "vfork"}
    assert "sched_process_exec" in program.text and "sched_process_exit" in program.text
    assert program.event_types == {"connect", "execve", "execveat", "chdir", "fchdir"}


def test_unknown_event_types_are_ignored() -> None:
    program = build_program(frozenset({"read", "no_such_call"}), ProgramOptions())
    assert "read" not in program.event_types and "sys_exit_read " not in program.text


def test_syscalls_without_a_tracepoint_are_reported_untraced_by_default() -> None:
    available = ALL_TRACEPOINTS - {"init_module", "finit_module"}
    program = build_program(frozenset({"init_module", "finit_module", "openat"}),
                            ProgramOptions(available_tracepoints=available))
    assert program.unavailable == ("finit_module", "init_module") and program.raw_fallback == ()
    assert "raw_syscalls" not in program.text and "finit_module" not in program.event_types
    assert "openat" in program.event_types


def test_the_sensor_says_what_it_cannot_trace_in_health_and_in_the_log(
        caplog: pytest.LogCaptureFixture) -> None:
    """Found only at start, after the banner: the log line is what the terminal shows."""
    source = EbpfSource(EbpfSourceConfig(), ProcessTree(), frozenset({"finit_module", "openat"}))
    environment = Environment("bpftrace", Path("/sys/kernel/tracing"),
                              ALL_TRACEPOINTS - {"init_module", "finit_module"}, 16384)
    with caplog.at_level(logging.WARNING):
        source.build(environment)
    assert any("not traced" in text and "finit_module" in text
               for text in source.status.limitations)
    assert any(record.levelno == logging.WARNING and "finit_module" in record.getMessage()
               for record in caplog.records)


def test_syscalls_without_a_tracepoint_fall_back_to_raw_syscalls_by_number() -> None:
    available = ALL_TRACEPOINTS - {"init_module", "finit_module"}
    program = build_program(frozenset({"init_module", "finit_module", "openat"}),
                            ProgramOptions(available_tracepoints=available,
                                           raw_syscalls_fallback=True))
    assert program.raw_fallback == ("finit_module", "init_module") and program.unavailable == ()
    assert "tracepoint:raw_syscalls:sys_exit /(args->id == 313 || args->id == 175)" in program.text
    assert "sys_exit_finit_module" not in program.text and "sys_exit_openat" in program.text


def test_every_supported_type_generates_a_probe() -> None:
    program = build_program(SUPPORTED_TYPES, ProgramOptions(available_tracepoints=ALL_TRACEPOINTS))
    expected = {spec.tracepoint_name for spec in SYSCALLS.values()} | {"clone", "clone3", "fork",
                                                                        "vfork"}
    assert attached(program.text) == expected


def test_each_string_is_printed_by_its_own_probe_before_the_tuple() -> None:
    program = build_program(frozenset({"linkat"}), ProgramOptions(available_tracepoints=ALL_TRACEPOINTS))
    probes = [block for block in program.text.split("\n\n") if "sys_exit_linkat" in block]
    assert len(probes) == 3  # oldpath, newpath, then the tuple
    assert "print((8, tid, 11, str(uptr($regs->si)" in probes[0]  # tuple index of oldpath
    assert "print((8, tid, 13, str(uptr($regs->r10)" in probes[1]
    assert f"print(({SYSCALLS['linkat'].kind}, nsecs" in probes[2] and "str(" not in probes[2]


def test_ignored_pids_are_left_out_of_every_probe() -> None:
    program = build_program(frozenset({"openat"}), ProgramOptions(ignore_pids=("$1", "4242"),
                                                                  available_tracepoints=ALL_TRACEPOINTS))
    for probe in re.split(r"\n(?=tracepoint:)", program.text):
        header = probe.partition("\n")[0]
        if "sched_process_exit" not in header and "@open_passed[tid]" not in header:
            assert "pid != $1 && pid != 4242" in probe, header
    first_open = program.text[program.text.index("sys_exit_openat "):]
    assert first_open.startswith("sys_exit_openat /1/"), "an open's filter runs before pid compares"


def test_an_open_is_filtered_once_and_the_tuple_follows_the_decision() -> None:
    """The filter is the open's cost: the first program runs it, the tuple's only reads its mark."""
    program = build_program(frozenset({"openat"}), ProgramOptions(available_tracepoints=ALL_TRACEPOINTS))
    probes = [block for block in re.split(r"\n(?=tracepoint:)", program.text)
              if block.startswith("tracepoint:syscalls:sys_exit_openat ")]
    assert len(probes) == 2
    assert probes[0].count("$pass = (uint64)(") == 1 and "@open_passed[tid] = 1;" in probes[0]
    assert probes[1].startswith("tracepoint:syscalls:sys_exit_openat /@open_passed[tid]/")
    assert "$pass" not in probes[1] and "delete(@open_passed[tid]);" in probes[1]
    unfiltered = build_program(frozenset({"openat"}), ProgramOptions(
        available_tracepoints=ALL_TRACEPOINTS, filter_open_reads=False))
    assert "@open_passed" not in unfiltered.text


def evaluate(test: str, path: bytes) -> bool:
    """Run a generated filter test the way the BPF program would, on the path's 64-bit words."""
    padded = path + b"\0" * 64
    words = {f"$w{i}": int.from_bytes(padded[8 * i:8 * i + 8], "little") for i in range(8)}
    expression = re.sub(r"\$w\d", lambda m: str(words[m.group(0)]), test)
    return bool(eval(expression.replace("||", " or ").replace("&&", " and ")))  # noqa: S307


@pytest.mark.parametrize(("prefix", "path", "expected"), [
    ("/etc/", b"/etc/shadow", True), ("/etc/", b"/etc", False), ("/etc/", b"/usr/etc/x", False),
    ("/root/", b"/root/.ssh/id_rsa", True), ("/run/secrets/", b"/run/secrets/token", True),
    ("/var/run/secrets/", b"/var/run/secrets/kubernetes.io/token", True),
    ("/var/run/secrets/", b"/var/run/secretz/x", False),
    ("/proc/", b"/proc/1/environ", True), ("/proc/", b"/procs", False),
])
def test_prefix_tests_match_exactly_the_paths_that_start_with_the_prefix(
        prefix: str, path: bytes, expected: bool) -> None:
    assert evaluate(_prefix_test(prefix), path) is expected


@pytest.mark.parametrize(("path", "expected"), [
    (b"../../etc/shadow", True), (b"/var/www/../../etc/shadow", True),
    (b"/srv/app/static/../x", True), (b"/a/b/c/d/e/f/g/h/i/j/k/l/m/../x", True),  # ../ at 27
    (b"/usr/lib/x86_64-linux-gnu/libc.so.6", False), (b"/tmp/..hidden/x", False),
    (b"/etc/..", False),  # no slash after: not a traversal into anything
])
def test_the_traversal_test_finds_dot_dot_slash_at_any_offset(path: bytes, expected: bool) -> None:
    tests = _traversal_tests(4)
    assert any(evaluate(test, path) for test in tests) is expected
