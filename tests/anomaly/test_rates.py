"""Rate anomalies over windows of a steady clock: the warm-up, a burst, and what counts."""

from __future__ import annotations

from runwatch.alerts.model import Alert
from runwatch.anomaly.rates import HOST, RULE, RateAnomalyDetector, activity_of
from runwatch.config import RateAnomalyConfig
from runwatch.event import Event

MINUTE = 60 * 10**9
CONFIG = RateAnomalyConfig(window_s=60, warmup_windows=10, sigmas=6, min_count=20, alpha=0.1)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def execs(count: int, image: str = "docker.io/library/nginx") -> list[Event]:
    return [{"evt.type": "execve", "evt.source": "syscall", "container.id": "c0ffee000001",
             "container.image.repository": image, "container.label": {"app": "web"},
             "proc.name": "sh"} for _ in range(count)]


def run_minutes(detector: RateAnomalyDetector, clock: Clock, per_minute: list[int]) -> list[Alert]:
    alerts = []
    for count in per_minute:
        alerts += detector.match(execs(count))
        clock.now += MINUTE
    return alerts + detector.match([])


def test_a_burst_after_the_warm_up_alerts_once_with_the_usual_rate() -> None:
    clock = Clock()
    detector = RateAnomalyDetector(CONFIG, "h1", clock)
    steady = [2, 3, 2, 4, 3, 2, 3, 2, 3, 3, 2, 3]
    assert run_minutes(detector, clock, steady) == []
    [alert] = run_minutes(detector, clock, [300])
    assert alert.rule == RULE and alert.container_id == "c0ffee000001"
    assert alert.output_fields["anomaly.workload"] == "web@docker.io/library/nginx"
    assert alert.output_fields["anomaly.activity"] == "process starts"
    assert alert.output_fields["anomaly.count"] == 300
    assert 2 < alert.output_fields["anomaly.usual_mean"] < 4  # type: ignore[operator]
    assert "process starts in web@docker.io/library/nginx: 300 in 1 min, usually" in alert.output


def test_no_alert_during_the_warm_up_or_below_min_count() -> None:
    clock = Clock()
    detector = RateAnomalyDetector(CONFIG, "h1", clock)
    assert run_minutes(detector, clock, [1, 500, 1, 1]) == []  # still warming up
    clock2 = Clock()
    quiet = RateAnomalyDetector(CONFIG, "h1", clock2)
    assert run_minutes(quiet, clock2, [0] * 12 + [15]) == []  # far above 0, but under min_count


def test_a_workload_whose_rate_grows_slowly_is_followed_not_flagged() -> None:
    clock = Clock()
    detector = RateAnomalyDetector(CONFIG, "h1", clock)
    growing = [20 + 2 * minute for minute in range(40)]
    assert run_minutes(detector, clock, growing) == []


def test_silent_minutes_count_as_zero_so_a_quiet_workloads_burst_stands_out() -> None:
    clock = Clock()
    detector = RateAnomalyDetector(CONFIG, "h1", clock)
    detector.match(execs(1))
    clock.now += 15 * MINUTE  # nothing for a quarter of an hour: 15 empty windows
    detector.match([])
    [alert] = run_minutes(detector, clock, [60])
    assert alert.output_fields["anomaly.count"] == 60


def test_what_counts_and_where() -> None:
    assert activity_of({"evt.type": "connect"}) == "outbound connections"
    assert activity_of({"evt.type": "openat"}) is None
    assert activity_of({"evt.source": "log", "log.message": "GET /"}) == "log lines"
    assert activity_of({"evt.source": "syslog", "log.program": "sshd",
                        "log.message": "Failed password for root from 10.0.0.9"}) == "failed logins"
    assert activity_of({"evt.source": "syslog", "log.message": "Accepted publickey"}) is None
    clock = Clock()
    detector = RateAnomalyDetector(CONFIG, "h1", clock)
    for _ in range(12):
        detector.match([{"evt.source": "syslog", "log.message": "Failed password for x"}])
        clock.now += MINUTE
    detector.match([{"evt.source": "syslog", "log.message": "Failed password for root"}] * 400)
    clock.now += MINUTE
    [alert] = detector.match([])
    assert alert.output_fields["anomaly.workload"] == HOST and alert.container_id is None
    assert alert.output_fields["anomaly.activity"] == "failed logins"
