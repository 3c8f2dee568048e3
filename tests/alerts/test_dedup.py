"""Folding repeats: what counts as the same alert, the window, the summary, and the bound."""

from __future__ import annotations

from runwatch.alerts.dedup import REPEATS_FIELD, AlertDeduplicator, repeat_key
from runwatch.alerts.model import Alert, Priority

S = 1_000_000_000


def alert(rule: str = "Read sensitive file untrusted", container: str | None = "c0ffee000001",
          time_ns: int = 0, **fields: object) -> Alert:
    output_fields: dict[str, object] = {"proc.name": "cat", "fd.name": "/etc/shadow", **fields}
    return Alert.create(rule=rule, priority=Priority.WARNING, source="syscall", hostname="h1",
                        output=f"{rule} {output_fields}", output_fields=output_fields,
                        container_id=container, time_ns=time_ns)


def test_runs_of_the_same_thing_repeat_whatever_their_pids_times_and_client_ports() -> None:
    first = alert(**{"proc.pid": 10, "evt.time": 1, "fd.name": "10.0.0.2:40001->10.0.0.9:6379"})
    again = alert(**{"proc.pid": 99, "evt.time": 2, "fd.name": "10.0.0.2:51999->10.0.0.9:6379"})
    assert repeat_key(first) == repeat_key(again)
    for different in (alert(container="c0ffee000002"), alert(rule="Other rule"),
                      alert(**{"proc.name": "head"}),
                      alert(**{"fd.name": "10.0.0.2:40001->10.0.0.9:6380"})):
        assert repeat_key(different) != repeat_key(alert()), different.rule


def test_the_first_passes_repeats_are_counted_and_summarised_when_the_window_ends() -> None:
    fold = AlertDeduplicator(window_s=60)
    first = alert(time_ns=1 * S, **{"proc.pid": 1})
    assert fold.admit([first], now_ns=1 * S) == [first]
    repeats = [alert(time_ns=t * S, **{"proc.pid": t}) for t in (2, 3, 4)]
    assert fold.admit(repeats, now_ns=4 * S) == []
    assert fold.close_windows(now_ns=60 * S) == []  # still open
    [summary] = fold.close_windows(now_ns=61 * S)
    assert summary.output_fields[REPEATS_FIELD] == 3
    assert summary.output_fields["proc.pid"] == 4 and summary.id == repeats[-1].id
    assert summary.output.endswith("(repeated 3 more times in 3s)")
    assert fold.suppressed_total == 3
    assert fold.close_windows(now_ns=200 * S) == []


def test_after_the_window_the_same_alert_passes_again_and_its_old_count_comes_first() -> None:
    fold = AlertDeduplicator(window_s=10)
    fold.admit([alert()], now_ns=0)
    fold.admit([alert()], now_ns=5 * S)
    late = alert()
    summary, passed = fold.admit([late], now_ns=11 * S)  # no close_windows call in between
    assert summary.output_fields[REPEATS_FIELD] == 1 and passed is late


def test_a_window_without_repeats_ends_silently() -> None:
    fold = AlertDeduplicator(window_s=10)
    fold.admit([alert()], now_ns=0)
    assert fold.close_windows(now_ns=11 * S) == [] and fold.close_all() == []


def test_tracking_is_bounded_the_oldest_window_closes_early() -> None:
    fold = AlertDeduplicator(window_s=60, max_tracked=2)
    fold.admit([alert(**{"fd.name": "/a"}), alert(**{"fd.name": "/a"})], now_ns=0)
    fold.admit([alert(**{"fd.name": "/b"})], now_ns=S)
    evicted = fold.admit([alert(**{"fd.name": "/c"})], now_ns=2 * S)
    assert [a.output_fields.get(REPEATS_FIELD) for a in evicted] == [None, 1]
    assert evicted[1].output_fields["fd.name"] == "/a"


def test_close_all_reports_every_counted_repeat_at_stop() -> None:
    fold = AlertDeduplicator(window_s=60)
    fold.admit([alert(), alert(), alert(rule="R2"), alert(rule="R2"), alert(rule="R2")], now_ns=0)
    assert sorted(a.output_fields[REPEATS_FIELD] for a in fold.close_all()) == [1, 2]  # type: ignore[type-var]


def test_a_zero_window_sends_everything() -> None:
    fold = AlertDeduplicator(window_s=0)
    alerts = [alert(), alert()]
    assert fold.admit(alerts, now_ns=0) == alerts and fold.close_all() == []
