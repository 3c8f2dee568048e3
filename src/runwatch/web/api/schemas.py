"""The API's JSON bodies, as pydantic models so /openapi.json describes them exactly."""

from __future__ import annotations

import enum
from typing import Any

from pydantic import BaseModel, Field

from runwatch.alerts.model import format_time
from runwatch.priority import Priority
from runwatch.respond.base import ResponseRecord
from runwatch.rules.catalog import RuleState
from runwatch.store.base import AlertCount, AlertStatus, StoredAlert, StoredContainer


class PriorityName(enum.StrEnum):
    """Falco's priorities as the API spells them in queries."""

    EMERGENCY = "emergency"
    ALERT = "alert"
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"
    INFORMATIONAL = "informational"
    DEBUG = "debug"

    @property
    def priority(self) -> Priority:
        return Priority[self.name]


class ActivityOut(BaseModel):
    time: str
    time_ns: int
    actor: str
    status: AlertStatus
    comment: str


class AlertOut(BaseModel):
    """Falco's JSON alert (time, rule, priority, source, tags, hostname, output, output_fields)
    plus its id, container, time in ns and triage state."""

    id: str
    time: str
    time_ns: int
    rule: str
    priority: str
    source: str
    tags: list[str]
    hostname: str
    output: str
    output_fields: dict[str, Any]
    container_id: str | None
    status: AlertStatus
    status_time: str | None = None
    status_by: str | None = None
    status_comment: str | None = None
    activity: list[ActivityOut] = []


class AlertPageOut(BaseModel):
    items: list[AlertOut]
    total: int = Field(description="Alerts matching the filters, on every page")
    limit: int
    offset: int
    next_offset: int | None = Field(description="The offset of the next page; null on the last")


class StatusIn(BaseModel):
    comment: str = Field(default="", max_length=4000, description="Why: shown in the alert's activity")
    status: AlertStatus = Field(default=AlertStatus.ACKNOWLEDGED,
                                description="acknowledged (default), resolved, or open to reopen")


class EventPageOut(BaseModel):
    items: list[dict[str, Any]]
    limit: int
    offset: int
    next_offset: int | None


class CountOut(BaseModel):
    key: str
    count: int
    open: int
    worst_priority: str
    last_time: str


class ContainerOut(BaseModel):
    id: str
    name: str | None
    image: str | None
    state: str | None
    labels: dict[str, str]
    first_seen: str | None
    last_seen: str | None
    alerts: int
    open_alerts: int
    worst_priority: str | None
    last_alert: str | None


class ContainerDetailOut(ContainerOut):
    record: dict[str, Any] | None
    recent_alerts: list[AlertOut]


class RuleOut(BaseModel):
    name: str
    detector: str
    priority: str | None
    source: str
    tags: list[str]
    description: str
    enabled: bool
    enabled_in_file: bool
    hits: int


class RuleChangeIn(BaseModel):
    enabled: bool


class ResponseOut(BaseModel):
    id: str
    time: str
    alert_id: str
    rule: str
    policy: str
    action: str
    container_id: str | None
    container_name: str | None
    status: str
    reason: str
    latency_ms: float | None
    details: dict[str, Any]
    undone_time: str | None


def alert_out(stored: StoredAlert) -> AlertOut:
    alert = stored.alert
    return AlertOut(
        id=alert.id, time=format_time(alert.time_ns), time_ns=alert.time_ns, rule=alert.rule,
        priority=alert.priority.label, source=alert.source, tags=list(alert.tags),
        hostname=alert.hostname, output=alert.output, output_fields=dict(alert.output_fields),
        container_id=alert.container_id, status=stored.status,
        status_time=format_time(stored.status_ns) if stored.status_ns else None,
        status_by=stored.status_by, status_comment=stored.status_comment,
        activity=[ActivityOut(time=format_time(a.time_ns), time_ns=a.time_ns, actor=a.actor,
                              status=a.status, comment=a.comment) for a in stored.activity])


def count_out(count: AlertCount) -> CountOut:
    return CountOut(key=count.key, count=count.count, open=count.open_count,
                    worst_priority=count.priority.label, last_time=format_time(count.last_ns))


def container_out(container_id: str, stored: StoredContainer | None, count: AlertCount | None
                  ) -> ContainerOut:
    record = stored.record if stored else None
    return ContainerOut(
        id=container_id, name=record.name if record else None, image=record.image if record else None,
        state=record.state if record else None, labels=dict(record.labels) if record else {},
        first_seen=format_time(stored.first_seen_ns) if stored else None,
        last_seen=format_time(stored.last_seen_ns) if stored else None,
        alerts=count.count if count else 0, open_alerts=count.open_count if count else 0,
        worst_priority=count.priority.label if count else None,
        last_alert=format_time(count.last_ns) if count else None)


def rule_out(state: RuleState) -> RuleOut:
    return RuleOut(name=state.name, detector=state.detector,
                   priority=state.priority.label if state.priority is not None else None,
                   source=state.source, tags=list(state.tags), description=state.description,
                   enabled=state.enabled, enabled_in_file=state.enabled_in_file, hits=state.hits)


def response_out(record: ResponseRecord) -> ResponseOut:
    return ResponseOut(
        id=record.id, time=format_time(record.time_ns), alert_id=record.alert_id, rule=record.rule,
        policy=record.policy, action=record.action, container_id=record.container_id,
        container_name=record.container_name, status=str(record.status), reason=record.reason,
        latency_ms=record.latency_ms, details=dict(record.details),
        undone_time=format_time(record.undone_ns) if record.undone_ns else None)
