"""/map: the connectivity map page of the dashboard, abnormal edges in red, each a link to the
alert behind it, with the edges listed below."""

from __future__ import annotations

from typing import Annotated

from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from runwatch.graph.view import build_graph
from runwatch.web.auth import authenticator_of
from runwatch.web.base import WebParts, parts_of
from runwatch.web.graph_svg import draw_graph
from runwatch.web.templates import templates

router = APIRouter(include_in_schema=False)


@router.get("/map")
def connectivity_map(request: Request, parts: Annotated[WebParts, Depends(parts_of)]) -> Response:
    principal = authenticator_of(request).authenticate(request)
    if principal is None:  # as every dashboard page: sign in, then come back
        raise HTTPException(303, "sign in first", headers={"Location": f"/login?next={quote('/map')}"})
    graph = build_graph(parts.store.profiles.list_edges(), parts.store.profiles.load())
    edges = sorted(graph.edges, key=lambda e: (not e.abnormal, e.source, e.target, e.port))
    return templates.TemplateResponse(request, "map.html", {
        "principal": principal, "csrf": principal.session.csrf if principal.session else "",
        "health": parts.health.report(), "page": "map", "svg": draw_graph(graph), "edges": edges,
        "nodes": graph.nodes})
