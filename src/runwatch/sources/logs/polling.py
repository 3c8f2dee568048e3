"""The loop both log sources run: read what is new in a worker thread, hand it on, rest when
there was nothing, and save read positions every few seconds and once more at stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

from runwatch.event import Event
from runwatch.sources.base import SourceStatus

SAVE_INTERVAL_S = 2.0


async def poll_batches(status: SourceStatus, read_once: Callable[[], list[Event]],
                       save_positions: Callable[[], None], poll_interval_s: float,
                       before_read: Callable[[], None] = lambda: None
                       ) -> AsyncGenerator[list[Event], None]:
    """Batches until cancelled; `before_read` runs on the loop first (to pick up new files)."""
    status.state = "running"
    next_save = time.monotonic() + SAVE_INTERVAL_S
    try:
        while True:
            before_read()
            batch = await asyncio.to_thread(read_once)
            if batch:
                status.events_total += len(batch)
                yield batch
            else:
                await asyncio.sleep(poll_interval_s)
            if time.monotonic() >= next_save:
                await asyncio.to_thread(save_positions)
                next_save = time.monotonic() + SAVE_INTERVAL_S
    finally:
        save_positions()
        status.state = "stopped"
