"""A bounded queue between two stages that counts what it could not take.

Each edge has one consumer, which takes items in batches. A producer that can wait uses `put`
(back-pressure); one that cannot (the kernel sensor, a slow output) uses `offer`, which drops
and counts when the edge is full. `close` lets the consumer drain what is left and then stop.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class EdgeClosed(Exception):
    """Raised to a producer that writes to an edge after it was closed."""


class Edge(Generic[T]):
    """Bounded FIFO with batch reads, back-pressure or counted drops, and a drain-then-stop close."""

    def __init__(self, name: str, capacity: int) -> None:
        self.name = name
        self.capacity = capacity
        self.passed = 0
        self.dropped = 0
        self.waited = 0
        self._items: deque[T] = deque()
        self._closed = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()

    @property
    def depth(self) -> int:
        return len(self._items)

    @property
    def is_closed(self) -> bool:
        return self._closed

    def offer(self, item: T) -> bool:
        """Add without waiting; when full, drop the item, count it and return False."""
        if self._closed:
            raise EdgeClosed(self.name)
        if len(self._items) >= self.capacity:
            self._count_drop(1)
            return False
        self._items.append(item)
        self._readable.set()
        return True

    def offer_many(self, items: Iterable[T]) -> int:
        """Add what fits without waiting; drop and count the rest. Returns how many were taken."""
        if self._closed:
            raise EdgeClosed(self.name)
        batch = list(items)
        room = max(self.capacity - len(self._items), 0)
        self._items.extend(batch[:room])
        if len(batch) > room:
            self._count_drop(len(batch) - room)
        if room and batch:
            self._readable.set()
        return min(room, len(batch))

    async def put(self, item: T) -> None:
        """Add, waiting while the edge is full (back-pressure on the producer)."""
        await self.put_many((item,))

    async def put_many(self, items: Iterable[T]) -> None:
        """Add every item, waiting for room as needed; never drops."""
        for item in items:
            if self._closed:
                raise EdgeClosed(self.name)
            if len(self._items) >= self.capacity:
                self.waited += 1
                while len(self._items) >= self.capacity:
                    self._writable.clear()
                    await self._writable.wait()
                    if self._closed:
                        raise EdgeClosed(self.name)
            self._items.append(item)
            self._readable.set()

    async def get_batch(self, max_items: int) -> list[T] | None:
        """Wait for items and take up to `max_items`; None once closed and drained."""
        while not self._items:
            if self._closed:
                return None
            self._readable.clear()
            await self._readable.wait()
        count = min(max_items, len(self._items))
        batch = [self._items.popleft() for _ in range(count)]
        self.passed += count
        self._writable.set()
        return batch

    def close(self) -> None:
        """No more items will come; the consumer drains what is queued, then gets None."""
        self._closed = True
        self._readable.set()
        self._writable.set()

    def _count_drop(self, count: int) -> None:
        if self.dropped == 0:  # say it once; the counter tells the rest
            log.error("queue full, dropping", extra={"edge": self.name, "capacity": self.capacity})
        self.dropped += count
