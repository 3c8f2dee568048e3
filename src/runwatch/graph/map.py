"""Edges between workloads and external peers, counted as network events arrive.

The detect stage records each connection once: from the client's side when it is a known
workload, else from the server's side (an external client). What accumulates between two store
writes is handed over as deltas and added to the stored edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

EdgeKey = tuple[str, str, int, str]
"""(source, target, server port, protocol): source is the client, target the server."""


class Edge(msgspec.Struct, kw_only=True):
    """One edge: who connected to whom, on which server port, how often and when."""

    source: str
    target: str
    port: int
    protocol: str
    first_ns: int
    last_ns: int
    count: int
    abnormal: bool = False
    alert_id: str | None = None

    @property
    def key(self) -> EdgeKey:
        return (self.source, self.target, self.port, self.protocol)


@dataclass
class ConnectivityMap:
    """Edge deltas since the last `take`: counts to add, times to widen, the newest alert."""

    pending: dict[EdgeKey, Edge]

    def __init__(self) -> None:
        self.pending = {}

    def observe(self, key: EdgeKey, time_ns: int, abnormal: bool, alert_id: str | None) -> None:
        edge = self.pending.get(key)
        if edge is None:
            self.pending[key] = Edge(source=key[0], target=key[1], port=key[2], protocol=key[3],
                                     first_ns=time_ns, last_ns=time_ns, count=1, abnormal=abnormal,
                                     alert_id=alert_id)
            return
        edge.count += 1
        edge.first_ns = min(edge.first_ns, time_ns)
        edge.last_ns = max(edge.last_ns, time_ns)
        edge.abnormal = edge.abnormal or abnormal
        edge.alert_id = alert_id or edge.alert_id

    def take(self) -> list[Edge]:
        """The deltas gathered so far; the map starts again empty."""
        edges, self.pending = list(self.pending.values()), {}
        return edges
