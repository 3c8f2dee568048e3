"""What every enricher promises: it adds fields to a batch in place, from caches, quickly."""

from __future__ import annotations

from typing import Protocol

from runwatch.event import Event


class Enricher(Protocol):
    """Adds fields that cost something to compute, so rules never compute them per event."""

    name: str

    def enrich(self, batch: list[Event]) -> None: ...
