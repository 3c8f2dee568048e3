"""The running daemon's rules across its detectors: what is loaded, how often each hit, and
switching one off or on again without a reload.

Detectors are asked what rules they have through small structural types (Falco's ruleset,
the threshold list), so none of them depends on this module. A rule switched off here is gated
in the detect stage (`admit`): its alerts go nowhere and are not counted. Switches last until the
daemon stops; the rules files stay the source of truth.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from runwatch.alerts.model import Alert
from runwatch.errors import RuleError
from runwatch.priority import Priority
from runwatch.rules.base import Detector
from runwatch.rules.thresholds import RULE_PREFIX, ThresholdDetector


@dataclass(frozen=True, slots=True)
class RuleState:
    """One loaded rule as people see it: where it comes from, whether it runs, how often it hit."""

    name: str
    detector: str
    priority: Priority | None
    source: str
    tags: tuple[str, ...]
    description: str
    enabled: bool
    enabled_in_file: bool
    hits: int


class _FalcoRule(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def desc(self) -> str: ...
    @property
    def priority(self) -> Priority: ...
    @property
    def source(self) -> str: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def enabled(self) -> bool: ...


class _HasRules(Protocol):
    @property
    def rules(self) -> Sequence[_FalcoRule]: ...


class _HasRuleset(Protocol):
    """A detector built on a rules file (FalcoDetector)."""

    @property
    def ruleset(self) -> _HasRules: ...


class RuleCatalog:
    """Reads the daemon's current detectors each time, so a rules reload shows up at once."""

    def __init__(self, detectors: Callable[[], Sequence[Detector]]) -> None:
        self._detectors = detectors
        self._disabled: set[str] = set()
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()  # the API changes switches from its worker threads

    def admit(self, alerts: list[Alert]) -> list[Alert]:
        """The alerts whose rule is switched on (the detect stage calls this for every batch)."""
        if not self._disabled:
            return alerts
        disabled = self._disabled
        return [alert for alert in alerts if alert.rule not in disabled]

    def observe(self, alerts: list[Alert]) -> None:
        """Count hits per rule (an alert listener of the daemon)."""
        with self._lock:
            self._hits.update(alert.rule for alert in alerts)

    def list_rules(self) -> list[RuleState]:
        """Every rule of every detector, in load order."""
        with self._lock:
            disabled, hits = set(self._disabled), dict(self._hits)
        states: list[RuleState] = []
        for detector in self._detectors():
            for name, priority, source, tags, description, in_file in _describe(detector):
                states.append(RuleState(name=name, detector=detector.name, priority=priority,
                                        source=source, tags=tags, description=description,
                                        enabled=in_file and name not in disabled,
                                        enabled_in_file=in_file, hits=hits.get(name, 0)))
        return states

    def get(self, name: str) -> RuleState | None:
        return next((state for state in self.list_rules() if state.name == name), None)

    def set_enabled(self, name: str, enabled: bool) -> RuleState | None:
        """Switch a rule on or off; None when no detector has it.

        Raises RuleError when asked to switch on a rule its file disables: that rule was never
        compiled, and only editing the file (then a reload) can run it.
        """
        state = self.get(name)
        if state is None:
            return None
        if enabled and not state.enabled_in_file:
            raise RuleError(f"rule {name!r} is disabled in its rules file (enabled: false); "
                            f"enable it there and reload")
        with self._lock:
            if enabled:
                self._disabled.discard(name)
            else:
                self._disabled.add(name)
        return self.get(name)


def _describe(detector: Detector) -> list[tuple[str, Priority | None, str, tuple[str, ...], str, bool]]:
    """(name, priority, source, tags, description, enabled in file) for each rule of a detector."""
    if isinstance(detector, ThresholdDetector):
        return [(RULE_PREFIX + t.name, Priority.parse(t.priority), "container",
                 ("container", "resources", t.metric),
                 f"{t.metric} above {t.above:g}" + (f" for {t.for_s:g}s" if t.for_s else ""), True)
                for t in detector.thresholds]
    ruleset = getattr(detector, "ruleset", None)
    rules = getattr(ruleset, "rules", None)
    if rules is None:
        return []
    described: _HasRuleset = detector  # type: ignore[assignment]
    return [(rule.name, rule.priority, rule.source, tuple(rule.tags), rule.desc, rule.enabled)
            for rule in described.ruleset.rules]
