"""New alerts for every open server-sent-events stream, without ever holding up the daemon.

The daemon calls `publish` (an alert listener) on its event loop; each subscriber has its own
bounded queue. A subscriber that does not keep up loses alerts, counted, and is told how many.
"""

from __future__ import annotations

import asyncio
import logging

from runwatch.alerts.model import Alert

log = logging.getLogger(__name__)


class Subscription:
    """One stream's queue of alerts; `None` in it means the stream is over."""

    def __init__(self, owner: AlertStream, queue_size: int) -> None:
        self.queue: asyncio.Queue[Alert | None] = asyncio.Queue(queue_size)
        self.dropped = 0
        self._owner = owner

    def offer(self, alert: Alert) -> None:
        try:
            self.queue.put_nowait(alert)
        except asyncio.QueueFull:
            if self.dropped == 0:
                log.warning("alert stream subscriber is slow; dropping alerts for it")
            self.dropped += 1

    def end(self) -> None:
        """Ask the stream to finish: a marker that jumps the queue if it is full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(None)

    def close(self) -> None:
        self._owner.unsubscribe(self)


class AlertStream:
    """The fan-out from the daemon's alert stage to the open `/api/stream` connections."""

    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self.subscribers: set[Subscription] = set()
        self.is_closed = False

    def subscribe(self) -> Subscription:
        subscription = Subscription(self, self.queue_size)
        if self.is_closed:
            subscription.end()
        else:
            self.subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self.subscribers.discard(subscription)

    def publish(self, alerts: list[Alert]) -> None:
        for subscription in list(self.subscribers):
            for alert in alerts:
                subscription.offer(alert)

    def close(self) -> None:
        """End every stream (the daemon is stopping, and the HTTP server waits for open responses)."""
        self.is_closed = True
        for subscription in list(self.subscribers):
            subscription.end()
        self.subscribers.clear()
