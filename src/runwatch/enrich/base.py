"""What every enricher promises: it adds fields to a batch in place, from caches, quickly."""

from __future__ import annotations

from typing import Protocol

from runwatch.event import Event


class Enricher(Protocol):
    """Adds fields that cost something to compute, so rules never compute them per event."""

    name: str

    def enrich(self, batch: list[Event]) -> None: ...


class Prefetcher(Protocol):
    """Fills a cache before `enrich` runs, with I/O that must not block the event loop."""

    name: str

    async def prefetch(self, batch: list[Event]) -> None: ...
