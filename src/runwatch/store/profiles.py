"""Profiles, their items and the connectivity map in the store's database.

The daemon writes what it learned (`apply`); the CLI and API change modes and accept items,
each change growing the profile's `revision`, which the daemon polls to pick the change up.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec
import orjson
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from runwatch.store.failures import read_rows, store_errors
from runwatch.graph.map import Edge
from runwatch.profiles.model import Item, Kind, Mode
from runwatch.profiles.state import Origin, ProfileChanges, StoredItem, StoredProfile, WorkloadRecord
from runwatch.store.schema import graph_edges, profile_items, profiles


class SqlProfileStore:
    """Profiles on the owning store's engine; every call is one transaction."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self._dialect: Any = postgresql if engine.dialect.name == "postgresql" else sqlite

    # -- the daemon's side ----------------------------------------------------------------------

    def apply(self, changes: ProfileChanges) -> None:
        """Write what the detector learned; a mode it decided is kept only if nobody changed the
        profile from outside meanwhile."""
        with self._begin() as conn:
            for record in changes.records.values():
                insert = self._dialect.insert(profiles).values(_profile_row(record))
                conn.execute(insert.on_conflict_do_update(
                    index_elements=["workload"],
                    set_={"record": insert.excluded.record, "updated_ns": insert.excluded.updated_ns}))
            for workload, (mode, revision) in changes.modes.items():
                conn.execute(update(profiles).where(profiles.c.workload == workload,
                                                    profiles.c.revision == revision)
                             .values(mode=str(mode)))
            if changes.added:
                insert = self._dialect.insert(profile_items)
                conn.execute(insert.on_conflict_do_nothing(), [_item_row(i) for i in changes.added])
            for workload, kind, item in changes.removed:
                conn.execute(delete(profile_items).where(*_item_key(workload, kind, item)))
            if changes.edges:
                self._add_edges(conn, changes.edges)

    def _add_edges(self, conn: Connection, edges: list[Edge]) -> None:
        insert = self._dialect.insert(graph_edges)
        new, table = insert.excluded, graph_edges.c
        conn.execute(insert.on_conflict_do_update(
            index_elements=["source", "target", "port", "protocol"],
            set_={"count": table.count + new.count,
                  "first_ns": case((new.first_ns < table.first_ns, new.first_ns), else_=table.first_ns),
                  "last_ns": case((new.last_ns > table.last_ns, new.last_ns), else_=table.last_ns),
                  "abnormal": case((new.abnormal > table.abnormal, new.abnormal), else_=table.abnormal),
                  "alert_id": func.coalesce(new.alert_id, table.alert_id)}),
            [{"source": e.source, "target": e.target, "port": e.port, "protocol": e.protocol,
              "first_ns": e.first_ns, "last_ns": e.last_ns, "count": e.count,
              "abnormal": int(e.abnormal), "alert_id": e.alert_id} for e in edges])

    def revisions(self) -> dict[str, int]:
        return {row.workload: int(row.revision)
                for row in self._read(select(profiles.c.workload, profiles.c.revision))}

    def load(self, workloads: Iterable[str] | None = None) -> list[StoredProfile]:
        """Profiles with their items: the named ones, or all."""
        wanted = None if workloads is None else sorted(set(workloads))
        statement = select(profiles)
        item_statement = select(profile_items)
        if wanted is not None:
            statement = statement.where(profiles.c.workload.in_(wanted))
            item_statement = item_statement.where(profile_items.c.workload.in_(wanted))
        items: dict[str, list[StoredItem]] = {}
        for row in self._read(item_statement.order_by(profile_items.c.kind, profile_items.c.item)):
            items.setdefault(row.workload, []).append(_stored_item(row))
        return [StoredProfile(record=_record(row), items=items.get(row.workload, []))
                for row in self._read(statement.order_by(profiles.c.workload))]

    # -- the admin's side -----------------------------------------------------------------------

    def get(self, workload: str) -> StoredProfile | None:
        found = self.load([workload])
        return found[0] if found else None

    def set_mode(self, workload: str, mode: Mode, now_ns: int) -> WorkloadRecord | None:
        """Change a profile's mode; None when there is no such profile."""
        with self._begin() as conn:
            record = self._bump(conn, workload, now_ns)
            if record is None:
                return None
            conn.execute(update(profiles).where(profiles.c.workload == workload)
                         .values(mode=str(mode)))
            record.mode = mode
            record.mode_changed_ns = now_ns
            conn.execute(update(profiles).where(profiles.c.workload == workload)
                         .values(record=msgspec.json.encode(record).decode()))
        return record

    def accept(self, workload: str, items: list[tuple[Kind, Item]], now_ns: int
               ) -> WorkloadRecord | None:
        """Put items into a profile as accepted by an admin; None when there is no such profile."""
        with self._begin() as conn:
            record = self._bump(conn, workload, now_ns)
            if record is None:
                return None
            for kind, item in items:
                conn.execute(delete(profile_items).where(*_item_key(workload, kind, item)))
                conn.execute(profile_items.insert().values(_item_row(StoredItem(
                    workload=workload, kind=kind, item=item, origin=Origin.ACCEPTED,
                    first_ns=now_ns))))
        return record

    def forget(self, workload: str, items: list[tuple[Kind, Item]], now_ns: int) -> int | None:
        """Take items out of a profile (they alert again outside learn mode); returns how many
        were there, or None when there is no such profile."""
        with self._begin() as conn:
            if conn.execute(select(profiles.c.workload)
                            .where(profiles.c.workload == workload)).first() is None:
                return None
            removed = sum(int(conn.execute(delete(profile_items).where(
                *_item_key(workload, kind, item))).rowcount or 0) for kind, item in items)
            if removed:  # a new revision makes the running daemon reload the profile
                self._bump(conn, workload, now_ns)
            return removed

    def resolve_image_diff(self, workload: str, accept: bool, now_ns: int) -> int | None:
        """Accept (into the profile) or reject (so they alert) the items a new image version did;
        returns how many, or None when there is no such profile."""
        with self._begin() as conn:
            if self._bump(conn, workload, now_ns) is None:
                return None
            where = (profile_items.c.workload == workload,
                     profile_items.c.origin == str(Origin.IMAGE_DIFF))
            if accept:
                result = conn.execute(update(profile_items).where(*where)
                                      .values(origin=str(Origin.ACCEPTED)))
            else:
                result = conn.execute(delete(profile_items).where(*where))
            return int(result.rowcount or 0)

    def list_edges(self) -> list[Edge]:
        return [Edge(source=r.source, target=r.target, port=int(r.port), protocol=r.protocol,
                     first_ns=int(r.first_ns), last_ns=int(r.last_ns), count=int(r.count),
                     abnormal=bool(r.abnormal), alert_id=r.alert_id)
                for r in self._read(select(graph_edges).order_by(
                    graph_edges.c.source, graph_edges.c.target, graph_edges.c.port))]

    def _bump(self, conn: Connection, workload: str, now_ns: int) -> WorkloadRecord | None:
        row = conn.execute(select(profiles).where(profiles.c.workload == workload)).first()
        if row is None:
            return None
        record = _record(row)
        record.revision += 1
        record.updated_ns = now_ns
        conn.execute(update(profiles).where(profiles.c.workload == workload).values(
            revision=record.revision, updated_ns=now_ns,
            record=msgspec.json.encode(record).decode()))
        return record

    @contextlib.contextmanager
    def _begin(self) -> Iterator[Connection]:
        """One transaction; a database error becomes a StoreError naming the store."""
        with store_errors(self.url, "write"):
            with self.engine.begin() as conn:
                yield conn

    def _read(self, statement: Any) -> list[Any]:
        return read_rows(self.engine, self.url, statement)


def _profile_row(record: WorkloadRecord) -> dict[str, object]:
    return {"workload": record.workload, "mode": str(record.mode), "revision": record.revision,
            "updated_ns": record.updated_ns, "record": msgspec.json.encode(record).decode()}


def _record(row: Any) -> WorkloadRecord:
    record = msgspec.json.decode(row.record, type=WorkloadRecord)
    record.mode, record.revision = Mode(row.mode), int(row.revision)
    return record


def _item_row(item: StoredItem) -> dict[str, object]:
    return {"workload": item.workload, "kind": str(item.kind),
            "item": orjson.dumps(list(item.item)).decode(), "origin": str(item.origin),
            "first_ns": item.first_ns}


def _item_key(workload: str, kind: Kind, item: Item) -> tuple[Any, ...]:
    return (profile_items.c.workload == workload, profile_items.c.kind == str(kind),
            profile_items.c.item == orjson.dumps(list(item)).decode())


def _stored_item(row: Any) -> StoredItem:
    return StoredItem(workload=row.workload, kind=Kind(row.kind), item=tuple(orjson.loads(row.item)),
                      origin=Origin(row.origin), first_ns=int(row.first_ns))
