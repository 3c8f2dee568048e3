"""/map: the connectivity map page of the dashboard, abnormal edges in red, each a link to the
alert behind it, with the edges listed below."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from runwatch.graph.view import build_graph
from runwatch.web.dashboard import Parts, Viewer, render
from runwatch.web.graph_svg import draw_graph

router = APIRouter(include_in_schema=False)


@router.get("/map")
def connectivity_map(request: Request, parts: Parts, principal: Viewer) -> Response:
    graph = build_graph(parts.store.profiles.list_edges(), parts.store.profiles.load())
    edges = sorted(graph.edges, key=lambda e: (not e.abnormal, e.source, e.target, e.port))
    return render(request, parts, principal, "map.html", svg=draw_graph(graph), edges=edges,
                  nodes=graph.nodes)
