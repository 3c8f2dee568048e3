"""/api/responses: what automated response did about alerts, and undoing it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from runwatch.errors import RunwatchError
from runwatch.respond.base import ResponseRecord
from runwatch.web.api.schemas import ResponseOut, response_out
from runwatch.web.auth import require_admin, require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api/responses", tags=["responses"])

ResponseId = Annotated[str, Path(max_length=64)]


@router.get("", response_model=list[ResponseOut], dependencies=[Depends(require_viewer)])
def list_responses(parts: Annotated[WebParts, Depends(parts_of)],
                   alert: Annotated[str | None, Query(description="Only those about this alert")] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[ResponseOut]:
    """Response decisions, newest first: done, dry run, skipped or failed, each with its reason."""
    return [response_out(r) for r in parts.store.list_responses(alert_id=alert, limit=limit)]


@router.get("/{response_id}", response_model=ResponseOut, dependencies=[Depends(require_viewer)])
def get_response(response_id: ResponseId, parts: Annotated[WebParts, Depends(parts_of)]) -> ResponseOut:
    record = parts.store.get_response(response_id)
    if record is None:
        raise HTTPException(404, f"no response with id {response_id}")
    return response_out(record)


@router.post("/{response_id}/undo", response_model=ResponseOut, dependencies=[Depends(require_admin)])
def undo_response(response_id: ResponseId, parts: Annotated[WebParts, Depends(parts_of)]) -> ResponseOut:
    """Undo a response: unpause, start again, or reconnect the networks. Admin only."""
    return response_out(undo(parts, response_id))


def undo(parts: WebParts, response_id: str) -> ResponseRecord:
    try:
        record = parts.responses.undo(response_id)
    except RunwatchError as err:
        raise HTTPException(409, err.message) from err
    if record is None:
        raise HTTPException(404, f"no response with id {response_id}")
    return record
