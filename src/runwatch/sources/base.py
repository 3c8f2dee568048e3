"""What every source promises the daemon: batches of events, and an honest account of its limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from runwatch.event import Event


@dataclass(slots=True)
class SourceStatus:
    """A source's health as /healthz shows it; `limitations` says plainly what it cannot see."""

    state: str = "starting"
    events_total: int = 0
    lost_total: int = 0
    limitations: list[str] = field(default_factory=list)
    error: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    """What else a source reports about itself (per followed file: lines, bad lines, ...)."""


class Source(Protocol):
    """Produces events until cancelled, in batches so that the pipeline's per-event cost stays low.

    `events()` closes whatever it opened (subprocesses, files) when cancelled.
    """

    name: str
    status: SourceStatus

    def events(self) -> AsyncIterator[list[Event]]: ...
