"""Events and alerts sent in over HTTP: the Kubernetes API server's audit webhook, and Falco's
alerts (its `http_output`, as Falcosidekick receives them).

Point the API server's `--audit-webhook-config-file` at `POST /api/k8s-audit` with an `ingest`
token as the kubeconfig user's token. Each request is an `EventList`; its good items are accepted
even when some are bad (those are listed in the answer). When runwatch's queue is full the answer
is 503 and the API server sends the batch again later.

Falco: `http_output: {enabled: true, url: "http://RUNWATCH:8080/api/falco?token=INGEST_TOKEN"}`
(Falco cannot send a header, so the token rides in the URL: use an ingest token, which reads
nothing). Its alerts join runwatch's own before repeat folding.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request, status

from runwatch.alerts.falco_json import FalcoAlertError, alert_from_falco_json
from runwatch.sources.logs.base import LogLineError
from runwatch.sources.logs.k8s_audit import decode_audit_json
from runwatch.web.auth import Principal, require_ingest
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api", tags=["ingest"])

MAX_BODY_BYTES = 32 << 20
_SHOWN_ERRORS = 20


@router.post("/k8s-audit", summary="Receive Kubernetes audit events (the API server's webhook)")
async def receive_k8s_audit(request: Request, parts: Annotated[WebParts, Depends(parts_of)],
                            principal: Annotated[Principal, Depends(require_ingest)]
                            ) -> dict[str, object]:
    intake = parts.audit_intake
    if intake is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            "the Kubernetes audit webhook is off (sources.logs.k8s_audit_webhook)")
    body = await _body(request)
    try:
        payload = decode_audit_json(body, "request body")
    except LogLineError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
    rejected = [str(err) for err in payload.errors[:_SHOWN_ERRORS]]
    if payload.errors and not payload.events:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            {"message": "no audit event in the request could be read",
                             "errors": rejected})
    if not intake.submit(payload.events, len(payload.errors)):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "event queue is full; retry",
                            headers={"Retry-After": "1"})
    return {"accepted": len(payload.events), "rejected": len(payload.errors), "errors": rejected}


@router.post("/falco", summary="Receive Falco alerts (Falco's http_output, JSON)")
async def receive_falco_alerts(request: Request, parts: Annotated[WebParts, Depends(parts_of)],
                               principal: Annotated[Principal, Depends(require_ingest)]
                               ) -> dict[str, object]:
    inbox = parts.alert_inbox
    if inbox is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "alerts cannot be received here")
    body = await _body(request)
    try:
        sent = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"request body: not JSON: {err}") from None
    items = sent if isinstance(sent, list) else [sent]
    alerts, errors = [], []
    for index, item in enumerate(items):
        try:
            alerts.append(alert_from_falco_json(
                item, f"request body[{index}]" if isinstance(sent, list) else "request body"))
        except FalcoAlertError as err:
            errors.append(str(err))
    if errors and not alerts:
        raise HTTPException(status.HTTP_400_BAD_REQUEST,
                            {"message": "no alert in the request could be read",
                             "errors": errors[:_SHOWN_ERRORS]})
    await inbox.receive(alerts)
    return {"accepted": len(alerts), "rejected": len(errors), "errors": errors[:_SHOWN_ERRORS]}


async def _body(request: Request) -> bytes:
    """The request body, refused (413) past MAX_BODY_BYTES."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"request body over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            f"request body over {MAX_BODY_BYTES} bytes")
    return body
