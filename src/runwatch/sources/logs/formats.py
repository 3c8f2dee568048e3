"""Each log format as a line decoder, and the registry the config's `format:` names."""

from __future__ import annotations

from collections.abc import Callable

from runwatch.config import LogFileConfig, LogsSourceConfig
from runwatch.event import Event
from runwatch.sources.logs import auditd, k8s_audit
from runwatch.sources.logs.base import LineDecoder
from runwatch.sources.logs.syslog import PROVIDED_FIELDS as SYSLOG_FIELDS
from runwatch.sources.logs.syslog import decode_syslog_line


class SyslogDecoder:
    """Every line is an event; a line that is not syslog's shape is kept whole."""

    def __init__(self, service: str = "") -> None:
        self.service = service

    def decode(self, line: str, where: str) -> list[Event]:
        return [decode_syslog_line(line, self.service)]

    def flush(self, now_ns: int) -> list[Event]:
        return []


FORMATS: dict[str, Callable[[LogFileConfig, LogsSourceConfig], LineDecoder]] = {
    "syslog": lambda entry, settings: SyslogDecoder(entry.service),
    "k8s_audit": lambda entry, settings: k8s_audit.K8sAuditDecoder(),
    "auditd": lambda entry, settings: auditd.AuditdDecoder(settings.auditd_group_wait_s),
}
"""The decoder for each `format:` of `sources.logs.files`."""

FORMAT_FIELDS: dict[str, frozenset[str]] = {
    "syslog": SYSLOG_FIELDS,
    "k8s_audit": k8s_audit.PROVIDED_FIELDS,
    "auditd": auditd.PROVIDED_FIELDS,
}
"""The fields each format's events can carry (`log.path` is added to all)."""
