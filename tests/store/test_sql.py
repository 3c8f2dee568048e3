from __future__ import annotations

import time
from pathlib import Path

import pytest

from runwatch.alerts.model import Alert, Priority
from runwatch.errors import StoreError
from runwatch.store.base import AlertQuery, EventQuery
from runwatch.store.sql import SqlStore

NOW = time.time_ns()



def make_alert(rule: str, priority: Priority, age_s: float, container: str | None = None) -> Alert:
    return Alert.create(rule=rule, priority=priority, source="syscall", hostname="h",
                        output=f"{rule} happened", output_fields={"proc.name": "cat", "fd.num": 3,
                                                                   "user.name": None},
                        tags=["T1"], container_id=container, time_ns=NOW - int(age_s * 1e9))


def test_alert_round_trip_keeps_every_field(store: SqlStore) -> None:
    alert = make_alert("Read sensitive file", Priority.WARNING, 1, "abcdef123456")
    store.add_alerts([alert])
    assert store.list_alerts(AlertQuery()) == [alert]


def test_alert_filters(store: SqlStore) -> None:
    old = make_alert("A", Priority.CRITICAL, 7200, "c1")
    warn = make_alert("B", Priority.WARNING, 60, "c2")
    note = make_alert("A", Priority.NOTICE, 30, "c1")
    store.add_alerts([old, warn, note])
    assert store.list_alerts(AlertQuery()) == [note, warn, old]  # newest first
    assert store.list_alerts(AlertQuery(since_ns=NOW - int(3600e9))) == [note, warn]
    assert store.list_alerts(AlertQuery(min_priority=Priority.WARNING)) == [warn, old]
    assert store.list_alerts(AlertQuery(rule="A")) == [note, old]
    assert store.list_alerts(AlertQuery(container_id="c2")) == [warn]
    assert store.list_alerts(AlertQuery(limit=1, offset=1)) == [warn]


def test_event_round_trip_and_filters(store: SqlStore) -> None:
    events: list[dict[str, object]] = [
        {"evt.type": "execve", "evt.time": NOW - 10, "container.id": "c1", "proc.name": "sh",
         "proc.aname": ["bash", "sshd"], "evt.source": "syscall", "evt.buffer": b"\x00abc"},
        {"evt.type": "connect", "evt.time": NOW - 5, "container.id": "host", "fd.sport": 443},
    ]
    store.add_events(events)
    found = store.list_events(EventQuery())
    assert [e["evt.type"] for e in found] == ["connect", "execve"]
    assert found[1]["proc.aname"] == ["bash", "sshd"]
    assert found[1]["evt.buffer"] == "\x00abc"
    assert store.list_events(EventQuery(evt_type="execve"))[0]["proc.name"] == "sh"
    assert store.list_events(EventQuery(container_id="host"))[0]["fd.sport"] == 443
    assert store.count() == {"events": 2, "alerts": 0, "containers": 0, "responses": 0}


def test_data_survives_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runwatch.db'}"
    first = SqlStore(url)
    alert = make_alert("A", Priority.ERROR, 1)
    first.add_alerts([alert])
    first.close()
    assert SqlStore(url).list_alerts(AlertQuery()) == [alert]


def test_retention_deletes_by_age(store: SqlStore) -> None:
    store.add_alerts([make_alert("old", Priority.ERROR, 3 * 86400), make_alert("new", Priority.ERROR, 10)])
    store.add_events([{"evt.type": "open", "evt.time": NOW - int(3 * 86400e9)},
                      {"evt.type": "open", "evt.time": NOW}])
    result = store.apply_retention(NOW, int(86400e9), 1 << 40)
    assert (result.events_deleted, result.alerts_deleted) == (1, 1)
    assert [a.rule for a in store.list_alerts(AlertQuery())] == ["new"]


def test_retention_deletes_oldest_events_first_when_too_big(store: SqlStore) -> None:
    store.add_events([{"evt.type": "open", "evt.time": NOW - i, "fd.name": "x" * 400}
                      for i in range(5000)])
    store.add_alerts([make_alert("keep", Priority.ERROR, 1)])
    before = store.size_bytes()
    result = store.apply_retention(NOW, int(86400e9), before // 2)
    assert result.size_bytes <= before // 2
    assert 0 < result.events_deleted < 5000 and result.alerts_deleted == 0
    remaining = store.list_events(EventQuery(limit=10_000))
    assert len(remaining) == 5000 - result.events_deleted
    assert min(int(e["evt.time"]) for e in remaining) > NOW - 5000  # type: ignore[call-overload]


def test_unwritable_location_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open store"):
        SqlStore(f"sqlite:///{blocker / 'sub' / 'runwatch.db'}")


def test_an_unreachable_server_is_a_store_error_that_hides_the_password() -> None:
    with pytest.raises(StoreError, match="cannot open store") as raised:
        SqlStore("postgresql+psycopg://runwatch:s3cret@127.0.0.1:1/runwatch")
    assert "s3cret" not in str(raised.value) and "127.0.0.1" in str(raised.value)
