"""What every detector promises: alerts for a batch of events, synchronously and quickly."""

from __future__ import annotations

from typing import Protocol

from runwatch.alerts.model import Alert
from runwatch.event import Event


class Detector(Protocol):
    """Matches batches of events; never a coroutine per event. Returns alerts in event order."""

    name: str

    def match(self, batch: list[Event]) -> list[Alert]: ...
