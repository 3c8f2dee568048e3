"""Moving events between stages: bounded edges and the bus."""

from runwatch.bus.base import Bus, OverflowPolicy
from runwatch.bus.edge import Edge, EdgeClosed
from runwatch.bus.memory import MemoryBus

__all__ = ["Bus", "Edge", "EdgeClosed", "MemoryBus", "OverflowPolicy"]
