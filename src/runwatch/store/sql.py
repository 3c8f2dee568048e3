"""The store on SQLAlchemy: SQLite (WAL) in the data directory by default, PostgreSQL by URL."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import and_, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.sql import Select

import msgspec
from sqlalchemy.dialects import postgresql, sqlite

from runwatch.alerts.model import Alert, Priority
from runwatch.errors import StoreError
from runwatch.store.failures import read_rows, store_errors
from runwatch.event import Event
from runwatch.inventory import ContainerRecord
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.store.auth import SqlAuthStore
from runwatch.store.base import (AlertActivity, AlertCount, AlertOrder, AlertOverview, AlertPage,
                                 AlertQuery, AlertStatus, EventQuery, RetentionResult, StoredAlert,
                                 StoredContainer)
from runwatch.store.migrate import migrate
from runwatch.store.profiles import SqlProfileStore
from runwatch.store.schema import alerts, containers, events, metadata, responses
from runwatch.store.search import (activity_json, alert_conditions, alert_image, alert_rows,
                                   event_conditions, overview, row_to_alert, row_to_stored_alert,
                                   top_counts)

log = logging.getLogger(__name__)

_RETENTION_CHUNK = 0.1  # delete the oldest tenth at a time while over the size limit


def _dumps(value: object) -> str:
    return orjson.dumps(value, default=_jsonable).decode()


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot store a {type(value).__name__}")


def open_store(url: str) -> SqlStore:
    """The store for a URL: sqlite:///path or postgresql://..."""
    return SqlStore(url)


