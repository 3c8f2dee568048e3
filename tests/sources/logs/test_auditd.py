"""auditd logs into events, checked against go-libaudit's own test logs and the results its
parser (auparse), reassembler and coalescer expect (tests/data/auditd/SOURCE.txt), and against
the generator of Zircolite's benchmark log."""

from __future__ import annotations

import errno
import gzip
import json
import random
import signal
from datetime import datetime, timezone
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
import yaml

from runwatch.event import Event
from runwatch.profiles.syscall_table import AARCH64_SYSCALL_NAMES, SYSCALL_NAMES
from runwatch.sources.logs.auditd import AuditAssembler, AuditdDecoder, decode_sockaddr, \
    parse_audit_line
from runwatch.sources.logs.base import LogLineError

DATA = Path(__file__).parents[2] / "data" / "auditd"
ZIRCOLITE_LOG = DATA / "zircolite_audit_10k.log.gz"  # the first 10,000 lines of the benchmark log
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ARCHES = {"x86_64": "c000003e", "aarch64": "c00000b7", "i386": "40000003"}  # AUDIT_ARCH_*
SYSCALLS = {"x86_64": SYSCALL_NAMES, "aarch64": AARCH64_SYSCALL_NAMES}
UNSET = ("4294967295", "-1")  # what go-libaudit writes as "unset"
DROPPED_BY_GO_LIBAUDIT = ("", "?", "?,", "(null)")  # auparse extractKeyValuePairs skips them


def assemble(lines: list[str], assembler: AuditAssembler | None = None,
             name: str = "audit.log") -> list[Event]:
    assembler = assembler or AuditAssembler()
    events: list[Event] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            events += assembler.feed(parse_audit_line(line, f"{name}:{number}"))
    return events + assembler.flush_all()


def records(event: Event) -> list[dict[str, str]]:
    value = event["audit.records"]
    assert isinstance(value, list)
    return value


def log_lines(name: str) -> list[str]:
    return (DATA / "testdata" / name).read_text().splitlines()


