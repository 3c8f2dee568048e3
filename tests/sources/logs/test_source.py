"""The log source over real files: events with their file, counts per file, and resuming after a
restart without losing or repeating lines."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from runwatch.config import LogFileConfig, LogsSourceConfig
from runwatch.event import Event
from runwatch.sources.logs.positions import PositionFile
from runwatch.sources.logs.source import LogSource, log_files

SETTINGS = LogsSourceConfig(poll_interval_s=0.02, well_known_files=False)


async def collect(source: LogSource, count: int, timeout_s: float = 10.0) -> list[Event]:
    """The first `count` events, then the source is stopped as the daemon stops it."""
    events: list[Event] = []

    async def run() -> None:
        async with contextlib.aclosing(source.events()) as batches:
            async for batch in batches:
                events.extend(batch)
                if len(events) >= count:
                    return

    await asyncio.wait_for(run(), timeout_s)
    return events


def write(path: Path, *lines: str) -> None:
    with path.open("a") as file:
        file.writelines(line + "\n" for line in lines)


async def test_syslog_lines_become_events_naming_their_file_and_service(tmp_path: Path) -> None:
    auth = tmp_path / "auth.log"
    write(auth, "Nov 23 03:47:25 web1 sshd[812]: Accepted publickey for root from 10.0.0.9")
    source = LogSource(SETTINGS, [LogFileConfig(path=str(auth), format="syslog", service="auth",
                                                start_at="beginning")])
    [event] = await collect(source, 1)
    assert event["log.path"] == str(auth)
    assert (event["log.program"], event["log.service"]) == ("sshd", "auth")
    assert source.status.events_total == 1
    assert source.status.details[str(auth)] == {
        "format": "syslog", "lines": 1, "events": 1, "bad_lines": 0, "cut_lines": 0,
        "rotations": 0, "truncations": 0, "missing": False}


async def test_a_restart_resumes_after_the_last_line_read(tmp_path: Path) -> None:
    syslog = tmp_path / "syslog"
    positions = PositionFile(tmp_path / "data" / "log-positions.json")
    entry = LogFileConfig(path=str(syslog), format="syslog", start_at="beginning")
    write(syslog, "Nov 23 03:00:01 h a: one", "Nov 23 03:00:02 h a: two")
    first = await collect(LogSource(SETTINGS, [entry], positions), 2)
    write(syslog, "Nov 23 03:00:03 h a: three")  # written while runwatch is down
    second = LogSource(SETTINGS, [entry], positions)
    resumed = asyncio.create_task(collect(second, 2))
    await asyncio.sleep(0.2)
    write(syslog, "Nov 23 03:00:04 h a: four")
    after = await resumed
    assert [e["log.message"] for e in first + after] == ["one", "two", "three", "four"]


async def test_a_damaged_positions_file_starts_afresh_instead_of_failing(tmp_path: Path) -> None:
    syslog = tmp_path / "syslog"
    write(syslog, "Nov 23 03:00:01 h a: old")
    saved = tmp_path / "log-positions.json"
    saved.write_text("{not json")
    entry = LogFileConfig(path=str(syslog), format="syslog")  # start at the end
    source = LogSource(SETTINGS, [entry], PositionFile(saved))
    task = asyncio.create_task(collect(source, 1))
    await asyncio.sleep(0.2)
    write(syslog, "Nov 23 03:00:02 h a: new")
    [event] = await task
    assert event["log.message"] == "new"
    assert str(syslog) in saved.read_text()  # saved afresh at stop


def test_well_known_files_are_added_only_when_they_exist_and_are_not_configured() -> None:
    configured = LogFileConfig(path="/var/log/auth.log", format="syslog", service="sshd")
    files = log_files(LogsSourceConfig(files=[configured], well_known_files=True))
    assert files[0] == configured
    assert all(Path(entry.path).is_file() for entry in files[1:])
    assert [entry.path for entry in files].count("/var/log/auth.log") == 1


async def test_a_bad_line_is_counted_and_named_and_its_neighbours_still_arrive(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    audit = tmp_path / "audit.log"
    trace = Path(__file__).parents[2] / "data" / "k8s_audit" / "trace_files" / "k8s_audit"
    good = (trace / "exec_pod.json").read_text().strip()
    audit.write_text(f"{good}\n{{\"kind\": 0}}\n{good}\n")
    source = LogSource(SETTINGS, [LogFileConfig(path=str(audit), format="k8s_audit",
                                                start_at="beginning")])
    events = await collect(source, 2)
    assert [e["evt.source"] for e in events] == ["k8s_audit", "k8s_audit"]
    assert source.status.details[str(audit)]["bad_lines"] == 1
    assert any(f"{audit}:2: data not recognized as a k8s audit event" in str(getattr(r, "error", ""))
               for r in caplog.records)
    assert "ka.verb" in source.fields and "log.message" not in source.fields


async def test_auditd_groups_come_out_whole_once_their_wait_is_over(tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    normal = Path(__file__).parents[2] / "data" / "auditd" / "testdata" / "normal.log"
    audit.write_text(normal.read_text())
    settings = LogsSourceConfig(poll_interval_s=0.02, well_known_files=False,
                                auditd_group_wait_s=0.1)
    source = LogSource(settings, [LogFileConfig(path=str(audit), format="auditd",
                                                start_at="beginning")])
    events = await collect(source, 5)
    assert [e["audit.sequence"] for e in events] == [58, 59, 60, 61, 62]
    assert all(e["log.path"] == str(audit) and e["evt.source"] == "auditd" for e in events)
    assert "audit.records" in source.fields
