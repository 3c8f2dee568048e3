"""The kernel sensor: bpftrace on syscall tracepoints, decoded into events with Falco's fields."""

from runwatch.sources.ebpf.catalog import SUPPORTED_TYPES
from runwatch.sources.ebpf.preflight import check_environment, why_not
from runwatch.sources.ebpf.source import EbpfSource

__all__ = ["SUPPORTED_TYPES", "EbpfSource", "check_environment", "why_not"]
