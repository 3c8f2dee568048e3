"""/api/health (the /healthz report, behind a token) and the OpenAPI schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from runwatch.web.auth import require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(tags=["system"], dependencies=[Depends(require_viewer)])


@router.get("/api/health")
def health(parts: Annotated[WebParts, Depends(parts_of)]) -> dict[str, Any]:
    """Sources, queues, drops and lost events: what /healthz says, for signed-in users."""
    return parts.health.report()


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    """The OpenAPI schema of this API."""
    return JSONResponse(request.app.openapi())
