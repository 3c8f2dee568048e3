"""/api/events: the stored events, by time, type, source, container, image, text or any field."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends

from runwatch.store.base import EventQuery
from runwatch.web.api.filters import event_query
from runwatch.web.api.schemas import EventPageOut
from runwatch.web.auth import require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api/events", tags=["events"], dependencies=[Depends(require_viewer)])


@router.get("", response_model=EventPageOut)
def list_events(query: Annotated[EventQuery, Depends(event_query)],
                parts: Annotated[WebParts, Depends(parts_of)]) -> EventPageOut:
    """Events matching every filter, newest first. Each is the flat mapping of Falco field names."""
    found = parts.store.list_events(replace(query, limit=query.limit + 1))  # one more: a next page?
    more = len(found) > query.limit
    return EventPageOut(items=found[:query.limit], limit=query.limit, offset=query.offset,
                        next_offset=query.offset + query.limit if more else None)
