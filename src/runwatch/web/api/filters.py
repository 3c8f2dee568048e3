"""Query parameters shared by the API and the dashboard, read into store queries.

The dashboard's filter form uses the same names, so a filtered page's URL and the API call that
returns the same alerts differ only in their path. A malformed value is a 422 naming the
parameter, in FastAPI's own shape.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query
from fastapi.exceptions import RequestValidationError

from runwatch.store.base import AlertOrder, AlertQuery, AlertStatus, EventQuery
from runwatch.web.api.schemas import PriorityName

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+(\[[^\]]+\])?$")
MAX_LIMIT = 1000

TIME_HELP = ("ISO 8601 time ('2024-05-01T12:00:00Z'; no zone means UTC), a duration before now "
             "('15m', '24h', '7d') or ns since the epoch")


def parse_time(text: str, now_ns: int | None = None) -> int:
    """A point in time as ns since the epoch; ValueError saying what is expected."""
    text = text.strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    if text.isdigit():
        return int(text)
    match = _DURATION.match(text)
    if match:
        return now_ns - int(float(match.group(1)) * _UNIT_S[match.group(2)] * 1e9)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected {TIME_HELP}, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000


def invalid(name: str, message: str, value: object) -> RequestValidationError:
    """A 422 for one query parameter, shaped like FastAPI's own validation errors."""
    return RequestValidationError([{"type": "value_error", "loc": ("query", name), "msg": message,
                                    "input": value}])


def _time(name: str, text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_time(text)
    except ValueError as err:
        raise invalid(name, str(err), text) from None


def _text(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


Since = Annotated[str | None, Query(description=f"Only newer than this: {TIME_HELP}")]
Until = Annotated[str | None, Query(description=f"Only older than this: {TIME_HELP}")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page")]
Offset = Annotated[int, Query(ge=0, description="Items to skip (pagination)")]
Container = Annotated[str | None, Query(description="Container id (12 characters, as in alerts)")]
Image = Annotated[str | None, Query(description="Image repository, e.g. docker.io/library/nginx")]
Text = Annotated[str | None, Query(alias="q", max_length=200,
                                   description="Case-insensitive text anywhere in the output or rule")]


def alert_query(
    since: Since = None,
    until: Until = None,
    priority: Annotated[list[PriorityName], Query(
        description="Exact priorities; repeat for several")] = [],  # noqa: B006 (FastAPI copies it)
    min_priority: Annotated[PriorityName | None, Query(
        description="At least this severe")] = None,
    rule: Annotated[str | None, Query(description="Exact rule name")] = None,
    tag: Annotated[str | None, Query(description="One tag the alert carries, e.g. mitre_execution")] = None,
    container: Container = None,
    image: Image = None,
    text: Text = None,
    status: Annotated[AlertStatus | None, Query(description="open, acknowledged or resolved")] = None,
    sort: Annotated[AlertOrder, Query(description="newest first, or severity: the most severe "
                                                  "first (newest first within a priority)")
                    ] = AlertOrder.NEWEST,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AlertQuery:
    """Alert filters from the query string (a FastAPI dependency)."""
    since_ns, until_ns = _time("since", since), _time("until", until)
    if since_ns is not None and until_ns is not None and since_ns >= until_ns:
        raise invalid("until", "until must be later than since", until)
    return AlertQuery(since_ns=since_ns, until_ns=until_ns,
                      priorities=tuple(p.priority for p in priority),
                      min_priority=min_priority.priority if min_priority else None,
                      rule=_text(rule), tag=_text(tag), container_id=_text(container),
                      image=_text(image), text=_text(text), status=status, order=sort,
                      limit=limit, offset=offset)


def event_query(
    since: Since = None,
    until: Until = None,
    type: Annotated[str | None, Query(description="Event type, e.g. execve, openat, connect")] = None,  # noqa: A002
    source: Annotated[str | None, Query(description="syscall, container, k8s_audit, ...")] = None,
    container: Container = None,
    image: Image = None,
    text: Text = None,
    field: Annotated[list[str], Query(
        description="NAME=VALUE: any Falco field equal to a value (as text), e.g. "
                    "proc.name=sh or fd.name=/etc/shadow; repeat for several")] = [],  # noqa: B006
    limit: Limit = 100,
    offset: Offset = 0,
) -> EventQuery:
    """Event filters from the query string (a FastAPI dependency)."""
    pairs: list[tuple[str, str]] = []
    for item in field:
        name, sep, value = item.partition("=")
        if not sep or not _FIELD_NAME.match(name.strip()):
            raise invalid("field", "expected NAME=VALUE with a Falco field name such as "
                                   "proc.name=sh", item)
        pairs.append((name.strip(), value))
    since_ns, until_ns = _time("since", since), _time("until", until)
    return EventQuery(since_ns=since_ns, until_ns=until_ns, evt_type=_text(type),
                      source=_text(source), container_id=_text(container), image=_text(image),
                      text=_text(text), fields=tuple(pairs), limit=limit, offset=offset)
