"""Alert and event searches, triage status and the overview aggregates, on a real SQLite store."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from runwatch.alerts.model import Alert, Priority
from runwatch.store.base import AlertOrder, AlertQuery, AlertStatus, EventQuery
from runwatch.store.search import alert_image
from runwatch.store.sql import SqlStore

NOW = time.time_ns()
MINUTE = 60 * 10**9



def alert(rule: str, priority: Priority, age_min: float, container: str | None = None,
          image: str | None = None, tags: list[str] | None = None, output: str = "") -> Alert:
    fields: dict[str, object] = {"proc.name": "sh"}
    if image:
        fields["container.image.repository"] = image
    return Alert.create(rule=rule, priority=priority, source="syscall", hostname="h",
                        output=output or f"{rule} seen", output_fields=fields, tags=tags or [],
                        container_id=container, time_ns=NOW - int(age_min * MINUTE))


def ids(alerts: list[Alert]) -> list[str]:
    return [a.id for a in alerts]


def test_alert_image_comes_from_the_repository_or_the_image_reference() -> None:
    assert alert_image(alert("r", Priority.ERROR, 0, image="docker.io/library/nginx")) \
        == "docker.io/library/nginx"
    by_reference = Alert.create(rule="r", priority=Priority.ERROR, source="s", hostname="h", output="o",
                                output_fields={"container.image": "localhost:5000/app:1.2@sha256:ab"})
    assert alert_image(by_reference) == "localhost:5000/app"
    assert alert_image(alert("r", Priority.ERROR, 0)) is None


def test_tag_image_text_and_priority_filters(store: SqlStore) -> None:
    shell = alert("Terminal shell in container", Priority.NOTICE, 1, "c1", "nginx",
                  ["container", "shell", "mitre_execution"], "A shell was spawned (user=root)")
    shadow = alert("Read sensitive file untrusted", Priority.WARNING, 2, "c2", "redis",
                   ["filesystem", "mitre_credential_access"], "file=/etc/shadow opened")
    host = alert("Drop and execute new binary", Priority.CRITICAL, 3, None, None,
                 ["shell_like"], "executable /tmp/x100 dropped")
    store.add_alerts([shell, shadow, host])
    assert ids(store.list_alerts(AlertQuery(tag="shell"))) == [shell.id]  # not "shell_like"
    assert ids(store.list_alerts(AlertQuery(tag="shell_like"))) == [host.id]
    assert ids(store.list_alerts(AlertQuery(image="redis"))) == [shadow.id]
    assert ids(store.list_alerts(AlertQuery(text="SHADOW"))) == [shadow.id]  # any case
    assert ids(store.list_alerts(AlertQuery(text="terminal"))) == [shell.id]  # the rule name too
    assert ids(store.list_alerts(AlertQuery(text="100%"))) == []  # % is literal, not a wildcard
    assert ids(store.list_alerts(AlertQuery(priorities=(Priority.NOTICE, Priority.CRITICAL)))) \
        == [shell.id, host.id]
    assert ids(store.list_alerts(AlertQuery(min_priority=Priority.WARNING, image="nginx"))) == []


def test_search_pages_count_every_match(store: SqlStore) -> None:
    many = [alert("Noisy", Priority.NOTICE, n, "c1") for n in range(25)]
    store.add_alerts(many + [alert("Other", Priority.ERROR, 0.5, "c2")])
    first = store.search_alerts(AlertQuery(rule="Noisy", limit=10))
    last = store.search_alerts(AlertQuery(rule="Noisy", limit=10, offset=20))
    beyond = store.search_alerts(AlertQuery(rule="Noisy", limit=10, offset=40))
    assert (first.total, last.total, beyond.total) == (25, 25, 25)
    assert [s.alert.id for s in first.items] == [a.id for a in many[:10]]
    assert [s.alert.id for s in last.items] == [a.id for a in many[20:]]
    assert beyond.items == []


def test_text_and_tag_searches_page_and_count_like_the_others(store: SqlStore) -> None:
    matching = [alert("Noisy", Priority.NOTICE, n, "c1", tags=["t"], output=f"file /etc/shadow {n}")
                for n in range(25)]
    store.add_alerts(matching + [alert("Other", Priority.ERROR, 0.5, "c2", output="file /etc/hosts")])
    for query in (AlertQuery(text="shadow", limit=10), AlertQuery(tag="t", limit=10)):
        pages = [store.search_alerts(replace(query, offset=offset)) for offset in (0, 10, 20, 40)]
        assert [p.total for p in pages] == [25, 25, 25, 25]
        assert [s.alert.id for p in pages for s in p.items] == [a.id for a in matching]
    nothing = store.search_alerts(AlertQuery(text="nowhere"))
    assert (nothing.total, nothing.items) == (0, [])


def test_severity_order_is_most_severe_first_then_newest(store: SqlStore) -> None:
    notice_new = alert("n", Priority.NOTICE, 1)
    critical_old = alert("c", Priority.CRITICAL, 50, output="x shadow")
    warning = alert("w", Priority.WARNING, 5, output="shadow")
    critical_new = alert("c", Priority.CRITICAL, 2, output="shadow")
    store.add_alerts([notice_new, critical_old, warning, critical_new])
    severity = store.search_alerts(AlertQuery(order=AlertOrder.SEVERITY))
    assert [s.alert.id for s in severity.items] == [critical_new.id, critical_old.id, warning.id,
                                                    notice_new.id]
    text = store.search_alerts(AlertQuery(order=AlertOrder.SEVERITY, text="shadow", limit=2, offset=1))
    assert [s.alert.id for s in text.items] == [critical_old.id, warning.id] and text.total == 3
    newest = store.search_alerts(AlertQuery(text="shadow"))
    assert [s.alert.id for s in newest.items] == [critical_new.id, warning.id, critical_old.id]


def test_status_changes_are_kept_with_their_history(store: SqlStore) -> None:
    target = alert("Terminal shell in container", Priority.NOTICE, 1, "c1")
    other = alert("Terminal shell in container", Priority.NOTICE, 2, "c1")
    store.add_alerts([target, other])
    assert store.get_alert(target.id).status == AlertStatus.OPEN  # type: ignore[union-attr]
    store.set_alert_status(target.id, AlertStatus.ACKNOWLEDGED, "alice", "looking", NOW)
    done = store.set_alert_status(target.id, AlertStatus.RESOLVED, "bob", "was a deploy", NOW + 5)
    assert done is not None and done.status == AlertStatus.RESOLVED
    stored = store.get_alert(target.id)
    assert stored is not None and stored == done
    assert (stored.status_by, stored.status_comment, stored.status_ns) == ("bob", "was a deploy", NOW + 5)
    assert [(a.actor, a.status, a.comment) for a in stored.activity] == [
        ("alice", AlertStatus.ACKNOWLEDGED, "looking"), ("bob", AlertStatus.RESOLVED, "was a deploy")]
    assert ids(store.list_alerts(AlertQuery(status=AlertStatus.OPEN))) == [other.id]
    assert store.set_alert_status("nope", AlertStatus.RESOLVED, "bob", "", NOW) is None


def test_overview_buckets_by_priority_and_tops(store: SqlStore) -> None:
    store.add_alerts([alert("Shell", Priority.NOTICE, 5, "c1") for _ in range(3)]
                     + [alert("Shadow", Priority.WARNING, 52, "c2"),
                        alert("Shadow", Priority.CRITICAL, 55, "c2"),
                        alert("Drop", Priority.ERROR, 59, None),
                        alert("Old", Priority.EMERGENCY, 61, "c9")])
    resolved = alert("Shell", Priority.NOTICE, 6, "c1")
    store.add_alerts([resolved])
    store.set_alert_status(resolved.id, AlertStatus.RESOLVED, "a", "", NOW)
    view = store.alert_overview(NOW - 60 * MINUTE, NOW, buckets=6, top=2)
    assert view.bucket_ns == 10 * MINUTE
    assert view.buckets[0] == {Priority.WARNING: 1, Priority.CRITICAL: 1, Priority.ERROR: 1}
    assert view.buckets[5] == {Priority.NOTICE: 4}
    assert all(b == {} for b in view.buckets[1:5])
    assert view.by_priority == {Priority.NOTICE: 4, Priority.WARNING: 1, Priority.CRITICAL: 1,
                                Priority.ERROR: 1}
    assert view.open_by_priority[Priority.NOTICE] == 3
    assert view.by_status == {AlertStatus.OPEN: 6, AlertStatus.RESOLVED: 1}
    assert [(r.key, r.count, r.priority, r.open_count) for r in view.top_rules] == [
        ("Shell", 4, Priority.NOTICE, 3), ("Shadow", 2, Priority.CRITICAL, 2)]
    assert [(c.key, c.count) for c in view.top_containers] == [("c1", 4), ("c2", 2)]
    counts = store.alert_counts_by_container()
    assert [(c.key, c.count, c.priority) for c in counts] == [
        ("c1", 4, Priority.NOTICE), ("c2", 2, Priority.CRITICAL), ("c9", 1, Priority.EMERGENCY)]


def test_event_filters_on_any_field_source_image_and_text(store: SqlStore) -> None:
    store.add_events([
        {"evt.type": "execve", "evt.time": NOW - 3, "evt.source": "syscall", "container.id": "c1",
         "proc.name": "sh", "proc.pid": 41, "container.image.repository": "nginx",
         "proc.cmdline": "sh -c 'cat /etc/shadow'"},
        {"evt.type": "openat", "evt.time": NOW - 2, "evt.source": "syscall", "container.id": "c1",
         "proc.name": "cat", "fd.name": "/etc/shadow", "container.image.repository": "nginx"},
        {"evt.type": "container_start", "evt.time": NOW - 1, "evt.source": "container",
         "container.id": "c2", "container.image.repository": "redis"},
    ])

    def types(query: EventQuery) -> list[object]:
        return [e["evt.type"] for e in store.list_events(query)]

    assert types(EventQuery(fields=(("fd.name", "/etc/shadow"),))) == ["openat"]
    assert types(EventQuery(fields=(("proc.pid", "41"),))) == ["execve"]  # numbers compare as text
    assert types(EventQuery(fields=(("proc.name", "sh"),))) == ["execve"]
    assert types(EventQuery(source="container")) == ["container_start"]
    assert types(EventQuery(image="nginx")) == ["openat", "execve"]
    assert types(EventQuery(text="SHADOW")) == ["openat", "execve"]
    assert types(EventQuery(fields=(("fd.name", "/etc/shadow"), ("proc.name", "sh")))) == []
