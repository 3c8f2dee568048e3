"""The filters and aggregates behind alert and event searches, as SQLAlchemy Core, for both dialects.

Every filter becomes a WHERE clause on an indexed column where there is one (time, priority,
rule, container, image, status); tags, free text and arbitrary event fields are matched in the
stored JSON text, bounded by whichever indexed filters come with them.
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import JSON, and_, case, cast, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ColumnElement, Select

from runwatch.alerts.model import Alert, Priority
from runwatch.store.base import (AlertActivity, AlertCount, AlertOrder, AlertOverview, AlertQuery,
                                 AlertStatus, EventQuery, StoredAlert)
from runwatch.store.schema import alerts, events


def alert_image(alert: Alert) -> str | None:
    """The image repository an alert concerns, from its Falco fields ('docker.io/library/nginx')."""
    repository = alert.output_fields.get("container.image.repository")
    if isinstance(repository, str) and repository:
        return repository
    image = alert.output_fields.get("container.image")
    if isinstance(image, str) and image:
        name = image.split("@", 1)[0]
        slash = name.rfind("/")
        colon = name.rfind(":")
        return name[:colon] if colon > slash else name
    return None


def alert_conditions(query: AlertQuery, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE clauses of an alert query, in the order that narrows most with an index first."""
    c = alerts.c
    where: list[ColumnElement[bool]] = []
    if query.since_ns is not None:
        where.append(c.time_ns >= query.since_ns)
    if query.until_ns is not None:
        where.append(c.time_ns < query.until_ns)
    if query.min_priority is not None:
        where.append(c.priority <= int(query.min_priority))
    if query.priorities:
        where.append(c.priority.in_([int(p) for p in query.priorities]))
    if query.rule is not None:
        where.append(c.rule == query.rule)
    if query.container_id is not None:
        where.append(c.container_id == query.container_id)
    if query.image is not None:
        where.append(c.image == query.image)
    if query.status is not None:
        # With a text test reading every row anyway, SQLite would walk the status index (three
        # values: it narrows little) and look each row up, four times slower than a plain scan
        # (bench/api_latency.py, open alerts containing 'shadow': 160 ms -> 40 ms). `status || ''`
        # cannot use an index, so the planner scans, or walks the time index for a page.
        status = c.status.concat("") if query.text and dialect == "sqlite" else c.status
        where.append(status == str(query.status))
    if query.tag is not None:
        # tags are stored as a JSON array: '["container","T1059"]'; match one whole element
        where.append(c.tags.contains(orjson.dumps(query.tag).decode(), autoescape=True))
    if query.text:
        where.append(_contains(c.output, query.text, dialect) | _contains(c.rule, query.text, dialect))
    return where


def event_conditions(query: EventQuery, dialect: str) -> list[ColumnElement[bool]]:
    c = events.c
    where: list[ColumnElement[bool]] = []
    if query.since_ns is not None:
        where.append(c.time_ns >= query.since_ns)
    if query.until_ns is not None:
        where.append(c.time_ns < query.until_ns)
    if query.evt_type is not None:
        where.append(c.evt_type == query.evt_type)
    if query.container_id is not None:
        where.append(c.container_id == query.container_id)
    if query.source is not None:
        where.append(c.source == query.source)
    fields = list(query.fields)
    if query.image is not None:
        fields.append(("container.image.repository", query.image))
    for name, value in fields:
        if name == "proc.name":
            where.append(c.proc_name == value)
        else:
            where.append(event_field(name, dialect) == value)
    if query.text:
        where.append(_contains(c.fields, query.text, dialect))
    return where


def event_field(name: str, dialect: str) -> ColumnElement[str]:
    """One field of the stored event JSON as text: json_extract in SQLite, ->> in PostgreSQL."""
    document = cast(events.c.fields, JSON) if dialect == "postgresql" \
        else type_coerce(events.c.fields, JSON)
    value: ColumnElement[str] = document[name].as_string()
    return value


def _contains(column: Any, text: str, dialect: str) -> ColumnElement[bool]:
    """Case-insensitive substring: SQLite's LIKE already ignores ASCII case (lower() would cost).
    LIKE's wildcards in the text are escaped, only when there are any: an ESCAPE clause makes
    SQLite's LIKE a third slower."""
    escape = any(char in text for char in "%_/")
    if dialect == "postgresql":
        return column.icontains(text, autoescape=escape)  # type: ignore[no-any-return]
    return column.contains(text, autoescape=escape)  # type: ignore[no-any-return]


def alert_rows(statement: Select[Any], query: AlertQuery | None = None, dialect: str = "") -> Select[Any]:
    """Newest first, or the most severe first (`query.order`). On SQLite a search that reads every row's text (free text, a tag) sorts its
    matches rather than walk the time index looking each row up: with few matches that walk
    visits every alert (100k alerts, a tag nobody has: 340 ms walking, 40 ms scanning)."""
    time_ns: Any = alerts.c.time_ns
    if dialect == "sqlite" and query is not None and (query.text or query.tag):
        time_ns = time_ns + 0  # an expression: no index can order it
    if query is not None and query.order == AlertOrder.SEVERITY:
        return statement.order_by(alerts.c.priority, time_ns.desc(), alerts.c.id.desc())
    return statement.order_by(time_ns.desc(), alerts.c.id.desc())


