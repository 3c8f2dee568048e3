"""The daemon's own health: queue depths, event rates, drops and failures, for /healthz and /metrics."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from runwatch.alerts.fanout import OutputWorker
from runwatch.alerts.model import Priority
from runwatch.bus.edge import Edge
from runwatch.sources.base import Source

_RATE_WINDOW_S = 10.0


@dataclass(slots=True)
class StageCounters:
    """Counters the daemon's stages keep; the supervisor adds restarts."""

    events_in: int = 0
    events_stored: int = 0
    store_errors: int = 0
    alerts_by_priority: dict[Priority, int] = field(default_factory=dict)
    alert_repeats_folded: int = 0
    restarts: dict[str, int] = field(default_factory=dict)


class Health:
    """Reads live counters from the pipeline's parts; owns none of them but the rate samples."""

    def __init__(self, sources: list[Source], edges: list[Edge[Any]],
                 outputs: list[OutputWorker], counters: StageCounters,
                 collectors: list[Collector] | None = None) -> None:
        self.sources = sources
        self.collectors = collectors or []
        self.edges = edges
        self.outputs = outputs
        self.counters = counters
        self.started_at = time.time()
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self) -> None:
        """Record the event count now; called every second for the events/s figure."""
        now = time.monotonic()
        self._samples.append((now, self.counters.events_in))
        while self._samples and now - self._samples[0][0] > _RATE_WINDOW_S:
            self._samples.popleft()

    @property
    def events_per_second(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    @property
    def dropped_total(self) -> int:
        return sum(edge.dropped for edge in self.edges) + sum(w.edge.dropped for w in self.outputs)

    def report(self) -> dict[str, object]:
        """The /healthz body. `status` is 'ok', or 'degraded' when events were lost or a source failed."""
        lost = self.dropped_total + sum(s.status.lost_total for s in self.sources)
        failing = [s.name for s in self.sources if s.status.state == "failed"]
        return {
            "status": "degraded" if lost or failing else "ok",
            "uptime_s": round(time.time() - self.started_at, 1),
            "events_total": self.counters.events_in,
            "events_per_second": round(self.events_per_second, 1),
            "dropped_total": lost,
            "sources": {s.name: {"state": s.status.state, "events_total": s.status.events_total,
                                 "lost_total": s.status.lost_total, "error": s.status.error,
                                 "limitations": s.status.limitations,
                                 **({"details": s.status.details} if s.status.details else {})}
                        for s in self.sources},
            "queues": {e.name: {"depth": e.depth, "capacity": e.capacity, "dropped": e.dropped}
                       for e in [*self.edges, *(w.edge for w in self.outputs)]},
            "outputs": {w.name: {"sent": w.stats.sent, "failed": w.stats.failed,
                                 "dropped": w.edge.dropped, "queued": w.edge.depth}
                        for w in self.outputs},
            "store": {"events_stored": self.counters.events_stored,
                      "errors": self.counters.store_errors},
            "alerts": {p.label: n for p, n in sorted(self.counters.alerts_by_priority.items())},
            "alert_repeats_folded": self.counters.alert_repeats_folded,
            "restarts": dict(self.counters.restarts),
        }


class HealthCollector(Collector):
    """Prometheus metrics read from Health at scrape time; labels never include container ids."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        h = self.health
        events = CounterMetricFamily("runwatch_events", "Events produced, by source", labels=["source"])
        lost = CounterMetricFamily("runwatch_source_lost_events",
                                   "Events a source reports it lost (e.g. kernel buffer overruns)",
                                   labels=["source"])
        for source in h.sources:
            events.add_metric([source.name], source.status.events_total)
            lost.add_metric([source.name], source.status.lost_total)
        yield events
        yield lost
        depth = GaugeMetricFamily("runwatch_queue_depth", "Items waiting in a queue", labels=["queue"])
        capacity = GaugeMetricFamily("runwatch_queue_capacity", "Capacity of a queue", labels=["queue"])
        dropped = CounterMetricFamily("runwatch_events_dropped",
                                      "Items dropped because a queue was full",
                                      labels=["queue", "reason"])
        for edge in [*h.edges, *(w.edge for w in h.outputs)]:
            depth.add_metric([edge.name], edge.depth)
            capacity.add_metric([edge.name], edge.capacity)
            dropped.add_metric([edge.name, "queue_full"], edge.dropped)
        yield from (depth, capacity, dropped)
        rate = GaugeMetricFamily("runwatch_events_per_second", "Events entering the pipeline per second")
        rate.add_metric([], h.events_per_second)
        yield rate
        alerts = CounterMetricFamily("runwatch_alerts", "Alerts raised, by priority", labels=["priority"])
        for priority, count in h.counters.alerts_by_priority.items():
            alerts.add_metric([priority.label], count)
        yield alerts
        folded = CounterMetricFamily("runwatch_alert_repeats_folded",
                                     "Repeats of an alert counted into its summary instead of sent")
        folded.add_metric([], h.counters.alert_repeats_folded)
        yield folded
        sent = CounterMetricFamily("runwatch_output_sent", "Alerts delivered", labels=["output"])
        failed = CounterMetricFamily("runwatch_output_failed", "Alerts not delivered after retries",
                                     labels=["output"])
        for worker in h.outputs:
            sent.add_metric([worker.name], worker.stats.sent)
            failed.add_metric([worker.name], worker.stats.failed)
        yield from (sent, failed)
        stored = CounterMetricFamily("runwatch_store_events_written", "Events written to the store")
        stored.add_metric([], h.counters.events_stored)
        errors = CounterMetricFamily("runwatch_store_errors", "Failed store writes")
        errors.add_metric([], h.counters.store_errors)
        restarts = CounterMetricFamily("runwatch_stage_restarts", "Stages restarted after a crash",
                                       labels=["stage"])
        for stage, count in h.counters.restarts.items():
            restarts.add_metric([stage], count)
        yield from (stored, errors, restarts)
        for collector in h.collectors:
            yield from collector.collect()  # type: ignore[misc]
