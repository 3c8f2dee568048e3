"""Hands each alert to every output that wants it, each through its own queue.

An output that is slow or dead only fills its own queue (then drops and counts), so it never holds
up detection or the other outputs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from runwatch.alerts.model import Alert, Priority
from runwatch.alerts.outputs.base import DeliveryError, Output
from runwatch.bus.edge import Edge

log = logging.getLogger(__name__)


@dataclass(slots=True)
class OutputStats:
    sent: int = 0
    failed: int = 0


class OutputWorker:
    """One output, its minimum priority, its queue and its counters."""

    def __init__(self, output: Output, min_priority: Priority, queue_size: int) -> None:
        self.output = output
        self.min_priority = min_priority
        self.edge: Edge[Alert] = Edge(f"output:{output.name}", queue_size)
        self.stats = OutputStats()

    @property
    def name(self) -> str:
        return self.output.name

    def offer(self, alert: Alert) -> None:
        if alert.priority.is_at_least(self.min_priority):
            self.edge.offer(alert)

    async def run(self) -> None:
        """Deliver until the queue is closed and drained, then close the output."""
        try:
            while (batch := await self.edge.get_batch(64)) is not None:
                for alert in batch:
                    await self._deliver(alert)
        finally:
            await self.output.close()

    async def _deliver(self, alert: Alert) -> None:
        try:
            await self.output.send(alert)
        except DeliveryError as err:
            if self.stats.failed == 0:  # the first failure is logged, the counter tells the rest
                log.error("alert delivery failed", extra={"output": self.name, "error": str(err)})
            self.stats.failed += 1
        else:
            self.stats.sent += 1


class AlertFanout:
    """Offers each alert to every worker; never waits."""

    def __init__(self, workers: list[OutputWorker]) -> None:
        self.workers = workers

    def dispatch(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            for worker in self.workers:
                worker.offer(alert)

    def close(self) -> None:
        for worker in self.workers:
            worker.edge.close()

    def tasks(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(worker.run(), name=f"output:{worker.name}")
                for worker in self.workers]
