"""What the API and dashboard read and change, as small Protocols: never the whole daemon."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fastapi import Request

from runwatch.alerts.model import Alert
from runwatch.config import ApiConfig
from runwatch.event import Event
from runwatch.respond.base import ResponseRecord
from runwatch.rules.catalog import RuleState
from runwatch.store.base import (AlertCount, AlertOverview, AlertPage, AlertQuery, AlertStatus,
                                 AuthStore, EventQuery, ProfileStore, StoredAlert, StoredContainer)
from runwatch.web.stream import AlertStream


class WebStore(Protocol):
    """The store, as far as the web layer uses it. Calls block: handlers run in worker threads."""

    @property
    def auth(self) -> AuthStore: ...

    @property
    def profiles(self) -> ProfileStore: ...

    def search_alerts(self, query: AlertQuery) -> AlertPage: ...

    def get_alert(self, alert_id: str) -> StoredAlert | None: ...

    def set_alert_status(self, alert_id: str, status: AlertStatus, actor: str, comment: str,
                         now_ns: int) -> StoredAlert | None: ...

    def alert_overview(self, since_ns: int, until_ns: int, buckets: int, top: int) -> AlertOverview: ...

    def alert_counts_by_container(self, since_ns: int | None = None) -> list[AlertCount]: ...

    def list_events(self, query: EventQuery) -> list[Event]: ...

    def list_containers(self, since_ns: int | None = None) -> list[StoredContainer]: ...

    def list_responses(self, alert_id: str | None = None, limit: int = 100) -> list[ResponseRecord]: ...

    def get_response(self, response_id: str) -> ResponseRecord | None: ...


class RulesView(Protocol):
    """The running detectors' rules (runwatch.rules.catalog.RuleCatalog)."""

    def list_rules(self) -> list[RuleState]: ...

    def get(self, name: str) -> RuleState | None: ...

    def set_enabled(self, name: str, enabled: bool) -> RuleState | None:
        """None when no detector has the rule; RuleError when it cannot be switched so."""
        ...


class ResponsesView(Protocol):
    """Undoing a response action (runwatch.respond.desk.ResponseDesk)."""

    def undo(self, response_id: str) -> ResponseRecord | None:
        """The record, now undone; None when there is no such response; RunwatchError when it
        cannot be undone (dry run, already undone, engine unreachable)."""
        ...


class AuditIntake(Protocol):
    """Where the audit webhook hands decoded events (runwatch.sources.logs.webhook)."""

    def submit(self, events: list[Event], bad_items: int = 0) -> bool:
        """False when the queue is full: nothing was taken, the sender should retry."""
        ...


class AlertInbox(Protocol):
    """Where alerts raised elsewhere (Falco's) join the daemon's own, before repeat folding."""

    async def receive(self, alerts: list[Alert]) -> None: ...


class HealthView(Protocol):
    def report(self) -> dict[str, object]: ...


@dataclass(frozen=True, slots=True)
class WebParts:
    """Everything the API and dashboard need from the daemon."""

    store: WebStore
    stream: AlertStream
    rules: RulesView
    responses: ResponsesView
    health: HealthView
    settings: ApiConfig
    audit_intake: AuditIntake | None = None
    alert_inbox: AlertInbox | None = None


def parts_of(request: Request) -> WebParts:
    """The parts of the app serving this request (a FastAPI dependency)."""
    parts: WebParts = request.app.state.parts
    return parts
