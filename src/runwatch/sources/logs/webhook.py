"""Kubernetes audit events POSTed by the API server's audit webhook, as a source.

The API route decodes a request and hands its events here; the pipeline reads them like any
source's. When the queue is full the route answers 503, and the API server's webhook backend
sends the batch again later, so a burst waits at the sender instead of being lost here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.logs.k8s_audit import PROVIDED_FIELDS


class AuditWebhookSource:
    """Implements `Source`; `submit` is called on the daemon's event loop by the API route."""

    name = "k8s_audit_webhook"
    fields = PROVIDED_FIELDS

    def __init__(self, max_batches: int = 1_000) -> None:
        self.status = SourceStatus(state="running")
        self.refused_batches = 0
        self.bad_items = 0
        self._queue: asyncio.Queue[list[Event]] = asyncio.Queue(max_batches)
        self._closed = False

    def submit(self, events: list[Event], bad_items: int = 0) -> bool:
        """Queue one request's events; False (nothing queued) when the queue is full."""
        self.bad_items += bad_items
        if not events:
            return True
        if self._closed:
            return False
        try:
            self._queue.put_nowait(events)
        except asyncio.QueueFull:
            self.refused_batches += 1
            self.status.details = self._details()
            return False
        self.status.events_total += len(events)
        self.status.details = self._details()
        return True

    async def events(self) -> AsyncIterator[list[Event]]:
        while True:
            yield await self._queue.get()

    def drain(self) -> list[Event]:
        """At stop: what was accepted but not yet read; later requests are refused (503)."""
        self._closed = True
        left: list[Event] = []
        while not self._queue.empty():
            left += self._queue.get_nowait()
        return left

    def _details(self) -> dict[str, object]:
        return {"queued_batches": self._queue.qsize(), "refused_batches": self.refused_batches,
                "bad_items": self.bad_items}
