"""Threshold rules on container resource metrics: memory, CPU, PIDs and restarts.

They read the runtime source's `container_stats` and `container_start` events, so their alerts
go through the same pipeline (outputs, store, response) as every other alert.
"""

from __future__ import annotations

from collections import deque

from runwatch.alerts.model import Alert
from runwatch.config import ThresholdConfig
from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.selectors import container_matches

RULE_PREFIX = "Container threshold: "

_METRIC_FIELDS = {"memory_percent": "container.memory_percent", "memory_bytes": "container.memory_bytes",
                  "cpu_percent": "container.cpu_percent", "pids": "container.pids"}
_CONTEXT_FIELDS = ("container.id", "container.name", "container.image.repository",
                   "container.image.tag", "k8s.ns.name", "k8s.pod.name")


class ThresholdDetector:
    """Raises an alert when a metric stays above its threshold for `for_s`; once, until it falls back."""

    name = "thresholds"

    def __init__(self, thresholds: list[ThresholdConfig], hostname: str) -> None:
        self.thresholds = thresholds
        self.hostname = hostname
        self._above_since: dict[tuple[str, str], int] = {}
        self._fired: set[tuple[str, str]] = set()
        self._restarts: dict[tuple[str, str], deque[int]] = {}

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        for event in batch:
            evt_type = event.get("evt.type")
            if evt_type == "container_stats":
                for threshold in self.thresholds:
                    if threshold.metric in _METRIC_FIELDS and self._applies(threshold, event):
                        alerts.extend(self._check_level(threshold, event))
            elif evt_type == "container_start" and event.get("evt.arg.restart") is True:
                for threshold in self.thresholds:
                    if threshold.metric == "restarts" and self._applies(threshold, event):
                        alerts.extend(self._check_restarts(threshold, event))
        return alerts

    @staticmethod
    def _applies(threshold: ThresholdConfig, event: Event) -> bool:
        selector = threshold.containers
        labels = event.get("container.label")
        return container_matches(selector.name, selector.image, selector.labels,
                                 _text(event.get("container.name")), _text(event.get("container.image")),
                                 labels if isinstance(labels, dict) else {})

    def _check_level(self, threshold: ThresholdConfig, event: Event) -> list[Alert]:
        value = event.get(_METRIC_FIELDS[threshold.metric])
        key = (threshold.name, str(event.get("container.id")))
        now = int(event.get("evt.time") or 0)  # type: ignore[call-overload]
        if not isinstance(value, (int, float)) or value <= threshold.above:
            self._above_since.pop(key, None)
            self._fired.discard(key)
            return []
        since = self._above_since.setdefault(key, now)
        if key in self._fired or now - since < threshold.for_s * 1e9:
            return []
        self._fired.add(key)
        held = f" for {(now - since) / 1e9:.0f}s" if threshold.for_s else ""
        return [self._alert(threshold, event, value, f"{threshold.metric}={value} above "
                                                     f"{threshold.above:g}{held}")]

    def _check_restarts(self, threshold: ThresholdConfig, event: Event) -> list[Alert]:
        key = (threshold.name, str(event.get("container.id")))
        now = int(event.get("evt.time") or 0)  # type: ignore[call-overload]
        times = self._restarts.setdefault(key, deque())
        times.append(now)
        while times and now - times[0] > threshold.window_s * 1e9:
            times.popleft()
        if len(times) <= threshold.above:
            self._fired.discard(key)
            return []
        if key in self._fired:
            return []
        self._fired.add(key)
        return [self._alert(threshold, event, len(times),
                            f"restarts={len(times)} within {threshold.window_s:g}s above "
                            f"{threshold.above:g}")]

    def _alert(self, threshold: ThresholdConfig, event: Event, value: float, what: str) -> Alert:
        fields: dict[str, object] = {name: event.get(name) for name in _CONTEXT_FIELDS}
        fields[f"container.{threshold.metric}"] = value
        return Alert.create(
            rule=RULE_PREFIX + threshold.name, priority=Priority.parse(threshold.priority),
            source="container", hostname=str(event.get("evt.hostname") or self.hostname),
            output=f"{what} (container={event.get('container.name')} "
                   f"image={event.get('container.image')} id={event.get('container.id')})",
            output_fields=fields, tags=["container", "resources", threshold.metric],
            container_id=_text(event.get("container.id")), time_ns=int(event.get("evt.time") or 0) or None)  # type: ignore[call-overload]


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
