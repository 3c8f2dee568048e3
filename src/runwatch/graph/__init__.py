"""The connectivity map: who talks to whom, on which port, and which of it the profiles lack."""

from runwatch.graph.map import ConnectivityMap, Edge, EdgeKey

__all__ = ["ConnectivityMap", "Edge", "EdgeKey"]
