"""Folding repeats of one alert into a count, so an alert storm (a miner retrying its pool, a
crash-looping container reading a secret) reaches people, the store and responses once per window.

Two alerts repeat each other when they have the same rule, host, container and output fields,
leaving out what differs between two runs of the same thing (times, process and thread ids,
file descriptor numbers, client ports). The first passes at once. Repeats within the window are
counted, not sent; when the window closes, one alert says how many there were (its
`runwatch.repeats` field), carrying the last repeat's output. Tracked keys are bounded: the oldest
window closes early rather than memory growing.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass

import msgspec
import orjson

from runwatch.alerts.model import Alert

REPEATS_FIELD = "runwatch.repeats"
VOLATILE_FIELDS = frozenset({
    "evt.time", "evt.rawtime", "evt.time.s", "evt.time.iso8601", "evt.datetime", "evt.num",
    "evt.reltime", "evt.latency", "proc.pid", "proc.ppid", "proc.vpid", "proc.pvpid", "proc.sid",
    "proc.vpgid", "thread.tid", "thread.vtid", "proc.apid", "fd.num", "fd.cport",
    "proc.start_ts", "proc.pid.ts", "audit.sequence", "jevt.time", "ka.auditid"})
"""Fields that differ between two runs of the same thing; left out of the repeat key."""


@dataclass(slots=True)
class _Window:
    first_ns: int
    closes_ns: int
    repeats: int = 0
    last: Alert | None = None


class AlertDeduplicator:
    """`admit` lets first occurrences through and counts repeats; `close_windows` hands over one
    summary alert per window that saw repeats. Not thread-safe: the daemon's loop calls both."""

    def __init__(self, window_s: float, max_tracked: int = 10_000) -> None:
        self.window_ns = int(window_s * 1e9)
        self.max_tracked = max_tracked
        self.suppressed_total = 0
        self._windows: OrderedDict[bytes, _Window] = OrderedDict()

    def admit(self, alerts: list[Alert], now_ns: int) -> list[Alert]:
        """The alerts to pass on now; repeats of an open window are counted instead."""
        if self.window_ns <= 0:
            return alerts
        passed = []
        for alert in alerts:
            key = repeat_key(alert)
            window = self._windows.get(key)
            if window is not None and now_ns < window.closes_ns:
                window.repeats += 1
                window.last = alert
                self.suppressed_total += 1
                continue
            if window is not None:  # closed but not yet collected: its summary goes first
                passed += self._summaries([self._windows.pop(key)])
            self._windows[key] = _Window(now_ns, now_ns + self.window_ns)
            passed.append(alert)
        if len(self._windows) > self.max_tracked:
            passed += self._evict(len(self._windows) - self.max_tracked)
        return passed

    def close_windows(self, now_ns: int) -> list[Alert]:
        """Summaries of the windows that ended by `now_ns`; windows without repeats just end."""
        ended = [key for key, window in self._windows.items() if window.closes_ns <= now_ns]
        return self._summaries([self._windows.pop(key) for key in ended])

    def close_all(self) -> list[Alert]:
        """At stop: every open window's summary, so no counted repeat goes unreported."""
        windows = list(self._windows.values())
        self._windows.clear()
        return self._summaries(windows)

    def _evict(self, count: int) -> list[Alert]:
        oldest = [self._windows.popitem(last=False)[1] for _ in range(count)]
        return self._summaries(oldest)

    @staticmethod
    def _summaries(windows: list[_Window]) -> list[Alert]:
        summaries = []
        for window in windows:
            if window.repeats == 0 or window.last is None:
                continue
            last = window.last
            seconds = max(1, round((last.time_ns - window.first_ns) / 1e9))
            summaries.append(msgspec.structs.replace(
                last, output=f"{last.output} (repeated {window.repeats} more times in {seconds}s)",
                output_fields={**last.output_fields, REPEATS_FIELD: window.repeats}))
        return summaries


_CLIENT_PORT = re.compile(r"^(\[?[0-9A-Fa-f:.]+\]?):\d+->")


def repeat_key(alert: Alert) -> bytes:
    """What makes two alerts the same: rule, host, container and the stable output fields (a
    connection's `fd.name`, `client:port->server:port`, without the client's port)."""
    stable = {k: _CLIENT_PORT.sub(r"\1->", v) if k == "fd.name" and isinstance(v, str) else v
              for k, v in alert.output_fields.items() if k not in VOLATILE_FIELDS}
    return orjson.dumps([alert.rule, alert.hostname, alert.container_id, stable],
                        option=orjson.OPT_SORT_KEYS, default=str)
