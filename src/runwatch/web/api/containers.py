"""/api/containers: containers the engine reported and those only alerts named, with their alerts."""

from __future__ import annotations

from typing import Annotated

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path

from runwatch.store.base import AlertCount, AlertQuery, StoredContainer
from runwatch.web.api.schemas import ContainerDetailOut, ContainerOut, alert_out, container_out
from runwatch.web.auth import require_viewer
from runwatch.web.base import WebParts, parts_of

router = APIRouter(prefix="/api/containers", tags=["containers"],
                   dependencies=[Depends(require_viewer)])


def container_rows(parts: WebParts) -> list[tuple[str, StoredContainer | None, AlertCount | None]]:
    """Every known container: those with open alerts first, then by alert count, then newest."""
    stored = {c.record.id: c for c in parts.store.list_containers()}
    counts = {c.key: c for c in parts.store.alert_counts_by_container()}
    rows = [(cid, stored.get(cid), counts.get(cid)) for cid in {*stored, *counts}]
    rows.sort(key=lambda row: (-(row[2].open_count if row[2] else 0),
                               -(row[2].count if row[2] else 0),
                               -(row[1].last_seen_ns if row[1] else 0), row[0]))
    return rows


@router.get("", response_model=list[ContainerOut])
def list_containers(parts: Annotated[WebParts, Depends(parts_of)]) -> list[ContainerOut]:
    """Containers with their alert counts, those needing attention first."""
    return [container_out(cid, stored, count) for cid, stored, count in container_rows(parts)]


@router.get("/{container_id}", response_model=ContainerDetailOut)
def get_container(container_id: Annotated[str, Path(max_length=64)],
                  parts: Annotated[WebParts, Depends(parts_of)]) -> ContainerDetailOut:
    """One container: what the engine said about it, and its latest alerts."""
    stored = next((c for c in parts.store.list_containers() if c.record.id == container_id), None)
    page = parts.store.search_alerts(AlertQuery(container_id=container_id, limit=50))
    if stored is None and not page.items:
        raise HTTPException(404, f"no container with id {container_id}")
    count = next((c for c in parts.store.alert_counts_by_container() if c.key == container_id), None)
    summary = container_out(container_id, stored, count)
    return ContainerDetailOut(**summary.model_dump(),
                              record=msgspec.to_builtins(stored.record) if stored else None,
                              recent_alerts=[alert_out(a) for a in page.items])
