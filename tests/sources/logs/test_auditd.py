"""auditd logs into events, checked against go-libaudit's own test logs and expected results."""

from __future__ import annotations

import gzip
import json
from itertools import islice
from pathlib import Path

import pytest
import yaml

from runwatch.event import Event
from runwatch.sources.logs.auditd import AuditAssembler, parse_audit_line
from runwatch.sources.logs.base import LogLineError

DATA = Path(__file__).parents[2] / "data" / "auditd"
ZIRCOLITE_LOG = DATA / "zircolite_audit_10k.log.gz"  # the first 10,000 lines of the benchmark log


def assemble(lines: list[str], assembler: AuditAssembler | None = None) -> list[Event]:
    assembler = assembler or AuditAssembler()
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            events += assembler.feed(parse_audit_line(line, f"log:{number}"))
    return events + assembler.flush_all()


def log_lines(name: str) -> list[str]:
    return (DATA / "testdata" / name).read_text().splitlines()


def test_normal_log_groups_and_falco_fields() -> None:
    events = assemble(log_lines("normal.log"))
    assert [e["audit.sequence"] for e in events] == [58, 59, 60, 61, 62]
    connect, grep = events[0], events[1]
    assert connect["evt.type"] == "connect" and connect["evt.rawres"] == -115
    assert connect["evt.res"] == "EINPROGRESS"
    assert connect["proc.exepath"] == "/usr/bin/python2.7;58d1ccfb (deleted)"  # hex-decoded
    assert (connect["fd.sip"], connect["fd.sport"]) == ("169.254.169.254", 80)
    assert connect["user.loginuid"] == -1 and connect["user.uid"] == 0
    assert grep["evt.type"] == "execve" and grep["evt.res"] == "SUCCESS"
    assert grep["proc.cmdline"] == "grep --color=auto mapping"
    assert (grep["proc.cwd"], grep["audit.key"]) == ("/home/andrew_kroh", "user_commands")
    assert (grep["proc.pid"], grep["proc.ppid"], grep["user.loginuid"]) == (13393, 12041, 1000)
    assert [r["type"] for r in grep["audit.records"]] == ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH"]  # type: ignore[attr-defined]


def test_lost_serials_are_counted_as_go_libaudit_counts_them() -> None:
    assembler = AuditAssembler()
    events = assemble(log_lines("lost_messages.log"), assembler)
    assert [e["audit.sequence"] for e in events] == [49, 59, 60, 61, 62]
    assert assembler.lost_serials == 9  # 50..58


def test_out_of_order_records_still_make_whole_groups() -> None:
    normal = assemble(log_lines("normal.log"))
    shuffled = assemble(log_lines("out_of_order.log"))
    assert sorted(e["audit.sequence"] for e in shuffled) == [58, 59, 60, 61, 62]  # type: ignore[type-var]
    by_serial = {e["audit.sequence"]: e for e in shuffled}
    for event in normal:
        again = by_serial[event["audit.sequence"]]
        assert sorted(map(json.dumps, again["audit.records"])) == \
            sorted(map(json.dumps, event["audit.records"]))  # type: ignore[arg-type]


def test_serials_roll_over_without_loss() -> None:
    assembler = AuditAssembler()
    events = assemble(log_lines("rollover.log"), assembler)
    assert [e["audit.sequence"] for e in events] == [4294967294, 4294967295, 0, 1, 2]
    assert assembler.lost_serials == 0


@pytest.mark.parametrize("log", sorted((DATA / "auparse").glob("*.log")), ids=lambda p: p.name)
def test_every_auparse_line_parses_and_decodes_as_go_libaudit_does(log: Path) -> None:
    golden = json.loads(log.with_suffix(".log.golden").read_text())
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert len(lines) == len(golden)
    for number, (line, expected) in enumerate(zip(lines, golden), 1):
        if expected is None:  # go-libaudit refuses it too (`type=UNKNOWN[1329] msg=?`)
            with pytest.raises(LogLineError, match=f"^{log.name}:{number}: expected"):
                parse_audit_line(line, f"{log.name}:{number}")
            continue
        record = parse_audit_line(line, f"{log.name}:{number}")
        assert record.type.lower() == expected["record_type"].lower() or \
            expected["record_type"].startswith("unknown"), (number, record.type)
        assert record.serial == expected["sequence"]
        data = expected.get("data", {})
        for key in ("acct", "exe", "comm", "cwd", "cmd", "terminal", "op", "hostname", "addr",
                    "name", "grantors", "pid", "ppid"):
            if key in data and key in record.fields and data[key] not in ("?", "unset"):
                assert record.fields[key] == data[key], (log.name, number, key)


