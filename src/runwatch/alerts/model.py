"""The alert: Falco's JSON alert (`time, rule, priority, source, tags, hostname, output,
output_fields`) plus an id and the container it concerns, so Falco's consumers read ours unchanged."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import msgspec

from runwatch.priority import Priority

__all__ = ["Alert", "Priority", "format_time", "new_alert_id"]


def new_alert_id(time_ns: int) -> str:
    """A time-ordered unique id (48-bit ms time + 80 random bits, hex), sortable like a ULID."""
    return f"{time_ns // 1_000_000:012x}{os.urandom(10).hex()}"


def format_time(time_ns: int) -> str:
    """Falco's alert time: RFC 3339 in UTC with nanoseconds, '2024-05-01T12:00:00.123456789Z'."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{nanos:09d}Z"


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One alert. `time_ns` orders and filters; `to_falco_json` gives Falco's exact shape."""

    id: str
    time_ns: int
    rule: str
    priority: Priority
    source: str
    hostname: str
    output: str
    output_fields: dict[str, object] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)
    container_id: str | None = None

    @classmethod
    def create(cls, *, rule: str, priority: Priority, source: str, hostname: str, output: str,
               output_fields: dict[str, object] | None = None, tags: list[str] | None = None,
               container_id: str | None = None, time_ns: int | None = None) -> Alert:
        """Build an alert with a fresh id; the time defaults to now."""
        when = time.time_ns() if time_ns is None else time_ns
        return cls(id=new_alert_id(when), time_ns=when, rule=rule, priority=priority,
                   source=source, hostname=hostname, output=output,
                   output_fields=output_fields or {}, tags=tags or [],
                   container_id=container_id)

    def to_falco_json(self) -> dict[str, object]:
        """The alert as Falco prints it with `json_output: true`, plus `id` and `container_id`."""
        return {
            "id": self.id,
            "time": format_time(self.time_ns),
            "rule": self.rule,
            "priority": self.priority.label,
            "source": self.source,
            "tags": list(self.tags),
            "hostname": self.hostname,
            "output": self.output,
            "output_fields": dict(self.output_fields),
            "container_id": self.container_id,
        }
