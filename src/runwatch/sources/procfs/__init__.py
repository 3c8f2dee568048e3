"""The procfs source: polling /proc, the fallback where eBPF cannot run."""

from runwatch.sources.procfs.source import LIMITATIONS, ProcfsSource

__all__ = ["LIMITATIONS", "ProcfsSource"]
