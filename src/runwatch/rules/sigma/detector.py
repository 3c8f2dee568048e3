"""The Sigma detector: each event meets the rules of its logsource, and a match is an alert
that carries the rule's author, id and rule set, as the Detection Rule License asks."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from runwatch.alerts.model import Alert
from runwatch.event import Event
from runwatch.rules.base import ListedRule, ListedRuleset
from runwatch.rules.sigma.loader import CompiledSigmaRule
from runwatch.rules.sigma.logsources import Reader

RULE_SET = "SigmaHQ rules, Detection Rule License 1.1: https://github.com/SigmaHQ/sigma"
_TELLING_FIELDS = ("proc.cmdline", "proc.exepath", "proc.name", "user.name", "user.uid",
                   "fd.name", "fd.sip", "fd.sport", "log.message", "log.program", "log.path",
                   "audit.sequence", "audit.key", "container.id", "container.name", "k8s.ns.name",
                   "k8s.pod.name")


@dataclass(slots=True)
class _Candidates:
    """The rules a record may match: those always tried, and those keyed by a field's value."""

    always: list[CompiledSigmaRule] = field(default_factory=list)
    keyed: dict[str, tuple[Reader, dict[str, list[CompiledSigmaRule]]]] = field(default_factory=dict)

    def for_record(self, record: Mapping[str, object]) -> list[CompiledSigmaRule]:
        rules = list(self.always)
        for read, by_value in self.keyed.values():
            value = read(record)
            if value is not None and not isinstance(value, list):
                rules += by_value.get(str(value).lower(), ())
            elif isinstance(value, list):
                for item in value:
                    rules += by_value.get(str(item).lower(), ())
        return rules


class SigmaDetector:
    """Implements `Detector`; an event raises each matching rule once."""

    name = "sigma"

    def __init__(self, rules: list[CompiledSigmaRule], hostname: str) -> None:
        self.hostname = hostname
        self.rules = rules
        self.ruleset = ListedRuleset(tuple(
            ListedRule(rule.title, rule.description, rule.priority, rule.route.name,
                       ("sigma", *rule.tags)) for rule in rules))
        self._routes = {rule.route.name: rule.route for rule in rules}
        self._index: dict[str, dict[object, _Candidates]] = {name: {} for name in self._routes}
        for rule in rules:
            candidates = self._index[rule.route.name].setdefault(rule.required_type, _Candidates())
            if rule.key_field is None:
                candidates.always.append(rule)
            else:
                _, by_value = candidates.keyed.setdefault(
                    rule.key_field, (rule.route.reader(rule.key_field), {}))
                for value in rule.key_values:
                    by_value.setdefault(value, []).append(rule)

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        for event in batch:
            for name, route in self._routes.items():
                if not route.accepts(event):
                    continue
                index = self._index[name]
                raised: list[CompiledSigmaRule] = []
                for record in route.records(event):
                    for candidates in (index.get(record.get("type")), index.get(None)):
                        if candidates is None:
                            continue
                        for rule in candidates.for_record(record):
                            if rule not in raised and rule.predicate(record):
                                raised.append(rule)
                alerts += [self._alert(rule, event) for rule in raised]
        return alerts

    def _alert(self, rule: CompiledSigmaRule, event: Event) -> Alert:
        fields: dict[str, object] = {key: event[key] for key in _TELLING_FIELDS if key in event}
        fields.update({"sigma.id": rule.id, "sigma.title": rule.title, "sigma.author": rule.author,
                       "sigma.level": rule.level, "sigma.rule_set": RULE_SET})
        told = " ".join(f"{key}={event[key]}" for key in _TELLING_FIELDS[:10] if key in event)
        when = event.get("evt.time")
        container = event.get("container.id")
        source = event.get("evt.source")
        return Alert.create(
            rule=rule.title, priority=rule.priority,
            source=source if isinstance(source, str) else "syscall",
            hostname=str(event.get("evt.hostname") or self.hostname),
            output=f"{rule.title} ({told}) [sigma {rule.id} by {rule.author}]",
            output_fields=fields, tags=["sigma", *rule.tags],
            container_id=container if isinstance(container, str) and container != "host" else None,
            time_ns=when if isinstance(when, int) and when > 0 else time.time_ns())