def stamp_ns(stamp: str) -> int:
    """go-libaudit's '2016-01-03T00:37:51.394Z' in ns, computed apart from the parser."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment - EPOCH) // datetime.resolution * 1000


# -- auparse: every record of its test logs, value by value ---------------------------------

def auparse_cases() -> list[tuple[str, int, str, dict[str, Any] | None]]:
    cases = []
    for log in sorted((DATA / "auparse").glob("*.log")):
        lines = [line for line in log.read_text().splitlines() if line.strip()]
        golden = json.loads(log.with_suffix(".log.golden").read_text())
        assert len(lines) == len(golden), log.name
        cases += [(log.name, number, line, expected)
                  for number, (line, expected) in enumerate(zip(lines, golden), 1)]
    return cases


def check_against_auparse(ours: dict[str, str], data: dict[str, str]) -> set[str]:
    """Every value go-libaudit read from a record, compared with ours; returns the keys of ours
    that it accounted for. Where go-libaudit derives or renames a value (auparse.go enrichData),
    the raw value must give that derivation."""
    used = {"type"}
    for key, value in data.items():
        if key.startswith(("subj_", "obj_")):  # SELinux contexts split: user:role:domain:level:cat
            raw_key = key.partition("_")[0]
            part = ("user", "role", "domain", "level", "category").index(key.partition("_")[2])
            assert ours[raw_key].split(":", 4)[part] == value, key
            used.add(raw_key)
        elif key == "result":  # from success= or res=: yes, 1 or suc... is success
            raw = ours.get("success", ours.get("res", ""))
            assert ("success" if raw.lower() in ("yes", "1") or raw.lower().startswith("suc")
                    else "fail") == value
            used |= {"success", "res"}
        elif key in ("seresult", "seperms"):  # SELinux AVC text, not key=value: not kept as keys
            continue
        elif key in ("old_auid", "new_auid"):  # RHEL 5/6 LOGIN 'old auid=... new auid=...'
            raw_key = "old-auid" if key == "old_auid" else "auid"
            assert ours[raw_key] == value
            used.add(raw_key)
        elif value == "unset" and key in ("auid", "old-auid", "ses"):
            assert ours[key] in UNSET
            used.add(key)
        elif key == "arch":
            assert ours["arch"] == ARCHES[value]
            used.add(key)
        elif key == "syscall" and ours["syscall"] != value:
            arch = data["arch"]
            if arch in SYSCALLS:
                assert SYSCALLS[arch][int(ours["syscall"])] == value
            else:
                assert arch == "i386"  # 32-bit x86 calls are not named (only x86_64, aarch64)
            used.add(key)
        elif key == "exit" and ours["exit"] != value:
            assert errno.errorcode[-int(ours["exit"])] == value
            used.add(key)
        elif key == "sig" and ours["sig"] != value:
            assert signal.Signals(int(ours["sig"])).name == value
            used.add(key)
        else:
            assert ours.get(key) == value, key
            used.add(key)
    return used


@pytest.mark.parametrize(("log", "number", "line", "expected"), auparse_cases(),
                         ids=lambda value: value if isinstance(value, str) and value.endswith(
                             ".log") else str(value) if isinstance(value, int) else "")
def test_every_auparse_line_reads_as_go_libaudit_reads_it(log: str, number: int, line: str,
                                                          expected: dict[str, Any] | None) -> None:
    where = f"{log}:{number}"
    if expected is None:  # go-libaudit refuses it too: `type=UNKNOWN[1329] msg=?`
        with pytest.raises(LogLineError, match=f"^{where}: not an audit record: expected"):
            parse_audit_line(line, where)
        return
    record = parse_audit_line(line, where)
    assert record.type.lower() == expected["record_type"]
    assert record.serial == expected["sequence"]
    assert record.time_ns == stamp_ns(expected["@timestamp"])
    ours, data = record.fields, dict(expected["data"])
    assert ours["type"] == record.type
    if record.type == "SOCKADDR":  # go-libaudit replaces saddr by what it holds
        decoded = decode_sockaddr(ours["saddr"])
        assert decoded is not None
        family = {1: "unix", 2: "ipv4", 10: "ipv6", 16: "netlink"}.get(decoded.family,
                                                                      str(decoded.family))
        assert family == data.pop("family")
        assert decoded.address == data.pop("addr", None)
        assert decoded.port == (int(data.pop("port")) if "port" in data else None)
        assert decoded.path == data.pop("path", None)
        data.pop("saddr", None)  # kept raw when the family is not decoded
        ours = {key: value for key, value in ours.items() if key != "saddr"}
    used = check_against_auparse(ours, data)
    unaccounted = {key: value for key, value in ours.items()
                   if key not in used and value not in DROPPED_BY_GO_LIBAUDIT}
    assert set(unaccounted) <= {"key"}, unaccounted  # go-libaudit moves the rule key to tags


def test_hex_values_are_decoded_and_quoted_ones_kept() -> None:
    lines = (DATA / "auparse" / "audit-rhel7.log").read_text().splitlines()
    cwd = parse_audit_line(lines[10]).fields  # cwd=2F746D702F6120622063
    assert cwd["cwd"] == "/tmp/a b c"
    jq = parse_audit_line(lines[47]).fields  # a2 is a JSON document with newlines
    assert (jq["a0"], jq["a1"]) == ("jq", ".") and jq["a2"].startswith('{\n        "dev": "08:01",')
    tty = parse_audit_line(lines[42]).fields  # TTY keystrokes: control characters kept
    assert tty["data"].startswith("eh\x7f\x7fecho test\rvim /etc/pam.d/password-auth-ac\r")
    login = parse_audit_line((DATA / "auparse" / "audit-ubuntu16.log").read_text().splitlines()[0])
    assert login.type == "USER_LOGIN" and login.fields["acct"] == "(invalid user)"


def test_old_pam_records_read_like_new_ones() -> None:
    """test2.log: RHEL 5 'PAM: setcred acct=root : exe="/usr/sbin/crond" (hostname=?, addr=?,
    terminal=cron res=success)' and 'old auid=4294967295 new auid=0'."""
    lines = (DATA / "auparse" / "test2.log").read_text().splitlines()
    setcred = next(parse_audit_line(line).fields for line in lines if "type=CRED_DISP" in line)
    assert (setcred["acct"], setcred["exe"], setcred["terminal"], setcred["res"]) == \
        ("root", "/usr/sbin/crond", "cron", "success")
    assert setcred["hostname"] == "?" and setcred["addr"] == "?"
    [event] = assemble([line for line in lines if "type=LOGIN" in line])
    assert event["user.loginuid"] == 0 and records(event)[0]["old-auid"] == "4294967295"


