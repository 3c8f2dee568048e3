"""A response decision: what a policy did (or would do, or refused to do) about one alert, and why."""

from __future__ import annotations

import enum

import msgspec


class ResponseStatus(enum.StrEnum):
    DONE = "done"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"
    FAILED = "failed"
    UNDONE = "undone"


class ResponseRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One decision, stored and shown with its alert; `details` holds what undo needs."""

    id: str
    time_ns: int
    alert_id: str
    rule: str
    policy: str
    action: str
    container_id: str | None
    container_name: str | None
    status: ResponseStatus
    reason: str
    latency_ms: float | None = None
    details: dict[str, object] = msgspec.field(default_factory=dict)
    undone_ns: int | None = None
