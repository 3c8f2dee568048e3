"""The Sigma detector: each event meets only the rules of its logsource that can match it, and a
match is an alert carrying the rule's author, id and rule set, as the Detection Rule License
asks."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from runwatch.alerts.model import Alert
from runwatch.event import Event
from runwatch.rules.base import ListedRule, ListedRuleset
from runwatch.rules.sigma.compiler import reader_of
from runwatch.rules.sigma.loader import CompiledSigmaRule
from runwatch.rules.sigma.logsources import Accessor, Record, Route
from runwatch.rules.sigma.values import text_of

Reader = Callable[[Record], object]


@dataclass(slots=True)
class _Bucket:
    """The rules a record may match: those always tried, and those a field's base name picks
    (`a0: getcap` is tried only on records whose a0 ends in 'getcap')."""

    always: list[CompiledSigmaRule] = field(default_factory=list)
    keyed: list[tuple[Reader, dict[str, list[CompiledSigmaRule]]]] = field(default_factory=list)
    _keyed_by: dict[str, int] = field(default_factory=dict)

    def add(self, rule: CompiledSigmaRule) -> None:
        key = rule.condition.key
        if key is None:
            self.always.append(rule)
            return
        name, base_names = key
        if name not in self._keyed_by:
            self._keyed_by[name] = len(self.keyed)
            self.keyed.append((reader_of(rule.condition.fields[name], rule.route), {}))
        table = self.keyed[self._keyed_by[name]][1]
        for base_name in base_names:
            table.setdefault(base_name, []).append(rule)

    def candidates(self, record: Record) -> list[CompiledSigmaRule]:
        if not self.keyed:
            return self.always
        found = list(self.always)
        for read, table in self.keyed:
            value = read(record)
            if value is None:
                continue
            for item in (value if isinstance(value, list) else (value,)):
                hits = table.get(text_of(item).rpartition("/")[2])
                if hits:
                    found += hits
        return found


@dataclass(slots=True)
class _RouteIndex:
    route: Route
    by_type: dict[str, _Bucket] = field(default_factory=dict)
    """auditd: rules needing one of a few record types, under each of them."""
    untyped: _Bucket = field(default_factory=_Bucket)


class SigmaDetector:
    """Implements `Detector`: alerts in event order; an event (an auditd group, whatever its
    records) raises each rule at most once."""

    name = "sigma"

    def __init__(self, rules: list[CompiledSigmaRule], hostname: str) -> None:
        self.hostname = hostname
        self.rules = rules
        self.ruleset = ListedRuleset(tuple(
            ListedRule(rule.title, rule.description, rule.priority, rule.route.source,
                       rule.tags) for rule in rules))
        indexes: dict[str, _RouteIndex] = {}
        for rule in rules:
            index = indexes.setdefault(rule.route.name, _RouteIndex(rule.route))
            types = rule.condition.record_types
            for bucket in ([index.by_type.setdefault(t, _Bucket()) for t in sorted(types)]
                           if types else [index.untyped]):
                bucket.add(rule)
        self._by_source: dict[str, list[_RouteIndex]] = {}
        for index in indexes.values():
            self._by_source.setdefault(index.route.source, []).append(index)
        self._outputs = {id(rule): _OutputFields(rule) for rule in rules}

    def required_event_types(self) -> frozenset[str]:
        """Kernel event types the rules need the sensor to deliver (execve, openat, ...)."""
        return frozenset().union(*(rule.route.event_types for rule in self.rules))

    def match(self, batch: list[Event]) -> list[Alert]:
        alerts: list[Alert] = []
        for event in batch:
            source = event.get("evt.source")
            indexes = self._by_source.get(source if isinstance(source, str) else "syscall")
            if indexes is None:
                continue
            for index in indexes:
                if not index.route.accepts(event):
                    continue
                if index.route.per_record:
                    raised = self._match_records(index, event)
                else:
                    raised = {rule: event for rule in index.untyped.candidates(event)
                              if rule.condition.predicate(event)}
                alerts += [self._alert(rule, event, record) for rule, record in raised.items()]
        return alerts

    def _match_records(self, index: _RouteIndex, event: Event
                       ) -> dict[CompiledSigmaRule, Record]:
        """Each record of an auditd group meets the rules of its type and the untyped ones;
        a rule raised by one record is not tried on the next."""
        records = event.get("audit.records")
        raised: dict[CompiledSigmaRule, Record] = {}
        if not isinstance(records, list):
            return raised
        untyped = index.untyped
        for record in records:
            if not isinstance(record, Mapping):
                continue
            bucket = index.by_type.get(record.get("type"))  # type: ignore[arg-type]
            for rules in (bucket.candidates(record) if bucket is not None else (),
                          untyped.candidates(record)):
                for rule in rules:
                    if rule not in raised and rule.condition.predicate(record):
                        raised[rule] = record
        return raised

    def _alert(self, rule: CompiledSigmaRule, event: Event, record: Record) -> Alert:
        fields, told = self._outputs[id(rule)].render(event, record)
        when = event.get("evt.time")
        container = event.get("container.id")
        source = event.get("evt.source")
        return Alert.create(
            rule=rule.title, priority=rule.priority,
            source=source if isinstance(source, str) else "syscall",
            hostname=str(event.get("evt.hostname") or self.hostname),
            output=f"{rule.title} ({told}) [Sigma rule {rule.id} by {rule.author}]",
            output_fields=fields, tags=list(rule.tags),
            container_id=container if isinstance(container, str) and container != "host" else None,
            time_ns=when if isinstance(when, int) and when > 0 else time.time_ns())


class _OutputFields:
    """An alert's output fields: the rule (`sigma.*`), the event fields that tell its story
    and those the rule read; a Sigma field that is not one Falco field as it stands (an auditd
    record's key, a path of a Kubernetes object, sudo's USER) as `sigma.field.<Sigma name>`."""

    def __init__(self, rule: CompiledSigmaRule) -> None:
        self.meta: dict[str, object] = {
            "sigma.id": rule.id, "sigma.title": rule.title, "sigma.author": rule.author,
            "sigma.level": rule.level, "sigma.rule_set": rule.rule_set}
        read = [name for accessor in rule.condition.fields.values() for name in accessor.reads]
        self.falco = tuple(dict.fromkeys([*rule.route.telling, *read]))
        self.raw = [(f"sigma.field.{name}", reader_of(accessor, rule.route))
                    for name, accessor in rule.condition.fields.items()
                    if not name.startswith("<") and not _is_plain(accessor)]

    def render(self, event: Event, record: Record) -> tuple[dict[str, object], str]:
        fields: dict[str, object] = {key: event[key] for key in self.falco
                                     if event.get(key) is not None}
        for key, read in self.raw:
            value = read(record)
            if value is not None:
                fields[key] = value
        told = " ".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        fields.update(self.meta)
        return fields, told


def _is_plain(accessor: Accessor) -> bool:
    return len(accessor.reads) == 1 and accessor.expr == f"r.get({accessor.reads[0]!r})"


def _one_line(value: object) -> str:
    return str(value).replace("\n", "\\n")
