"""/api/overview: alerts over time by priority, open alerts, and the rules and containers alerting most."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from runwatch.alerts.model import format_time
from runwatch.store.base import AlertOverview
from runwatch.web.api.filters import invalid, parse_time
from runwatch.web.api.schemas import CountOut, count_out
from runwatch.web.auth import require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api", tags=["overview"], dependencies=[Depends(require_viewer)])

BUCKETS = 48
TOP = 10


class BucketOut(BaseModel):
    start: str
    counts: dict[str, int]


class OverviewOut(BaseModel):
    since: str
    until: str
    bucket_seconds: float
    buckets: list[BucketOut]
    by_priority: dict[str, int]
    open_by_priority: dict[str, int]
    by_status: dict[str, int]
    top_rules: list[CountOut]
    top_containers: list[CountOut]


def window_overview(parts: WebParts, window: str) -> AlertOverview:
    """The overview of the last `window` ('1h', '24h', '7d')."""
    now = time.time_ns()
    try:
        since = parse_time(window, now)
    except ValueError as err:
        raise invalid("window", str(err), window) from None
    if since >= now:
        raise invalid("window", "expected a duration before now such as 1h, 24h or 7d", window)
    return parts.store.alert_overview(since, now, BUCKETS, TOP)


@router.get("/overview", response_model=OverviewOut)
def overview(parts: Annotated[WebParts, Depends(parts_of)],
             window: Annotated[str, Query(description="How far back: 1h, 24h, 7d, ...")] = "24h"
             ) -> OverviewOut:
    """What needs attention: counts by priority and status, the histogram, the top rules and containers."""
    view = window_overview(parts, window)
    return OverviewOut(
        since=format_time(view.since_ns), until=format_time(view.until_ns),
        bucket_seconds=view.bucket_ns / 1e9,
        buckets=[BucketOut(start=format_time(view.since_ns + i * view.bucket_ns),
                           counts={p.label: n for p, n in sorted(counts.items())})
                 for i, counts in enumerate(view.buckets)],
        by_priority={p.label: n for p, n in sorted(view.by_priority.items())},
        open_by_priority={p.label: n for p, n in sorted(view.open_by_priority.items())},
        by_status={str(s): n for s, n in view.by_status.items()},
        top_rules=[count_out(c) for c in view.top_rules],
        top_containers=[count_out(c) for c in view.top_containers])
