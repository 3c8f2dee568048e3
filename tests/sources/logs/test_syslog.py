"""Syslog lines of the three shapes files hold, and lines whose header is not syslog's."""

from __future__ import annotations

from datetime import datetime

from runwatch.sources.logs.syslog import decode_syslog_line

NOW_NS = int(datetime(2026, 11, 23, 4, 0, 0).astimezone().timestamp()) * 10**9


def test_bsd_line_takes_this_year_and_names_program_and_pid() -> None:
    event = decode_syslog_line("Nov 23 03:47:25 web1 sshd[812]: Accepted publickey for root",
                               service="auth", now_ns=NOW_NS)
    assert event["evt.time"] == int(datetime(2026, 11, 23, 3, 47, 25).astimezone().timestamp()) * 10**9
    assert (event["log.host"], event["log.program"], event["log.pid"]) == ("web1", "sshd", 812)
    assert event["log.message"] == "Accepted publickey for root"
    assert (event["evt.source"], event["log.service"]) == ("syslog", "auth")


def test_a_december_line_read_in_january_is_last_years() -> None:
    january = int(datetime(2027, 1, 1, 0, 5).astimezone().timestamp()) * 10**9
    event = decode_syslog_line("Dec 31 23:59:59 h cron: tick", now_ns=january)
    assert event["evt.time"] == int(datetime(2026, 12, 31, 23, 59, 59).astimezone().timestamp()) * 10**9


def test_high_precision_stamp_keeps_its_fraction_and_offset() -> None:
    event = decode_syslog_line("2026-11-23T03:47:25.123456+02:00 db sudo: pam_unix(sudo:session): "
                               "session opened for user root")
    assert event["evt.time"] == int(datetime.fromisoformat("2026-11-23T01:47:25+00:00").timestamp()) \
        * 10**9 + 123_456_000
    assert event["log.program"] == "sudo" and "log.pid" not in event
    assert event["log.message"] == "pam_unix(sudo:session): session opened for user root"


def test_rfc5424_with_priority_and_structured_data() -> None:
    event = decode_syslog_line('<34>1 2003-10-11T22:14:15.003Z mymachine su 77 ID47 '
                               '[exampleSDID@32473 iut="3"] \ufeff\'su root\' failed for lonvick')
    assert (event["log.facility"], event["log.severity"]) == ("auth", "crit")
    assert (event["log.program"], event["log.pid"]) == ("su", 77)
    assert event["log.message"] == "'su root' failed for lonvick"
    assert event["evt.time"] == 1065910455003000000


def test_a_line_that_is_not_syslog_is_kept_whole_as_the_message() -> None:
    event = decode_syslog_line("panic: runtime error: index out of range", now_ns=NOW_NS)
    assert event["log.message"] == event["log.line"] == "panic: runtime error: index out of range"
    assert event["evt.time"] == NOW_NS and "log.program" not in event
