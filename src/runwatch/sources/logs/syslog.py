"""Syslog lines (what rsyslog and syslog-ng write to /var/log/syslog, auth.log, secure) into events.

Three shapes are read, each with an optional `<PRI>` in front:
- BSD / RFC 3164, as most files still are: `Nov 23 03:47:25 host sshd[812]: Accepted ...`. The
  year is not written; it is the current one, or last year for a December line read in January.
- rsyslog's high-precision form (Debian 12's default): `2026-11-23T03:47:25.123456+00:00 host
  sshd[812]: ...`.
- RFC 5424: `<34>1 2026-11-23T03:47:25.003Z host su 812 ID47 [structured data] message`.
The event carries `log.line` whole, so a line whose header is not understood still reaches rules
that search the text: it is an event with only `log.line` and `log.message`, never an error.
"""

from __future__ import annotations

import re
import time
from datetime import datetime

from runwatch.event import Event

SOURCE = "syslog"
PROVIDED_FIELDS = frozenset({"evt.source", "evt.time", "log.line", "log.message", "log.program",
                             "log.pid", "log.host", "log.service", "log.facility", "log.severity"})

_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
_BSD = re.compile(_PRI + r"(?P<month>[A-Z][a-z]{2}) (?P<day>[ \d]\d) (?P<clock>\d\d:\d\d:\d\d)"
                  r"(?:\.\d+)? (?P<host>\S+) (?P<rest>.*)$", re.DOTALL)
_ISO = re.compile(_PRI + r"(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
                  r" (?P<host>\S+) (?P<rest>.*)$", re.DOTALL)
_RFC5424 = re.compile(r"<(?P<pri>\d{1,3})>1 (?P<stamp>\S+) (?P<host>\S+) (?P<app>\S+) (?P<procid>\S+)"
                      r" (?P<msgid>\S+) (?P<sd>-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: (?P<message>.*))?$",
                      re.DOTALL)
_TAG = re.compile(r"(?P<program>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?(?P<message>.*)$", re.DOTALL)
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_FACILITIES = ("kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
               "authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1",
               "local2", "local3", "local4", "local5", "local6", "local7")
_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")


def decode_syslog_line(line: str, service: str = "", now_ns: int | None = None) -> Event:
    """The event for one syslog line; `service` (from the config: auth, sshd, ...) is kept as
    `log.service` so Sigma's `service:` logsources find it."""
    event: Event = {"evt.source": SOURCE, "log.line": line}
    if service:
        event["log.service"] = service
    if (match := _RFC5424.match(line)) is not None:
        _add_rfc5424(event, match)
    elif (match := _ISO.match(line)) is not None:
        _add_header(event, match, _iso_time_ns(match["stamp"]))
    elif (match := _BSD.match(line)) is not None:
        _add_header(event, match, _bsd_time_ns(match["month"], int(match["day"]), match["clock"],
                                               now_ns if now_ns is not None else time.time_ns()))
    else:
        event["log.message"] = line
    if "evt.time" not in event:
        event["evt.time"] = now_ns if now_ns is not None else time.time_ns()
    return event


def _add_header(event: Event, match: re.Match[str], time_ns: int | None) -> None:
    if time_ns is not None:
        event["evt.time"] = time_ns
    event["log.host"] = match["host"]
    _add_priority(event, match["pri"])
    rest = match["rest"]
    if (tag := _TAG.match(rest)) is not None:
        event["log.program"] = tag["program"]
        if tag["pid"] is not None:
            event["log.pid"] = int(tag["pid"])
        event["log.message"] = tag["message"]
    else:
        event["log.message"] = rest


def _add_rfc5424(event: Event, match: re.Match[str]) -> None:
    if (time_ns := _iso_time_ns(match["stamp"])) is not None:
        event["evt.time"] = time_ns
    _add_priority(event, match["pri"])
    for key, group in (("log.host", "host"), ("log.program", "app")):
        if match[group] != "-":
            event[key] = match[group]
    if match["procid"].isdigit():
        event["log.pid"] = int(match["procid"])
    message = match["message"] or ""
    event["log.message"] = message[1:] if message.startswith("\ufeff") else message


def _add_priority(event: Event, pri: str | None) -> None:
    if pri is None or int(pri) > 191:
        return
    facility, severity = divmod(int(pri), 8)
    event["log.facility"] = _FACILITIES[facility]
    event["log.severity"] = _SEVERITIES[severity]


def _iso_time_ns(stamp: str) -> int | None:
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a stamp without an offset is local time
    whole = int(moment.replace(microsecond=0).timestamp())
    fraction = stamp.split(".", 1)[1] if "." in stamp else ""
    digits = re.match(r"\d*", fraction)
    nanos = int((digits[0] if digits else "").ljust(9, "0")[:9] or 0)
    return whole * 1_000_000_000 + nanos


def _bsd_time_ns(month_name: str, day: int, clock: str, now_ns: int) -> int | None:
    month = _MONTHS.get(month_name)
    if month is None:
        return None
    now = datetime.fromtimestamp(now_ns / 1e9).astimezone()
    year = now.year - 1 if month == 12 and now.month == 1 else now.year
    hour, minute, second = (int(part) for part in clock.split(":"))
    try:
        moment = datetime(year, month, day, hour, minute, second).astimezone()
    except ValueError:
        return None
    return int(moment.timestamp()) * 1_000_000_000