def coalesce_cases() -> list[tuple[str, str, dict[str, object]]]:
    cases = []
    for spec in sorted((DATA / "aucoalesce").glob("*.yaml")):
        tests = yaml.safe_load(spec.read_text())["tests"]
        golden = {case["test_name"]: case["event"]
                  for case in json.loads(spec.with_suffix(".json.golden").read_text())}
        cases += [(f"{spec.stem}/{name}", text, golden[name]) for name, text in tests.items()
                  if name in golden]
    return cases


@pytest.mark.parametrize(("name", "text", "expected"), coalesce_cases(), ids=lambda v: v
                         if isinstance(v, str) and "/" in v else "")
def test_coalesced_groups_carry_what_auditbeat_reports(name: str, text: str,
                                                      expected: dict[str, object]) -> None:
    [event] = assemble(text.splitlines())
    assert event["audit.sequence"] == expected["sequence"]
    process = expected.get("process") or {}
    assert isinstance(process, dict)
    for key, field in (("pid", "proc.pid"), ("ppid", "proc.ppid")):
        if key in process:
            assert event[field] == int(process[key]), (name, key)
    if "exe" in process:
        assert event["proc.exepath"] == process["exe"], name
    if "cwd" in process:
        assert event["proc.cwd"] == process["cwd"], name
    if "args" in process:
        assert event["proc.args"] == " ".join(process["args"][1:]), name  # type: ignore[index]
    ids = (expected.get("user") or {}).get("ids", {})  # type: ignore[union-attr]
    if "uid" in ids:
        assert event["user.uid"] == int(ids["uid"]), name
    if "auid" in ids:
        assert event["user.loginuid"] == (-1 if ids["auid"] == "unset" else int(ids["auid"])), name
    syscall = (expected.get("data") or {}).get("syscall")  # type: ignore[union-attr]
    if syscall and "evt.type" in event:
        assert event["evt.type"] == syscall, name
    if expected.get("result") in ("success", "fail") and "evt.res" in event:
        assert (event["evt.res"] == "SUCCESS") == (expected["result"] == "success"), name


def test_a_malformed_line_is_named_and_its_neighbours_still_group() -> None:
    lines = log_lines("normal.log")
    lines.insert(5, "type=SYSCALL msg=audit(garbage")
    assembler, events, errors = AuditAssembler(), [], []
    for number, line in enumerate(lines, 1):
        try:
            events += assembler.feed(parse_audit_line(line, f"audit.log:{number}"))
        except LogLineError as err:
            errors.append(str(err))
    events += assembler.flush_all()
    assert errors == ["audit.log:6: expected 'type=TYPE msg=audit(SECONDS.MILLIS:SERIAL): "
                      "key=value ...'"]
    assert [e["audit.sequence"] for e in events] == [58, 59, 60, 61, 62]


def test_user_space_records_flatten_msg_and_stand_alone() -> None:
    line = ("type=USER_LOGIN msg=audit(1492896301.818:19955): pid=12635 uid=0 auid=4294967295 "
            "ses=4294967295 msg='op=login acct=28696E76616C6964207573657229 exe=\"/usr/sbin/sshd\" "
            "hostname=? addr=179.38.151.221 terminal=sshd res=failed'")
    [event] = AuditAssembler().feed(parse_audit_line(line))
    [record] = event["audit.records"]  # type: ignore[misc]
    assert record["acct"] == "(invalid user)" and record["res"] == "failed"
    assert record["addr"] == "179.38.151.221" and event["proc.exepath"] == "/usr/sbin/sshd"


def test_enriched_format_names_are_kept() -> None:
    line = ('type=SYSCALL msg=audit(1700000000.123:7): arch=c000003e syscall=59 success=yes exit=0 '
            'ppid=1 pid=2 auid=1000 uid=1000 gid=1000 comm="id" exe="/usr/bin/id" key=(null)'
            '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="alice" GID="alice"')
    record = parse_audit_line(line)
    assert (record.fields["SYSCALL"], record.fields["AUID"]) == ("execve", "alice")
    assert record.time_ns == 1700000000_123_000_000


def test_waiting_groups_complete_after_the_wait() -> None:
    assembler = AuditAssembler(wait_ns=2_000_000_000)
    first = log_lines("normal.log")[0]
    assert assembler.feed(parse_audit_line(first), now_ns=10**9) == []
    assert assembler.flush(now_ns=2 * 10**9) == []
    [event] = assembler.flush(now_ns=3 * 10**9)
    assert event["audit.sequence"] == 58


def test_the_benchmark_logs_first_groups_are_five_record_execs() -> None:
    with gzip.open(ZIRCOLITE_LOG, "rt") as log:
        lines = list(islice(log, 10_000))
    events = assemble(lines)
    assert len(events) == 2_000
    assert all([r["type"] for r in e["audit.records"]] ==  # type: ignore[attr-defined]
               ["SYSCALL", "EXECVE", "CWD", "PATH", "PROCTITLE"] for e in events)
    assert all(e["evt.type"] == "execve" and e.get("proc.cmdline") for e in events)
