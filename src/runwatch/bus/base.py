"""The bus: where enriched events are published and from where detection and storage read them."""

from __future__ import annotations

from typing import Literal, Protocol

from runwatch.bus.edge import Edge
from runwatch.event import Event

OverflowPolicy = Literal["wait", "drop"]


class Bus(Protocol):
    """Fans each published batch out to every subscriber's own edge."""

    name: str

    def subscribe(self, name: str, capacity: int, overflow: OverflowPolicy) -> Edge[Event]:
        """A new edge that receives every event published from now on."""
        ...

    async def publish(self, batch: list[Event]) -> None:
        """Deliver a batch to every subscriber, waiting on 'wait' edges, dropping on 'drop' ones."""
        ...

    def close(self) -> None:
        """No more events: subscribers drain their edges and stop."""
        ...
