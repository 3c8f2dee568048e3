"""Profiles in the store, on SQLite and PostgreSQL: what the detector learned round-trips, edges
add up, a mode decided by the daemon never overwrites one changed from outside, accepted and
image-diff items change origin, and every outside change grows the revision."""

from __future__ import annotations

from runwatch.graph.map import Edge
from runwatch.profiles.model import Kind, Mode
from runwatch.profiles.state import (ImageChange, Origin, ProfileChanges, StoredItem,
                                     WorkloadRecord)
from runwatch.store.sql import SqlStore

WEB = "shop/web@docker.io/library/nginx"


def record(mode: Mode = Mode.LEARN) -> WorkloadRecord:
    return WorkloadRecord(workload=WEB, image_repository="docker.io/library/nginx",
                          deployment="shop/web", namespace="shop", selector={"app": "web"},
                          mode=mode, created_ns=1, updated_ns=2, mode_changed_ns=1,
                          images=["nginx:1.27@abc"],
                          image_change=ImageChange(previous="a", current="b", started_ns=3,
                                                   until_ns=4))


def item(kind: Kind, fields: tuple[str, ...], origin: Origin = Origin.LEARNED) -> StoredItem:
    return StoredItem(workload=WEB, kind=kind, item=fields, origin=origin, first_ns=5)


def edge(count: int, first: int, last: int, abnormal: bool, alert: str | None) -> Edge:
    return Edge(source="client@x", target=WEB, port=8080, protocol="tcp", first_ns=first,
                last_ns=last, count=count, abnormal=abnormal, alert_id=alert)


def test_learned_profiles_round_trip_and_edges_add_up(store: SqlStore) -> None:
    profiles = store.profiles
    profiles.apply(ProfileChanges(records={WEB: record()}, added=[
        item(Kind.PROCESS, ("/usr/sbin/nginx", "nginx", "conmon")),
        item(Kind.FILE_WRITE, ("/var/cache/nginx/a",)), item(Kind.FILE_WRITE, ("/var/cache/nginx/b",))],
        edges=[edge(3, 100, 200, False, None)]))
    profiles.apply(ProfileChanges(added=[item(Kind.FILE_WRITE, ("/var/cache/nginx/*",))],
                                  removed=[(WEB, Kind.FILE_WRITE, ("/var/cache/nginx/a",)),
                                           (WEB, Kind.FILE_WRITE, ("/var/cache/nginx/b",))],
                                  edges=[edge(2, 50, 150, True, "alert-1")]))
    [stored] = profiles.load()
    assert stored.record.selector == {"app": "web"} and stored.record.image_change is not None
    assert {(i.kind, i.item) for i in stored.items} == {
        (Kind.PROCESS, ("/usr/sbin/nginx", "nginx", "conmon")), (Kind.FILE_WRITE, ("/var/cache/nginx/*",))}
    [added] = profiles.list_edges()
    assert (added.count, added.first_ns, added.last_ns, added.abnormal, added.alert_id) == \
        (5, 50, 200, True, "alert-1")
    profiles.apply(ProfileChanges(edges=[edge(1, 300, 300, False, None)]))
    [again] = profiles.list_edges()
    assert (again.count, again.last_ns, again.abnormal, again.alert_id) == (6, 300, True, "alert-1")


def test_outside_changes_grow_the_revision_and_win_over_the_daemons_mode(store: SqlStore) -> None:
    profiles = store.profiles
    profiles.apply(ProfileChanges(records={WEB: record()}))
    assert profiles.revisions() == {WEB: 0}
    changed = profiles.set_mode(WEB, Mode.PROTECT, 10)
    assert changed is not None and changed.revision == 1
    profiles.apply(ProfileChanges(records={WEB: record(Mode.MONITOR)}, modes={WEB: (Mode.MONITOR, 0)}))
    assert profiles.get(WEB).record.mode == Mode.PROTECT, "decided on revision 0: too late"  # type: ignore[union-attr]
    profiles.apply(ProfileChanges(added=[item(Kind.SYSCALL, ("ptrace",), Origin.IMAGE_DIFF),
                                         item(Kind.SYSCALL, ("bpf",), Origin.IMAGE_DIFF)]))
    assert profiles.accept(WEB, [(Kind.LISTEN, ("9090", "tcp"))], 11) is not None
    assert profiles.resolve_image_diff(WEB, accept=False, now_ns=12) == 2
    assert profiles.revisions() == {WEB: 3}
    origins = {(i.kind, i.item): i.origin for i in profiles.get(WEB).items}  # type: ignore[union-attr]
    assert origins == {(Kind.LISTEN, ("9090", "tcp")): Origin.ACCEPTED}
    assert profiles.set_mode("nope", Mode.LEARN, 1) is None
    assert profiles.accept("nope", [], 1) is None and profiles.resolve_image_diff("nope", True, 1) is None
