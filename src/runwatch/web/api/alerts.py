"""/api/alerts: search alerts, read one, and acknowledge or resolve it with a comment."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Path

from runwatch.store.base import AlertQuery, AlertStatus, StoredAlert
from runwatch.web.api.filters import alert_query
from runwatch.web.api.schemas import AlertOut, AlertPageOut, StatusIn, alert_out
from runwatch.web.auth import Principal, require_admin, require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

AlertId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The alert's id (32 hex digits)")]


@router.get("", response_model=AlertPageOut, dependencies=[Depends(require_viewer)])
def list_alerts(query: Annotated[AlertQuery, Depends(alert_query)],
                parts: Annotated[WebParts, Depends(parts_of)]) -> AlertPageOut:
    """Alerts matching every given filter, newest first, one page at a time."""
    page = parts.store.search_alerts(query)
    end = query.offset + len(page.items)
    return AlertPageOut(items=[alert_out(a) for a in page.items], total=page.total,
                        limit=query.limit, offset=query.offset,
                        next_offset=end if end < page.total else None)


@router.get("/{alert_id}", response_model=AlertOut, dependencies=[Depends(require_viewer)])
def get_alert(alert_id: AlertId, parts: Annotated[WebParts, Depends(parts_of)]) -> AlertOut:
    """One alert with its output fields and the history of its status."""
    return alert_out(find_alert(parts, alert_id))


@router.post("/{alert_id}/ack", response_model=AlertOut)
def acknowledge(alert_id: AlertId, principal: Annotated[Principal, Depends(require_admin)],
                parts: Annotated[WebParts, Depends(parts_of)],
                change: Annotated[StatusIn | None, Body()] = None) -> AlertOut:
    """Acknowledge an alert (or resolve or reopen it, with `status`), with a comment. Admin only."""
    change = change or StatusIn()
    return alert_out(set_status(parts, alert_id, change.status, principal, change.comment))


@router.post("/{alert_id}/resolve", response_model=AlertOut)
def resolve(alert_id: AlertId, principal: Annotated[Principal, Depends(require_admin)],
            parts: Annotated[WebParts, Depends(parts_of)],
            change: Annotated[StatusIn | None, Body()] = None) -> AlertOut:
    """Resolve an alert with a comment. Admin only."""
    comment = change.comment if change else ""
    return alert_out(set_status(parts, alert_id, AlertStatus.RESOLVED, principal, comment))


@router.get("/{alert_id}/similar", response_model=list[AlertOut],
            dependencies=[Depends(require_viewer)])
def similar(alert_id: AlertId, parts: Annotated[WebParts, Depends(parts_of)]) -> list[AlertOut]:
    """Other alerts of the same rule, those of the same container first."""
    return [alert_out(a) for a in similar_alerts(parts, find_alert(parts, alert_id))]


def find_alert(parts: WebParts, alert_id: str) -> StoredAlert:
    stored = parts.store.get_alert(alert_id)
    if stored is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return stored


def set_status(parts: WebParts, alert_id: str, status: AlertStatus, principal: Principal,
               comment: str) -> StoredAlert:
    changed = parts.store.set_alert_status(alert_id, status, principal.actor, comment.strip(),
                                           time.time_ns())
    if changed is None:
        raise HTTPException(404, f"no alert with id {alert_id}")
    return changed


def similar_alerts(parts: WebParts, stored: StoredAlert, limit: int = 10) -> list[StoredAlert]:
    alert = stored.alert
    found: list[StoredAlert] = []
    if alert.container_id:
        found = parts.store.search_alerts(AlertQuery(rule=alert.rule, container_id=alert.container_id,
                                                     limit=limit + 1)).items
    if len(found) <= limit:
        seen = {s.alert.id for s in found}
        found += [s for s in parts.store.search_alerts(AlertQuery(rule=alert.rule,
                                                                  limit=limit * 2 + 1)).items
                  if s.alert.id not in seen]
    return [s for s in found if s.alert.id != alert.id][:limit]
