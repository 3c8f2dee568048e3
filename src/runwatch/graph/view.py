"""The connectivity map as people see it: nodes (workloads and external peers) and edges, each
edge marked abnormal while its connection lies outside the profile that saw it."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from runwatch.graph.map import Edge
from runwatch.profiles.model import Kind, Mode, Profile
from runwatch.profiles.state import Origin, StoredProfile


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    kind: str  # "workload" or "external"
    mode: Mode | None = None


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: list[Node]
    edges: list[Edge]


def build_graph(edges: list[Edge], profiles: list[StoredProfile]) -> Graph:
    """Nodes and edges; an edge stays abnormal until its peer is learned or accepted."""
    learned: dict[str, Profile] = {}
    modes: dict[str, Mode] = {}
    for stored in profiles:
        profile = learned[stored.record.workload] = Profile()
        modes[stored.record.workload] = stored.record.mode
        for item in stored.items:
            if item.origin != Origin.IMAGE_DIFF:
                profile.add(item.kind, item.item)
    shown: list[Edge] = []
    for edge in edges:
        port = str(edge.port)
        if edge.source in learned:
            covered = learned[edge.source].covers(Kind.OUTBOUND, (edge.target, port, edge.protocol))
        else:
            target = learned.get(edge.target)
            covered = target is not None and target.covers(Kind.INBOUND,
                                                           (edge.source, port, edge.protocol))
        shown.append(msgspec.structs.replace(edge, abnormal=edge.abnormal and not covered))
    names = sorted({name for edge in edges for name in (edge.source, edge.target)} | set(modes))
    nodes = [Node(name, "workload", modes[name]) if name in modes else Node(name, "external")
             for name in names]
    return Graph(nodes, shown)
