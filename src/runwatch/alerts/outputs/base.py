"""What every output promises: deliver one alert, or raise DeliveryError; flush on close."""

from __future__ import annotations

from typing import Protocol

from runwatch.alerts.model import Alert
from runwatch.errors import OutputError


class DeliveryError(OutputError):
    """An alert could not be delivered after the output's own retries; the caller counts it."""


class Output(Protocol):
    """An alert destination. `send` may retry; it raises DeliveryError when it gives up."""

    name: str

    async def send(self, alert: Alert) -> None: ...

    async def close(self) -> None:
        """Flush anything buffered and release files and connections."""
        ...
