"""The runtime source: the container engine's inventory, lifecycle events and resource usage."""

from runwatch.sources.runtime.client import EngineClient, EngineError, EngineUnavailable, find_engine_socket
from runwatch.sources.runtime.source import ContainerUsage, RuntimeSource

__all__ = ["ContainerUsage", "EngineClient", "EngineError", "EngineUnavailable", "RuntimeSource",
           "find_engine_socket"]
