"""The alert for a secret written to a log: which kind of secret, where, and the redacted line
(the redaction enricher has already cut the secret out; this never sees it)."""

from __future__ import annotations

import time

from runwatch.alerts.model import Alert
from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.rules.base import ListedRule, ListedRuleset

RULE = "Secret in log"
_CRITICAL_MARKERS = ("private-key", "aws", "gcp", "azure", "alibaba", "digitalocean", "heroku",
                     "github", "gitlab", "vault", "kubernetes")
"""Rule ids of keys that open a cloud account, a code host or a cluster by themselves."""
_SHOWN = ("log.secrets", "log.path", "log.stream", "log.program", "log.message", "container.id",
          "container.name", "evt.source")


class SecretLeakDetector:
    """Implements `Detector`: one alert per event whose log line held a secret."""

    name = "secrets"

    def __init__(self, hostname: str) -> None:
        self.hostname = hostname
        self.ruleset = ListedRuleset((ListedRule(
            RULE, "a secret (key, token, password) was written to a log", Priority.CRITICAL,
            source="log", tags=("secrets", "mitre_credential_access")),))

    def match(self, batch: list[Event]) -> list[Alert]:
        return [self._alert(event) for event in batch if event.get("log.secrets")]

    def _alert(self, event: Event) -> Alert:
        kinds = [str(kind) for kind in event["log.secrets"]]  # type: ignore[attr-defined]
        is_critical = any(marker in kind for kind in kinds for marker in _CRITICAL_MARKERS)
        container = event.get("container.id")
        where = f"container {container}" if isinstance(container, str) and container != "host" \
            else f"file {event.get('log.path', '<NA>')}"
        fields: dict[str, object] = {key: event[key] for key in _SHOWN if key in event}
        when = event.get("evt.time")
        return Alert.create(
            rule=RULE, priority=Priority.CRITICAL if is_critical else Priority.ERROR,
            source=str(event.get("evt.source") or "log"),
            hostname=str(event.get("evt.hostname") or self.hostname),
            output=f"Secret in log ({', '.join(kinds)}) in {where}: {event.get('log.message', '')}",
            output_fields=fields, tags=["secrets", "mitre_credential_access"],
            container_id=container if isinstance(container, str) and container != "host" else None,
            time_ns=when if isinstance(when, int) and when > 0 else time.time_ns())
