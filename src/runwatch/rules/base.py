"""What every detector promises: alerts for a batch of events, synchronously and quickly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from runwatch.alerts.model import Alert
from runwatch.event import Event
from runwatch.priority import Priority


class Detector(Protocol):
    """Matches batches of events; never a coroutine per event. Returns alerts in event order."""

    name: str

    def match(self, batch: list[Event]) -> list[Alert]: ...


@dataclass(frozen=True, slots=True)
class ListedRule:
    """A rule of a detector that has no rules file (profiles, anomalies), as the rule catalog
    lists it: so it shows on the Rules page and can be switched off like any other."""

    name: str
    desc: str
    priority: Priority
    source: str = "syscall"
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class ListedRuleset:
    rules: tuple[ListedRule, ...]