# -- aucoalesce: whole groups, and what Auditbeat reports for them -------------------------

def coalesce_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = []
    for spec in sorted((DATA / "aucoalesce").glob("*.yaml")):
        tests = yaml.safe_load(spec.read_text())["tests"]
        golden = {case["test_name"]: case["event"]
                  for case in json.loads(spec.with_suffix(".json.golden").read_text())}
        assert set(tests) == set(golden), spec.name
        cases += [(f"{spec.stem}/{name}", text, golden[name]) for name, text in tests.items()]
    return cases


def coalesce_lines(text: str) -> list[str]:
    # log_format=ENRICHED separates the names with the byte 0x1D, which YAML cannot hold (it is
    # not c-printable): the ubuntu-21.10 cases lost it, so it is put back where auditd writes it
    return [line.replace("key=(null)ARCH=", "key=(null)\x1dARCH=")
            for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(("name", "text", "expected"), coalesce_cases(),
                         ids=lambda value: value if isinstance(value, str) and "=" not in value
                         else "")
def test_each_coalesced_group_carries_what_auditbeat_reports(name: str, text: str,
                                                            expected: dict[str, Any]) -> None:
    lines = coalesce_lines(text)
    [event] = assemble(lines, name=name)
    assert event["evt.source"] == "auditd"
    assert event["audit.sequence"] == expected["sequence"]
    assert event["evt.time"] == stamp_ns(expected["@timestamp"])
    assert len(records(event)) == sum("type=EOE " not in line for line in lines)
    assert str(event["audit.type"]).lower() == expected["record_type"]

    process, data = expected.get("process") or {}, expected.get("data") or {}
    for key, field in (("pid", "proc.pid"), ("ppid", "proc.ppid")):
        assert event.get(field) == (int(process[key]) if key in process else None), key
    assert event.get("proc.exepath") == process.get("exe")
    assert event.get("proc.name") == process.get("name")
    assert event.get("proc.cwd") == (process["cwd"].rstrip("/") + "/" if "cwd" in process
                                     else None)  # Falco writes the cwd with its final '/'
    if "args" in process:
        argv = process["args"]
        assert (event["proc.exe"], event["proc.args"]) == (argv[0], " ".join(argv[1:]))
        assert event["proc.cmdline"] == " ".join([process["name"], *argv[1:]])
    titles = [record["proctitle"] for record in records(event) if record["type"] == "PROCTITLE"]
    assert titles == ([process["title"]] if "title" in process else [])

    ids = (expected.get("user") or {}).get("ids", {})
    uid, gid = ids.get("euid", ids.get("uid")), ids.get("egid", ids.get("gid"))  # Falco: effective
    assert event.get("user.uid") == (int(uid) if uid is not None else None)
    assert event.get("group.gid") == (int(gid) if gid is not None else None)
    auid = ids.get("auid")
    assert event.get("user.loginuid") == (None if auid is None else -1 if auid == "unset"
                                          else int(auid))

    assert event.get("evt.type") == data.get("syscall")
    assert event.get("evt.failed") == {"success": False, "fail": True}.get(expected["result"])
    if event.get("evt.failed") is False:
        assert event["evt.res"] == "SUCCESS"
    if "ubuntu-21.10" in name:  # its golden tags come from the 0x1D YAML lost (key=(null)ARCH=...)
        [syscall] = [record for record in records(event) if record["type"] == "SYSCALL"]
        assert "audit.key" not in event and syscall["UID"] in ("root", "_chrony")
    else:  # go-libaudit keeps what follows '=' in a key ('key=net' -> net)
        keys = str(event["audit.key"]).split(",") if "audit.key" in event else None
        assert ([key.rpartition("=")[2] for key in keys] if keys else None) == expected.get("tags")

    file = expected.get("file")
    named = [record["name"] for record in records(event) if record["type"] == "PATH"
             and record.get("nametype", record.get("objtype")) not in ("PARENT", "UNKNOWN")
             and record["name"] != "(null)"]
    if str(event.get("evt.type")).startswith("execve") or "evt.type" not in event:
        assert "fd.name" not in event  # the program is proc.exepath; Falco's exec has no fd
    elif named:  # the first PATH that is not a parent directory (these are all absolute)
        assert event["fd.name"] == event["fs.path.name"] == named[0]
        if file and file["path"] in named:  # go-libaudit may pick a parent (mknod, objtype=)
            assert event["fd.name"] == file["path"]
    elif event.get("fd.type") != "unix":
        assert "fd.name" not in event and not file
    for side, ip, port in (("destination", "fd.sip", "fd.sport"), ("source", "fd.cip", "fd.cport")):
        address = expected.get(side)
        if address is not None and "evt.type" in event:
            assert (event[ip], event[port]) == (address["ip"], int(address["port"]))
        elif address is not None:  # a user-space record: where the login came from, as logged
            assert records(event)[0]["addr"] == address["ip"]
        else:
            assert ip not in event


def test_a_stream_with_eoe_hands_each_group_over_at_its_end() -> None:
    spec = DATA / "aucoalesce" / "ubuntu-17.04-linux-4.10.0.yaml"
    cases = yaml.safe_load(spec.read_text())["tests"]
    assembler, handed = AuditAssembler(), []
    for text in cases.values():
        lines = coalesce_lines(text)
        for number, line in enumerate(lines, 1):
            events = assembler.feed(parse_audit_line(line))
            # a kernel group ends at its EOE (or its PROCTITLE before an EOE was ever seen)
            if events:
                assert line.startswith(("type=EOE", "type=PROCTITLE", "type=USER_",
                                        "type=CRED_")), line
                handed += events
    handed += assembler.flush_all()
    assert [event["audit.sequence"] for event in handed] == [
        int(text.split(":", 2)[1].split(")")[0]) for text in cases.values()]
    assert assembler.late_records == 0 and assembler.evicted_groups == 0


# -- the reassembler's own test logs (go-libaudit reassembler_test.go) ----------------------

REASSEMBLED = {  # file: ((sequence, record count) per event, lost), as TestReassembler expects
    "normal.log": ([(58, 2), (59, 5), (60, 5), (61, 4), (62, 1)], 0),
    "lost_messages.log": ([(49, 2), (59, 5), (60, 5), (61, 4), (62, 1)], 9),
    "out_of_order.log": ([(58, 2), (59, 5), (60, 5), (61, 4), (62, 1)], 0),
    "rollover.log": ([(4294967294, 1), (4294967295, 1), (0, 1), (1, 1), (2, 1)], 0),
}


@pytest.mark.parametrize("log", sorted(REASSEMBLED))
def test_groups_and_lost_serials_are_what_go_libaudit_expects(log: str) -> None:
    assembler = AuditAssembler()
    events = assemble(log_lines(log), assembler)
    expected_events, lost = REASSEMBLED[log]
    assert [(e["audit.sequence"], len(records(e))) for e in events] == expected_events
    assert assembler.lost_serials == lost


def test_out_of_order_records_join_the_same_groups_as_in_order() -> None:
    def by_serial(events: list[Event]) -> dict[object, list[str]]:
        return {e["audit.sequence"]: sorted(map(json.dumps, records(e))) for e in events}

    assert by_serial(assemble(log_lines("out_of_order.log"))) == \
        by_serial(assemble(log_lines("normal.log")))


def test_normal_log_gives_falco_fields_of_connect_exec_and_accept() -> None:
    connect, grep, cat, unix, accept = assemble(log_lines("normal.log"))
    assert (connect["evt.type"], connect["evt.rawres"], connect["evt.res"]) == \
        ("connect", -115, "EINPROGRESS")
    assert connect["proc.exepath"] == "/usr/bin/python2.7;58d1ccfb (deleted)"  # hex-decoded exe
    assert (connect["fd.sip"], connect["fd.sport"], connect["fd.num"]) == ("169.254.169.254", 80, 6)
    assert (grep["evt.type"], grep["proc.cmdline"], grep["proc.cwd"]) == \
        ("execve", "grep --color=auto mapping", "/home/andrew_kroh/")
    assert (grep["audit.key"], grep["proc.pid"], grep["proc.ppid"]) == \
        ("user_commands", 13393, 12041)
    assert [r["type"] for r in records(grep)] == ["SYSCALL", "EXECVE", "CWD", "PATH", "PATH"]
    assert cat["proc.args"] == "securitybeat"
    assert (unix["fd.type"], unix["fd.name"]) == ("unix", "public/pickup")  # sockaddr's path
    assert (accept["evt.type"], accept["fd.num"], accept["proc.ppid"]) == ("accept", 11, 1229)


def test_nodes_are_grouped_and_counted_apart() -> None:
    lines = log_lines("normal.log")
    mixed = [f"node={node} {line}" for line in lines for node in ("web1", "web2")]
    assembler = AuditAssembler()
    events = assemble(mixed, assembler)
    assert sorted((e["evt.hostname"], e["audit.sequence"]) for e in events) == \
        sorted((node, serial) for node in ("web1", "web2") for serial in range(58, 63))
    assert all(len(records(e)) == n for e, n in zip(
        [e for e in events if e["evt.hostname"] == "web1"], (2, 5, 5, 4, 1)))
    assert assembler.lost_serials == 0


# -- bad lines, waiting and memory bounds -------------------------------------------------

def test_malformed_lines_are_named_and_their_neighbours_still_group() -> None:
    lines = log_lines("normal.log")
    lines.insert(3, "type=EXECVE msg=audit(1492037291.036:59 argc=3")  # inside group 59
    lines.insert(8, "type=SYSCALL msg=audit(1492037291.036:99999999999): arch=c000003e")
    lines.insert(12, "Apr 12 23:01:31 host kernel: audit: backlog limit exceeded")
    decoder, events, errors = AuditdDecoder(), [], []
    for number, line in enumerate(lines, 1):
        try:
            events += decoder.decode(line, f"audit.log:{number}")
        except LogLineError as err:
            errors.append(str(err))
    events += decoder.assembler.flush_all()
    assert errors == [
        "audit.log:4: bad msg=audit(...) in 'type=EXECVE msg=audit(1492037291.036:59 argc=3': "
        "expected msg=audit(SECONDS.MILLIS:SERIAL):",
        "audit.log:9: bad msg=audit(1492037291.036:99999999999): expected milliseconds and a "
        "32-bit serial",
        "audit.log:13: not an audit record: expected 'type=TYPE msg=audit(SECONDS.MILLIS:SERIAL):"
        " key=value ...', got 'Apr 12 23:01:31 host kernel: audit: backlog limit exceeded'"]
    assert [(e["audit.sequence"], len(records(e))) for e in events] == \
        REASSEMBLED["normal.log"][0]


def test_groups_wait_for_their_records_until_flushed() -> None:
    assembler = AuditAssembler(wait_ns=2_000_000_000)
    for line in log_lines("normal.log"):
        assert assembler.feed(parse_audit_line(line), now_ns=10**9) == []
    assert assembler.flush(now_ns=2_999_999_999) == []
    assert [e["audit.sequence"] for e in assembler.flush(now_ns=3 * 10**9)] == [58, 59, 60, 61, 62]
    assert assembler.flush_all() == []


def test_later_groups_complete_earlier_ones_in_logs_without_eoe() -> None:
    lines = log_lines("normal.log")
    assembler = AuditAssembler(later_serials=2)
    handed = {}
    for number, line in enumerate(lines, 1):
        for event in assembler.feed(parse_audit_line(line)):
            handed[event["audit.sequence"]] = number
    assert handed == {58: 8, 59: 13, 60: 17}  # on the first record of serial + 2


def test_too_many_pending_groups_are_handed_over_oldest_first_and_nothing_is_lost() -> None:
    lines = log_lines("out_of_order.log")
    assembler = AuditAssembler(max_pending=1)
    events = assemble(lines, assembler)
    assert sum(len(records(e)) for e in events) == len(lines)
    # room for one group: each is handed over when the next starts, and a record of a group
    # already handed over (60's last PATH, 61's SOCKADDR and CWD, 61's PATH) starts its own
    assert [(e["audit.sequence"], len(records(e))) for e in events] == \
        [(58, 2), (59, 5), (60, 4), (61, 1), (60, 1), (61, 2), (62, 1), (61, 1)]
    assert (assembler.late_records, assembler.evicted_groups) == (3, 7)


def test_user_space_records_are_whole_events_at_once() -> None:
    spec = yaml.safe_load((DATA / "aucoalesce" / "rhel-7-linux-3.10.0.yaml").read_text())
    [line] = spec["tests"]["USER_LOGIN"].strip().splitlines()
    [event] = AuditAssembler().feed(parse_audit_line(line))
    [record] = records(event)
    assert (record["acct"], record["addr"], record["res"], record["terminal"]) == \
        ("root", "46.160.144.250", "failed", "ssh")
    assert "msg" not in record and event["evt.failed"] is True and "evt.res" not in event
    assert event["proc.exepath"] == "/usr/sbin/sshd" and "evt.type" not in event


def test_enriched_names_become_user_and_group_names() -> None:
    spec = yaml.safe_load((DATA / "aucoalesce" / "ubuntu-21.10-linux-5.13.yaml").read_text())
    text = spec["tests"]["AUDIT_TIME_ADJNTPVAL chronyd freq"]
    [event] = assemble(coalesce_lines(text))
    syscall = records(event)[1]
    assert (syscall["key"], syscall["SYSCALL"], syscall["AUID"]) == \
        ("(null)", "clock_adjtime", "unset")
    assert (event["user.name"], event["group.name"]) == ("_chrony", "_chrony")
    assert "user.loginname" not in event  # AUID="unset" names nobody


def test_terminals_are_falco_device_numbers() -> None:
    """proc.tty as the kernel encodes it: Unix98 pty slaves are major 136 (Linux
    Documentation/admin-guide/devices.txt), so pts1 is (136 << 8) | 1."""
    spec = yaml.safe_load((DATA / "aucoalesce" / "ubuntu-17.04-linux-4.10.0.yaml").read_text())
    [event] = assemble(coalesce_lines(spec["tests"]["rename syscall"]))
    assert records(event)[0]["tty"] == "pts1" and event["proc.tty"] == (136 << 8) | 1
    [daemon] = assemble(log_lines("normal.log")[:2])
    assert records(daemon)[0]["tty"] == "(none)" and daemon["proc.tty"] == 0


def test_the_decoder_skips_blank_lines_and_flushes_by_the_wall_clock() -> None:
    decoder = AuditdDecoder(wait_s=0.0)
    assert decoder.decode("\n", "audit.log:1") == []
    assert decoder.decode(log_lines("normal.log")[0], "audit.log:2") == []
    [event] = decoder.flush(now_ns=2**62)
    assert event["audit.sequence"] == 58


# -- Zircolite's benchmark log: 2,000 exec groups, as its generator wrote them --------------

def generated_groups(count: int) -> list[tuple[int, str, list[str], int, int]]:
    """(serial, audit time, argv, pid, inode) of the first groups, drawing from the seeded
    generator's random numbers in its order (anchors/zircolite-bench/gen_auditd.py)."""
    rng = random.Random(42)
    benign = [("ls", ["-la"]), ("cat", ["/var/log/app.log"]), ("ps", ["aux"]),
              ("grep", ["-r", "error", "/srv"]), ("python3", ["/app/main.py"]),
              ("sh", ["-c", "true"]), ("curl", ["-s", "http://127.0.0.1:8080/health"]),
              ("date", []), ("sleep", ["1"]), ("find", ["/tmp", "-mtime", "+1"])]
    bad = [("getcap", ["-r", "/"]), ("chattr", ["-i", "/etc/passwd"]), ("uname", ["-a"]),
           ("base64", ["-d", "/tmp/x"]), ("systemctl", ["restart", "cron"]),
           ("tcpdump", ["-i", "eth0"])]
    ts, serial, groups = 1700000000.0, 1000, []
    for _ in range(count):
        serial += 1
        ts += 0.003
        cmd, args = rng.choice(bad) if rng.random() < 0.001 else rng.choice(benign)
        pid = rng.randint(1000, 60000)
        inode = rng.randint(1, 10**6)
        groups.append((serial, f"{ts:.3f}", [cmd, *args], pid, inode))
    return groups


def test_the_benchmark_logs_first_10000_lines_are_2000_exec_groups_as_generated() -> None:
    with gzip.open(ZIRCOLITE_LOG, "rt") as log:
        lines = list(islice(log, 10_000))
    assembler = AuditAssembler()
    events = assemble(lines, assembler)
    expected = generated_groups(2_000)
    assert len(events) == len(expected) == 2_000
    for event, (serial, stamp, argv, pid, inode) in zip(events, expected):
        seconds, millis = stamp.split(".")
        assert event["audit.sequence"] == serial
        assert event["evt.time"] == int(seconds) * 10**9 + int(millis) * 10**6
        assert [r["type"] for r in records(event)] == ["SYSCALL", "EXECVE", "CWD", "PATH",
                                                        "PROCTITLE"]
        assert (event["evt.type"], event["evt.res"], event["audit.key"]) == ("execve", "SUCCESS",
                                                                           "exec")
        assert (event["proc.pid"], event["proc.ppid"], event["proc.name"]) == \
            (pid, pid - 1, argv[0])
        assert event["proc.exepath"] == f"/usr/bin/{argv[0]}"
        assert event["proc.cmdline"] == " ".join(argv) and event["proc.args"] == " ".join(argv[1:])
        assert (event["user.uid"], event["user.loginuid"], event["proc.cwd"]) == (0, 1000, "/root/")
        execve, path, title = records(event)[1], records(event)[3], records(event)[4]
        assert execve == {"type": "EXECVE", "argc": str(len(argv)),
                          **{f"a{i}": arg for i, arg in enumerate(argv)}}
        assert (path["name"], path["inode"]) == (f"/usr/bin/{argv[0]}", str(inode))
        assert title["proctitle"] == " ".join(argv)  # hex, NUL-separated argv
    bad = {"getcap", "chattr", "uname", "base64", "systemctl", "tcpdump"}
    assert sum(1 for _, _, argv, _, _ in expected if argv[0] in bad) == \
        sum(1 for e in events if e["proc.name"] in bad)
    assert assembler.lost_serials == 0 and assembler.late_records == 0
