"""The connectivity map drawn as SVG on the server: no script, no CDN.

Workloads sit on an inner circle, external peers on an outer one; each edge is a line labelled
with its port and protocol. An abnormal edge (outside its profile) is red and links to the alert
it raised.
"""

from __future__ import annotations

import math

from markupsafe import Markup, escape

from runwatch.graph.view import Graph, Node

_NODE_R = 7


def _positions(nodes: list[Node], size: int) -> dict[str, tuple[float, float]]:
    center = size / 2
    inner = [n for n in nodes if n.kind == "workload"]
    outer = [n for n in nodes if n.kind != "workload"]
    placed: dict[str, tuple[float, float]] = {}
    for ring, radius in ((inner, size * 0.22), (outer, size * 0.40)):
        for index, node in enumerate(ring):
            angle = 2 * math.pi * index / max(len(ring), 1) - math.pi / 2
            placed[node.id] = (center + radius * math.cos(angle), center + radius * math.sin(angle))
    return placed


def draw_graph(graph: Graph, size: int = 720) -> Markup:
    """The map as one <svg> element."""
    at = _positions(graph.nodes, size)
    parts = [f'<svg class="graph" viewBox="0 0 {size} {size}" width="100%" role="img" '
             f'aria-label="Connectivity map" xmlns="http://www.w3.org/2000/svg">']
    for edge in graph.edges:
        if edge.source not in at or edge.target not in at:
            continue
        (x1, y1), (x2, y2) = at[edge.source], at[edge.target]
        colour = "#d33" if edge.abnormal else "#8a94a6"
        label = escape(f"{edge.protocol}/{edge.port} ×{edge.count}")
        line = (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" '
                f'stroke-width="{2.5 if edge.abnormal else 1.5}" marker-end="url(#arrow)">'
                f'<title>{escape(edge.source)} → {escape(edge.target)} {label}</title></line>'
                f'<text x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 4:.1f}" fill="{colour}" '
                f'font-size="11" text-anchor="middle">{label}</text>')
        if edge.abnormal and edge.alert_id:
            line = f'<a href="/alerts/{escape(edge.alert_id)}" class="abnormal">{line}</a>'
        parts.append(line)
    for node in graph.nodes:
        x, y = at[node.id]
        fill = "#3b82f6" if node.kind == "workload" else "#f59e0b"
        mode = f" ({node.mode})" if node.mode else ""
        parts.append(f'<g class="node {escape(node.kind)}"><circle cx="{x:.1f}" cy="{y:.1f}" '
                     f'r="{_NODE_R}" fill="{fill}"><title>{escape(node.id)}{escape(mode)}</title>'
                     f'</circle><text x="{x:.1f}" y="{y + _NODE_R + 12:.1f}" font-size="11" '
                     f'text-anchor="middle">{escape(node.id.split("@")[0])}</text></g>')
    parts.insert(1, '<defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" '
                    'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
                    '<path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6"/></marker></defs>')
    parts.append("</svg>")
    return Markup("".join(parts))
