"""What every store promises; callers never see which database is behind it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from runwatch.alerts.model import Alert, Priority
from runwatch.event import Event
from runwatch.graph.map import Edge
from runwatch.inventory import ContainerRecord
from runwatch.profiles.model import Item, Kind, Mode
from runwatch.profiles.state import StoredProfile, WorkloadRecord
from runwatch.respond.base import ResponseRecord


class AlertStatus(enum.StrEnum):
    """Where an alert is in triage: nobody looked yet, someone owns it, or it is dealt with."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertOrder(enum.StrEnum):
    """How a page of alerts is ordered: newest first, or the most severe first (newest first
    within a priority), which is how people triage."""

    NEWEST = "newest"
    SEVERITY = "severity"


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters for listing alerts; None (or empty) means 'any'. Newest first.

    `priorities` are exact priorities, `min_priority` a floor; `text` is a case-insensitive
    substring of the output or the rule name; `tag` one exact tag; `image` the image repository.
    """

    since_ns: int | None = None
    until_ns: int | None = None
    min_priority: Priority | None = None
    rule: str | None = None
    container_id: str | None = None
    limit: int = 100
    offset: int = 0
    priorities: tuple[Priority, ...] = ()
    tag: str | None = None
    image: str | None = None
    text: str | None = None
    status: AlertStatus | None = None
    order: AlertOrder = AlertOrder.NEWEST


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for listing events; None (or empty) means 'any'. Newest first.

    `fields` are exact values of any Falco field, `(("proc.name", "sh"),)`, compared as text;
    `text` is a case-insensitive substring of the whole event.
    """

    since_ns: int | None = None
    until_ns: int | None = None
    evt_type: str | None = None
    container_id: str | None = None
    limit: int = 100
    offset: int = 0
    source: str | None = None
    image: str | None = None
    text: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AlertActivity:
    """One change of an alert's status: who, when, to what, and why."""

    time_ns: int
    actor: str
    status: AlertStatus
    comment: str


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert with its triage state."""

    alert: Alert
    status: AlertStatus = AlertStatus.OPEN
    status_ns: int | None = None
    status_by: str | None = None
    status_comment: str | None = None
    activity: tuple[AlertActivity, ...] = ()


@dataclass(frozen=True, slots=True)
class AlertPage:
    """One page of alerts and how many match the filters in all."""

    items: list[StoredAlert]
    total: int


@dataclass(frozen=True, slots=True)
class AlertCount:
    """Alerts sharing one key (a rule, a container): how many, the worst priority, the newest."""

    key: str
    count: int
    priority: Priority
    last_ns: int
    open_count: int = 0


@dataclass(frozen=True, slots=True)
class AlertOverview:
    """What the overview page shows for a time window: alerts over time by priority, and the tops.

    `buckets` hold, per interval starting at `since_ns + i * bucket_ns`, counts by priority.
    """

    since_ns: int
    until_ns: int
    bucket_ns: int
    buckets: list[dict[Priority, int]]
    by_priority: dict[Priority, int]
    open_by_priority: dict[Priority, int]
    top_rules: list[AlertCount]
    top_containers: list[AlertCount]
    by_status: dict[AlertStatus, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token as stored: never the token itself, only its SHA-256."""

    id: str
    name: str
    role: str
    secret_sha256: str
    created_ns: int
    last_used_ns: int | None = None
    revoked_ns: int | None = None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A dashboard sign-in: the token it came from, its CSRF secret and when it ends."""

    id_sha256: str
    token_id: str
    csrf: str
    created_ns: int
    expires_ns: int


class AuthStore(Protocol):
    """Tokens and sessions. Calls block."""

    def add_token(self, record: TokenRecord) -> None: ...

    def get_token(self, token_id: str) -> TokenRecord | None: ...

    def list_tokens(self) -> list[TokenRecord]: ...

    def revoke_token(self, token_id: str, now_ns: int) -> TokenRecord | None: ...

    def touch_token(self, token_id: str, now_ns: int) -> None: ...

    def count_tokens(self) -> int:
        """Tokens ever created, revoked ones included."""
        ...

    def add_session(self, record: SessionRecord) -> None: ...

    def get_session(self, id_sha256: str) -> SessionRecord | None: ...

    def delete_session(self, id_sha256: str) -> None: ...

    def delete_expired_sessions(self, now_ns: int) -> int: ...


class ProfileStore(Protocol):
    """Behaviour profiles and the connectivity map (runwatch.store.profiles.SqlProfileStore).
    Calls block."""

    def load(self, workloads: list[str] | None = None) -> list[StoredProfile]: ...

    def get(self, workload: str) -> StoredProfile | None: ...

    def set_mode(self, workload: str, mode: Mode, now_ns: int) -> WorkloadRecord | None: ...

    def accept(self, workload: str, items: list[tuple[Kind, Item]], now_ns: int
               ) -> WorkloadRecord | None: ...

    def forget(self, workload: str, items: list[tuple[Kind, Item]], now_ns: int) -> int | None: ...

    def resolve_image_diff(self, workload: str, accept: bool, now_ns: int) -> int | None: ...

    def list_edges(self) -> list[Edge]: ...


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

    @property
    def auth(self) -> AuthStore:
        """API tokens and dashboard sessions."""
        ...

    @property
    def profiles(self) -> ProfileStore:
        """Behaviour profiles and the connectivity map."""
        ...

    def list_alerts(self, query: AlertQuery) -> list[Alert]: ...

    def search_alerts(self, query: AlertQuery) -> AlertPage:
        """A page of alerts with their status, and the number matching in all."""
        ...

    def get_alert(self, alert_id: str) -> StoredAlert | None: ...

    def set_alert_status(self, alert_id: str, status: AlertStatus, actor: str, comment: str,
                         now_ns: int) -> StoredAlert | None:
        """Change the triage state, appending to the alert's activity; None if there is no such alert."""
        ...

    def alert_overview(self, since_ns: int, until_ns: int, buckets: int, top: int) -> AlertOverview: ...

    def alert_counts_by_container(self, since_ns: int | None = None) -> list[AlertCount]: ...

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
