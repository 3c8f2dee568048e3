"""Sources: where events come from."""

from runwatch.sources.base import Source, SourceStatus
from runwatch.sources.procfs import ProcfsSource

__all__ = ["ProcfsSource", "Source", "SourceStatus"]
