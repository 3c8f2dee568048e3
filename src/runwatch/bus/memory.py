"""The in-process bus of the embedded default: one process, no broker."""

from __future__ import annotations

from runwatch.bus.base import OverflowPolicy
from runwatch.bus.edge import Edge
from runwatch.event import Event


class MemoryBus:
    """Delivers batches to subscriber edges in the same event loop."""

    name = "memory"

    def __init__(self) -> None:
        self._subscribers: list[tuple[Edge[Event], OverflowPolicy]] = []

    def subscribe(self, name: str, capacity: int, overflow: OverflowPolicy) -> Edge[Event]:
        edge: Edge[Event] = Edge(name, capacity)
        self._subscribers.append((edge, overflow))
        return edge

    @property
    def edges(self) -> list[Edge[Event]]:
        return [edge for edge, _ in self._subscribers]

    async def publish(self, batch: list[Event]) -> None:
        for edge, overflow in self._subscribers:
            if overflow == "wait":
                await edge.put_many(batch)
            else:
                edge.offer_many(batch)

    def close(self) -> None:
        for edge, _ in self._subscribers:
            edge.close()
