"""What every store promises; callers never see which database is behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from runwatch.alerts.model import Alert, Priority
from runwatch.event import Event
from runwatch.inventory import ContainerRecord
from runwatch.respond.base import ResponseRecord


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for listing alerts; None means 'any'. Newest first."""

    since_ns: int | None = None
    until_ns: int | None = None
    min_priority: Priority | None = None
    rule: str | None = None
    container_id: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for listing events; None means 'any'. Newest first."""

    since_ns: int | None = None
    until_ns: int | None = None
    evt_type: str | None = None
    container_id: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class StoredContainer:
    """A container the store has seen, when, and how many alerts it raised."""

    record: ContainerRecord
    first_seen_ns: int
    last_seen_ns: int
    alert_count: int


@dataclass(frozen=True, slots=True)
class RetentionResult:
    events_deleted: int
    alerts_deleted: int
    size_bytes: int


class Store(Protocol):
    """Durable events, alerts and containers. Calls block: the daemon runs them in a thread."""

    def add_events(self, batch: list[Event]) -> None: ...

    def add_alerts(self, alerts: list[Alert]) -> None: ...

    def list_alerts(self, query: AlertQuery) -> list[Alert]: ...

    def list_events(self, query: EventQuery) -> list[Event]: ...

    def upsert_containers(self, records: list[ContainerRecord], seen_ns: int) -> None: ...

    def list_containers(self, since_ns: int | None = None) -> list[StoredContainer]: ...

    def add_response(self, record: ResponseRecord) -> None: ...

    def list_responses(self, alert_id: str | None = None, limit: int = 100) -> list[ResponseRecord]: ...

    def get_response(self, response_id: str) -> ResponseRecord | None: ...

    def mark_response_undone(self, response_id: str, undone_ns: int) -> ResponseRecord | None: ...

    def count(self) -> dict[str, int]:
        """Rows per table: {'events': n, 'alerts': n, 'containers': n, 'responses': n}."""
        ...

    def apply_retention(self, now_ns: int, max_age_ns: int, max_bytes: int) -> RetentionResult: ...

    def close(self) -> None: ...
