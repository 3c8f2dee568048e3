"""/api/stream: new alerts as server-sent events, as they are raised.

Each alert is an `alert` event whose data is the alert's JSON (as /api/alerts/{id} returns it)
and whose id is the alert's id. Comments keep idle connections open through proxies; a `lost`
event says how many alerts a slow reader missed (reload the list to see them).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from runwatch.store.base import StoredAlert
from runwatch.web.api.schemas import PriorityName, alert_out
from runwatch.web.auth import require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api", tags=["stream"], dependencies=[Depends(require_viewer)])

KEEPALIVE_S = 15.0


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "`event: alert` per new alert; `event: lost` with a count"}})
async def stream(request: Request, parts: Annotated[WebParts, Depends(parts_of)],
                 min_priority: Annotated[PriorityName | None, Query(
                     description="Only alerts at least this severe")] = None) -> StreamingResponse:
    """New alerts as they are raised, until the client goes away or the daemon stops."""
    floor = min_priority.priority if min_priority else None
    subscription = parts.stream.subscribe()

    async def events() -> AsyncIterator[str]:
        reported = 0
        try:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    alert = await asyncio.wait_for(subscription.queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if subscription.dropped > reported:
                    yield f"event: lost\ndata: {subscription.dropped - reported}\n\n"
                    reported = subscription.dropped
                if alert is None:
                    return
                if floor is not None and not alert.priority.is_at_least(floor):
                    continue
                body = alert_out(StoredAlert(alert)).model_dump_json()
                yield f"id: {alert.id}\nevent: alert\ndata: {body}\n\n"
        finally:
            subscription.close()

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
