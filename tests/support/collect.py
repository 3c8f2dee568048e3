"""Running a real source in the background and waiting for the events a test expects."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from runwatch.event import Event
from runwatch.sources.base import Source


class SourceCollector:
    """Runs `source.events()` as a task and keeps every event it yields."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.events: list[Event] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 10.0) -> None:
        """Start, and return once the source says it is running."""
        self._task = asyncio.create_task(self._run())
        deadline = time.monotonic() + timeout_s
        while self.source.status.state != "running":
            if self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"source {self.source.name} not running after {timeout_s}s")
            await asyncio.sleep(0.02)

    async def _run(self) -> None:
        async for batch in self.source.events():
            self.events.extend(batch)

    async def wait_for(self, predicate: Callable[[Event], bool], count: int = 1,
                       timeout_s: float = 5.0) -> list[Event]:
        """The matching events once there are `count` of them; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = [event for event in self.events if predicate(event)]
            if len(found) >= count:
                return found
            if self._task is not None and self._task.done():
                self._task.result()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(found)} of {count} expected events after {timeout_s}s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
