"""The Falco rules detector: matches batches against a compiled ruleset and builds alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from runwatch.alerts.model import Alert
from runwatch.event import Event
from runwatch.rules.falco.append import AppendEntry
from runwatch.rules.falco.ruleset import Rule, Ruleset

log = logging.getLogger(__name__)


class FalcoDetector:
    """Implements `Detector` for Falco rules; alerts come out in event order, then rule order."""

    name = "falco"

    def __init__(self, ruleset: Ruleset, hostname: str, append: Sequence[AppendEntry] = ()) -> None:
        self.ruleset = ruleset
        self.hostname = hostname
        self.append = tuple(append)
        self.failed_events = 0
        self._appends: dict[str, tuple[AppendEntry, ...]] = {
            rule.name: tuple(entry for entry in self.append if entry.applies_to(rule))
            for rule in ruleset.rules}

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        match = self.ruleset.match
        rules = self.ruleset.rules
        for event in batch:
            try:
                hits = match(event)
            except (TypeError, AttributeError, ValueError) as err:
                self._count_failure(event, err)
                continue
            for index in hits:
                alerts.append(self.alert(rules[index], event))
        return alerts

    def alert(self, rule: Rule, event: Event) -> Alert:
        """The alert one rule raises for one event."""
        output, fields = rule.output.render(event)
        for entry in self._appends.get(rule.name, ()):
            output = entry.add_to(output, fields, event)
        when = event.get("evt.time")
        host = event.get("evt.hostname")
        container = event.get("container.id")
        return Alert.create(
            rule=rule.name, priority=rule.priority, source=rule.source,
            hostname=host if isinstance(host, str) and host else self.hostname,
            output=output, output_fields=fields, tags=list(rule.tags),
            container_id=container if isinstance(container, str) else None,
            time_ns=when if isinstance(when, int) and not isinstance(when, bool) and when > 0
            else time.time_ns())

    def _count_failure(self, event: Event, err: Exception) -> None:
        """A value of the wrong type in an event: say it once, count the rest."""
        if self.failed_events == 0:
            log.error("event has a field of the wrong type; rules skipped for it",
                      extra={"error": str(err), "evt_type": event.get("evt.type")})
        self.failed_events += 1
