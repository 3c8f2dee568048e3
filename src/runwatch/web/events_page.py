"""/events: search what was recorded, from every source (kernel events, container and host logs,
auditd, Kubernetes audit), with the same filters as /api/events."""

from __future__ import annotations

import dataclasses
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from runwatch.store.base import EventQuery
from runwatch.web.api.filters import event_query
from runwatch.web.dashboard import Parts, Viewer, render
from runwatch.web.views import event_summary

router = APIRouter(include_in_schema=False)

SOURCES = ("syscall", "log", "syslog", "auditd", "k8s_audit", "container")
"""The sources the filter offers; any other can still be typed into the URL."""


@router.get("/events")
def events_page(request: Request, parts: Parts, principal: Viewer,
                query: Annotated[EventQuery, Depends(event_query)]) -> Response:
    found = parts.store.list_events(dataclasses.replace(query, limit=query.limit + 1))
    has_more = len(found) > query.limit
    events = found[:query.limit]
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset" and v]
    rows = [(event, event_summary(event)) for event in events]
    return render(request, parts, principal, "events.html", rows=rows, query=query,
                  filters=dict(params), fields_filter=request.query_params.getlist("field"),
                  sources=SOURCES, is_filtered=bool(params),
                  prev_link=_page_link(params, max(0, query.offset - query.limit))
                  if query.offset else None,
                  next_link=_page_link(params, query.offset + query.limit) if has_more else None,
                  first=query.offset + 1 if events else 0, last=query.offset + len(events))


def _page_link(params: list[tuple[str, str]], offset: int) -> str:
    return "/events?" + urlencode([*params, ("offset", str(offset))])
