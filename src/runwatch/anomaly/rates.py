"""Rate anomalies: a workload doing something far more often than it usually does.

Profiles catch what is new; a burst of what is known slips past them: a web server that starts
hundreds of processes a minute (a shell loop, a fork bomb), a worker that opens connections by the
thousand (a scan), a container whose log floods (a crash loop), a host whose sshd logs failed
passwords by the hundred (brute force). Each workload (or, outside containers, the host) keeps,
per kind of activity, a moving mean and variance of its per-window counts (exponentially
weighted, so the baseline follows slow change); after a warm-up, a window whose count is above
`mean + sigmas × deviation` (and at least `min_count`) raises one alert. A window with no activity
counts as zero, so a quiet workload's burst stands out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from runwatch.alerts.model import Alert
from runwatch.config import RateAnomalyConfig
from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.profiles.workload import workload_of_event
from runwatch.rules.base import ListedRule, ListedRuleset

RULE = "Anomaly: unusual rate"
HOST = "host"


def activity_of(event: Event) -> str | None:
    """The kind of activity an event counts towards, or None for what is not counted."""
    source = event.get("evt.source") or "syscall"
    if source == "syscall":
        evt_type = event.get("evt.type")
        return _SYSCALL_ACTIVITIES.get(evt_type) if isinstance(evt_type, str) else None
    if source == "log":
        return "log lines"
    if source == "syslog":
        message = event.get("log.message")
        if isinstance(message, str) and ("Failed password" in message or
                                         "authentication failure" in message):
            return "failed logins"
    return None


_SYSCALL_ACTIVITIES = {"execve": "process starts", "execveat": "process starts",
                       "connect": "outbound connections", "accept": "inbound connections",
                       "accept4": "inbound connections", "ptrace": "process tracing",
                       "setuid": "privilege changes", "setgid": "privilege changes",
                       "unlink": "file deletions", "unlinkat": "file deletions",
                       "rename": "file renames", "renameat": "file renames",
                       "renameat2": "file renames"}


@dataclass(slots=True)
class _Baseline:
    mean: float = 0.0
    variance: float = 0.0
    windows: int = 0

    def update(self, count: int, alpha: float) -> None:
        if self.windows == 0:
            self.mean = float(count)
        else:
            delta = count - self.mean
            self.mean += alpha * delta
            self.variance = (1 - alpha) * (self.variance + alpha * delta * delta)
        self.windows += 1


class RateAnomalyDetector:
    """Implements `Detector`; counts per (workload, activity) and judges each closed window."""

    name = "anomaly"

    def __init__(self, config: RateAnomalyConfig, hostname: str,
                 clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.config = config
        self.hostname = hostname
        self.clock_ns = clock_ns
        self.priority = Priority.parse(config.priority)
        self.ruleset = ListedRuleset((ListedRule(
            RULE, "a workload does something far more often than its own usual rate", self.priority,
            source="anomaly", tags=("anomaly",)),))
        self._window_ns = int(config.window_s * 1e9)
        self._window_start = clock_ns()
        self._counts: dict[tuple[str, str], int] = {}
        self._containers: dict[tuple[str, str], str] = {}
        self._baselines: dict[tuple[str, str], _Baseline] = {}

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts = self.close_windows(self.clock_ns())
        for event in batch:
            activity = activity_of(event)
            if activity is None:
                continue
            workload = workload_of_event(event)
            key = (workload.name if workload is not None else HOST, activity)
            self._counts[key] = self._counts.get(key, 0) + 1
            container = event.get("container.id")
            if isinstance(container, str) and container != HOST:
                self._containers[key] = container
        return alerts

    def close_windows(self, now_ns: int) -> list[Alert]:
        """Judge every window that ended by `now_ns` (empty windows count as zero)."""
        alerts: list[Alert] = []
        while now_ns >= self._window_start + self._window_ns:
            alerts += self._judge(self._window_start + self._window_ns)
            self._window_start += self._window_ns
            self._counts = {}
        return alerts

    def _judge(self, end_ns: int) -> list[Alert]:
        alerts = []
        for key in self._baselines.keys() | self._counts.keys():
            count = self._counts.get(key, 0)
            baseline = self._baselines.setdefault(key, _Baseline())
            if baseline.windows >= self.config.warmup_windows:
                limit = baseline.mean + self.config.sigmas * math.sqrt(baseline.variance)
                if count >= self.config.min_count and count > limit:
                    alerts.append(self._alert(key, count, baseline, end_ns))
            baseline.update(count, self.config.alpha)
        if len(self._baselines) > self.config.max_tracked:  # forget the quietest first
            quiet = sorted(self._baselines, key=lambda k: self._baselines[k].mean)
            for key in quiet[:len(self._baselines) - self.config.max_tracked]:
                del self._baselines[key]
        return alerts

    def _alert(self, key: tuple[str, str], count: int, baseline: _Baseline,
               end_ns: int) -> Alert:
        workload, activity = key
        minutes = self.config.window_s / 60
        usual = f"{baseline.mean:.1f}±{math.sqrt(baseline.variance):.1f}"
        container = self._containers.get(key)
        return Alert.create(
            rule=RULE, priority=self.priority, source="anomaly", hostname=self.hostname,
            output=f"{activity} in {workload}: {count} in {minutes:g} min, usually {usual} "
                   f"(workload={workload} activity={activity})",
            output_fields={"anomaly.workload": workload, "anomaly.activity": activity,
                           "anomaly.count": count, "anomaly.usual_mean": round(baseline.mean, 2),
                           "anomaly.usual_deviation": round(math.sqrt(baseline.variance), 2),
                           "anomaly.window_s": self.config.window_s,
                           **({"container.id": container} if container else {})},
            tags=["anomaly"], container_id=container, time_ns=end_ns)