def row_to_alert(row: Any) -> Alert:
    return Alert(id=row.id, time_ns=row.time_ns, rule=row.rule, priority=Priority(row.priority),
                 source=row.source, hostname=row.hostname, container_id=row.container_id,
                 output=row.output, tags=orjson.loads(row.tags),
                 output_fields=orjson.loads(row.output_fields))


def row_to_stored_alert(row: Any) -> StoredAlert:
    activity = tuple(AlertActivity(time_ns=int(item["time_ns"]), actor=str(item["actor"]),
                                   status=AlertStatus(item["status"]), comment=str(item["comment"]))
                     for item in orjson.loads(row.activity or "[]"))
    return StoredAlert(alert=row_to_alert(row), status=AlertStatus(row.status or "open"),
                       status_ns=row.status_ns, status_by=row.status_by,
                       status_comment=row.status_comment, activity=activity)


def activity_json(activity: tuple[AlertActivity, ...]) -> str:
    return orjson.dumps([{"time_ns": a.time_ns, "actor": a.actor, "status": str(a.status),
                          "comment": a.comment} for a in activity]).decode()


def overview(conn: Connection, since_ns: int, until_ns: int, buckets: int, top: int) -> AlertOverview:
    """Counts over time by priority, open counts, and the rules and containers alerting most.

    Each query reads one covering index (measured with bench/api_latency.py: 100k alerts in the
    window cost tens of milliseconds each in SQLite): the histogram groups on one integer,
    slot * 8 + priority, over (time_ns, priority); the status counts scan (status, priority,
    time_ns); the tops scan (rule|container_id, time_ns, priority, status) in group order.
    """
    bucket_ns = max(1, -(-(until_ns - since_ns) // buckets))
    dialect = conn.dialect.name
    in_window = and_(alerts.c.time_ns >= since_ns, alerts.c.time_ns < until_ns)
    key = ((alerts.c.time_ns - since_ns) // bucket_ns * 8 + alerts.c.priority).label("k")
    histogram: list[dict[Priority, int]] = [{} for _ in range(buckets)]
    by_priority: dict[Priority, int] = {}
    for packed, count in conn.execute(select(key, func.count()).where(in_window).group_by(key)):
        slot, priority = divmod(int(packed), 8)
        histogram[min(slot, buckets - 1)][Priority(priority)] = \
            histogram[min(slot, buckets - 1)].get(Priority(priority), 0) + count
        by_priority[Priority(priority)] = by_priority.get(Priority(priority), 0) + count
    open_by_priority: dict[Priority, int] = {}
    by_status: dict[AlertStatus, int] = {}
    by_state = select(alerts.c.status, alerts.c.priority, func.count()) \
        .where(_scan_window(since_ns, until_ns, dialect)).group_by(alerts.c.status, alerts.c.priority)
    for status_value, priority_value, count in conn.execute(by_state):
        status = AlertStatus(status_value)
        by_status[status] = by_status.get(status, 0) + count
        if status == AlertStatus.OPEN:
            open_by_priority[Priority(priority_value)] = count
    scan = _scan_window(since_ns, until_ns, dialect)
    return AlertOverview(
        since_ns=since_ns, until_ns=until_ns, bucket_ns=bucket_ns, buckets=histogram,
        by_priority=by_priority, open_by_priority=open_by_priority, by_status=by_status,
        top_rules=top_counts(conn, alerts.c.rule, scan, top),
        top_containers=top_counts(conn, alerts.c.container_id,
                                  and_(scan, alerts.c.container_id.is_not(None)), top))


def _scan_window(since_ns: int, until_ns: int, dialect: str) -> ColumnElement[bool]:
    """The time window, written so SQLite's planner walks a covering index in GROUP BY order
    instead of the time index (which would look up each row): `time_ns + 0` cannot use an index.
    PostgreSQL's planner needs no steering."""
    time_ns: Any = alerts.c.time_ns + 0 if dialect == "sqlite" else alerts.c.time_ns
    return and_(time_ns >= since_ns, time_ns < until_ns)


def top_counts(conn: Connection, key: Any, where: ColumnElement[bool], top: int | None
               ) -> list[AlertCount]:
    """Alerts grouped by `key`: the most frequent first, ties broken by the worse priority."""
    count = func.count().label("n")
    is_open = func.sum(case((alerts.c.status == str(AlertStatus.OPEN), 1), else_=0)).label("open")
    statement = select(key.label("key"), count, func.min(alerts.c.priority).label("worst"),
                       func.max(alerts.c.time_ns).label("last"), is_open).where(where) \
        .group_by(key).order_by(count.desc(), func.min(alerts.c.priority))
    if top is not None:
        statement = statement.limit(top)
    return [AlertCount(key=str(row.key), count=int(row.n), priority=Priority(row.worst),
                       last_ns=int(row.last), open_count=int(row.open or 0))
            for row in conn.execute(statement)]
