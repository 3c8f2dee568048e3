"""Polling for a condition that a daemon running on the test's own event loop makes true."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], T], timeout_s: float = 15.0,
                     interval_s: float = 0.1) -> T:
    """The first truthy result of `check`, polled; fails with the last result after the timeout.

    `check` runs in a thread, so it may block (a podman call, an HTTP request) without holding
    up the daemon it is waiting for.
    """
    deadline = time.monotonic() + timeout_s
    while not (result := await asyncio.to_thread(check)):
        assert time.monotonic() < deadline, f"not true after {timeout_s}s: {result!r}"
        await asyncio.sleep(interval_s)
    return result


def eventually_sync(check: Callable[[], T], timeout_s: float = 15.0, interval_s: float = 0.1) -> T:
    """`eventually` for tests whose daemon runs in another thread (DaemonThread)."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"not true after {timeout_s}s: {result!r}"
        time.sleep(interval_s)
    return result