class SqlStore:
    """Events, alerts and containers in one database; creates its tables on first open."""

    def __init__(self, url: str) -> None:
        self.url = _without_password(url)  # for messages: they end up in logs
        self.is_sqlite = url.startswith("sqlite")
        try:
            if self.is_sqlite:
                path = url.split("///", 1)[1] if "///" in url else ""
                if path and path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(url, future=True)
            if self.is_sqlite:
                event.listen(self.engine, "connect", _sqlite_pragmas)
            metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                migrate(conn)
        except (SQLAlchemyError, OSError) as err:
            raise StoreError(f"cannot open store {self.url}: {err}") from err
        self.dialect = self.engine.dialect.name
        self.auth = SqlAuthStore(self._read, self._write, self._delete)
        self.profiles = SqlProfileStore(self.engine, url)

    def add_events(self, batch: list[Event]) -> None:
        if not batch:
            return
        rows = [{
            "time_ns": int(e.get("evt.time") or 0),  # type: ignore[call-overload]
            "source": str(e.get("evt.source", "syscall")),
            "evt_type": str(e.get("evt.type", "")),
            "container_id": e.get("container.id"),
            "proc_name": e.get("proc.name"),
            "fields": _dumps(e),
        } for e in batch]
        self._write(insert(events), rows)

    def add_alerts(self, new_alerts: list[Alert]) -> None:
        if not new_alerts:
            return
        rows = [{
            "id": a.id, "time_ns": a.time_ns, "rule": a.rule, "priority": int(a.priority),
            "source": a.source, "hostname": a.hostname, "container_id": a.container_id,
            "output": a.output, "tags": _dumps(a.tags), "output_fields": _dumps(a.output_fields),
            "image": alert_image(a),
        } for a in new_alerts]
        self._write(insert(alerts), rows)

    def list_alerts(self, query: AlertQuery) -> list[Alert]:
        statement = alert_rows(select(alerts).where(*alert_conditions(query, self.dialect)), query,
                               self.dialect)
        rows = self._read(statement.limit(query.limit).offset(query.offset))
        return [row_to_alert(r) for r in rows]

    def search_alerts(self, query: AlertQuery) -> AlertPage:
        where = alert_conditions(query, self.dialect)
        if self.is_sqlite and (query.text or query.tag):
            return self._search_scanning(query, where)
        rows = self._read(alert_rows(select(alerts).where(*where), query, self.dialect)
                          .limit(query.limit).offset(query.offset))
        total = len(rows) + query.offset if len(rows) < query.limit and (rows or not query.offset) \
            else int(self._scalar(select(func.count()).select_from(alerts).where(*where)))
        return AlertPage([row_to_stored_alert(r) for r in rows], total)

    def _search_scanning(self, query: AlertQuery, where: list[Any]) -> AlertPage:
        """A search that reads every row anyway (free text, a tag) counts its matches in the same
        pass, `count(*) OVER ()`, rather than scanning again to count them; it sorts only ids
        and keys, then reads the page's rows."""
        matching = func.count().over().label("matching")
        keys = alert_rows(select(alerts.c.id, alerts.c.time_ns, alerts.c.priority, matching)
                          .where(*where), query, self.dialect)
        page = keys.limit(query.limit).offset(query.offset).subquery()
        order: list[Any] = [page.c.time_ns.desc(), page.c.id.desc()]
        if query.order == AlertOrder.SEVERITY:
            order.insert(0, page.c.priority)
        rows = self._read(select(alerts, page.c.matching).join(page, page.c.id == alerts.c.id)
                          .order_by(*order))
        if rows:
            total = int(rows[0].matching)
        else:
            total = 0 if not query.offset else \
                int(self._scalar(select(func.count()).select_from(alerts).where(*where)))
        return AlertPage([row_to_stored_alert(r) for r in rows], total)

    def get_alert(self, alert_id: str) -> StoredAlert | None:
        rows = self._read(select(alerts).where(alerts.c.id == alert_id))
        return row_to_stored_alert(rows[0]) if rows else None

    def set_alert_status(self, alert_id: str, status: AlertStatus, actor: str, comment: str,
                         now_ns: int) -> StoredAlert | None:
        with store_errors(self.url, "write"):
            with self.engine.begin() as conn:
                row = conn.execute(select(alerts).where(alerts.c.id == alert_id)).first()
                if row is None:
                    return None
                current = row_to_stored_alert(row)
                activity = (*current.activity, AlertActivity(now_ns, actor, status, comment))
                conn.execute(update(alerts).where(alerts.c.id == alert_id).values(
                    status=str(status), status_ns=now_ns, status_by=actor, status_comment=comment,
                    activity=activity_json(activity)))
        return dataclasses.replace(current, status=status, status_ns=now_ns, status_by=actor,
                                   status_comment=comment, activity=activity)

    def alert_overview(self, since_ns: int, until_ns: int, buckets: int, top: int) -> AlertOverview:
        with store_errors(self.url, "query"):
            with self.engine.connect() as conn:
                return overview(conn, since_ns, until_ns, buckets, top)

    def alert_counts_by_container(self, since_ns: int | None = None) -> list[AlertCount]:
        """Alerts per container id (host alerts have none), most first."""
        where = and_(alerts.c.container_id.is_not(None),
                     alerts.c.time_ns >= (since_ns if since_ns is not None else 0))
        with store_errors(self.url, "query"):
            with self.engine.connect() as conn:
                return top_counts(conn, alerts.c.container_id, where, None)

    def list_events(self, query: EventQuery) -> list[Event]:
        statement: Select[Any] = select(events.c.fields).where(*event_conditions(query, self.dialect))
        statement = statement.order_by(events.c.time_ns.desc(), events.c.id.desc())
        rows = self._read(statement.limit(query.limit).offset(query.offset))
        return [orjson.loads(r.fields) for r in rows]

    def upsert_containers(self, records: list[ContainerRecord], seen_ns: int) -> None:
        """Insert new containers, refresh known ones; `first_seen_ns` never changes."""
        if not records:
            return
        rows = [{"id": r.id, "full_id": r.full_id, "name": r.name, "image": r.image,
                 "image_id": r.image_id, "runtime": r.runtime, "state": r.state,
                 "labels": _dumps(r.labels), "first_seen_ns": seen_ns, "last_seen_ns": seen_ns,
                 "record": msgspec.json.encode(r).decode()} for r in records]
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(containers)
        updated = {c: statement.excluded[c] for c in ("full_id", "name", "image", "image_id",
                                                       "runtime", "state", "labels", "last_seen_ns",
                                                       "record")}
        self._write(statement.on_conflict_do_update(index_elements=["id"], set_=updated), rows)

    def list_containers(self, since_ns: int | None = None) -> list[StoredContainer]:
        """Containers seen since `since_ns` (all when None), with how many alerts each raised."""
        counts = select(alerts.c.container_id, func.count().label("n")).group_by(
            alerts.c.container_id).subquery()
        statement: Select[Any] = select(containers.c.record, containers.c.first_seen_ns,
                                        containers.c.last_seen_ns, counts.c.n).outerjoin(
            counts, counts.c.container_id == containers.c.id)
        if since_ns is not None:
            statement = statement.where(containers.c.last_seen_ns >= since_ns)
        rows = self._read(statement.order_by(containers.c.last_seen_ns.desc(), containers.c.id))
        return [StoredContainer(msgspec.json.decode(r.record, type=ContainerRecord),
                                r.first_seen_ns, r.last_seen_ns, int(r.n or 0)) for r in rows]

    def add_response(self, record: ResponseRecord) -> None:
        self._write(insert(responses), [{
            "id": record.id, "time_ns": record.time_ns, "alert_id": record.alert_id,
            "container_id": record.container_id, "status": str(record.status),
            "record": msgspec.json.encode(record).decode()}])

    def list_responses(self, alert_id: str | None = None, limit: int = 100) -> list[ResponseRecord]:
        statement: Select[Any] = select(responses.c.record)
        if alert_id is not None:
            statement = statement.where(responses.c.alert_id == alert_id)
        rows = self._read(statement.order_by(responses.c.time_ns.desc()).limit(limit))
        return [msgspec.json.decode(r.record, type=ResponseRecord) for r in rows]

    def get_response(self, response_id: str) -> ResponseRecord | None:
        rows = self._read(select(responses.c.record).where(responses.c.id == response_id))
        return msgspec.json.decode(rows[0].record, type=ResponseRecord) if rows else None

    def mark_response_undone(self, response_id: str, undone_ns: int) -> ResponseRecord | None:
        record = self.get_response(response_id)
        if record is None:
            return None
        undone = msgspec.structs.replace(record, status=ResponseStatus.UNDONE, undone_ns=undone_ns)
        self._write(responses.update().where(responses.c.id == response_id),
                    [{"status": str(undone.status), "record": msgspec.json.encode(undone).decode()}])
        return undone

    def count(self) -> dict[str, int]:
        return {table.name: int(self._scalar(select(func.count()).select_from(table)))
                for table in (events, alerts, containers, responses)}

    def apply_retention(self, now_ns: int, max_age_ns: int, max_bytes: int) -> RetentionResult:
        """Delete what is older than the age limit, then the oldest rows while over the size limit."""
        cutoff = now_ns - max_age_ns
        events_deleted = self._delete(delete(events).where(events.c.time_ns < cutoff))
        alerts_deleted = self._delete(delete(alerts).where(alerts.c.time_ns < cutoff))
        size = self.size_bytes()
        while size > max_bytes:
            removed = self._delete_oldest(events)
            events_deleted += removed
            if not removed:
                removed = self._delete_oldest(alerts)
                alerts_deleted += removed
            if not removed:
                break
            size = self.size_bytes()
        if self.is_sqlite and (events_deleted or alerts_deleted):
            self._scalar(text("PRAGMA incremental_vacuum"), expect_row=False)
        return RetentionResult(events_deleted, alerts_deleted, size)

    def size_bytes(self) -> int:
        """Bytes the kept data occupies: SQLite's pages in use, or on PostgreSQL an estimate of
        the live rows (the files only shrink under VACUUM FULL, so their size cannot say
        whether deleting helped; autovacuum makes the freed space reusable)."""
        if self.is_sqlite:
            pages, free, page_size = (int(self._scalar(text(f"PRAGMA {name}")))
                                      for name in ("page_count", "freelist_count", "page_size"))
            return (pages - free) * page_size
        with store_errors(self.url, "query"):
            with self.engine.begin() as conn:
                return sum(_postgres_live_bytes(conn, table.name)
                           for table in (events, alerts, containers, responses))

    def close(self) -> None:
        self.engine.dispose()

    def _delete_oldest(self, table: Any) -> int:
        total = int(self._scalar(select(func.count()).select_from(table)))
        if total == 0:
            return 0
        count = max(1, int(total * _RETENTION_CHUNK))
        boundary = self._scalar(
            select(table.c.time_ns).order_by(table.c.time_ns).offset(count - 1).limit(1))
        return self._delete(delete(table).where(table.c.time_ns <= boundary))

    def _scalar(self, statement: Any, expect_row: bool = True) -> Any:
        with store_errors(self.url, "query"):
            with self.engine.begin() as conn:
                result = conn.execute(statement)
                return result.scalar_one() if expect_row else None

    def _write(self, statement: Any, rows: Sequence[Mapping[str, object]]) -> None:
        with store_errors(self.url, "write"):
            with self.engine.begin() as conn:
                conn.execute(statement, rows)

    def _read(self, statement: Any) -> list[Any]:
        return read_rows(self.engine, self.url, statement)

    def _delete(self, statement: Any) -> int:
        with store_errors(self.url, "delete"):
            with self.engine.begin() as conn:
                return int(conn.execute(statement).rowcount or 0)


def _without_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


_POSTGRES_ROW_OVERHEAD = 28  # tuple header and line pointer


def _postgres_live_bytes(conn: Any, table: str) -> int:
    """Rows times their mean width, from fresh statistics (ANALYZE samples, it does not scan)."""
    conn.execute(text(f"ANALYZE {table}"))
    rows = conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = :t"), {"t": table}).scalar_one()
    width = conn.execute(text("SELECT coalesce(sum(avg_width), 0) FROM pg_stats WHERE tablename = :t"),
                         {"t": table}).scalar_one()
    return int(max(float(rows), 0.0) * (int(width) + _POSTGRES_ROW_OVERHEAD))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets `runwatch alerts` read while the daemon writes; incremental vacuum gives space back."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes effect on a new database
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
