"""What every log format promises the log source: lines in, events out, bad lines named."""

from __future__ import annotations

from typing import Protocol

from runwatch.event import Event


class LogLineError(ValueError):
    """A line (or payload) that cannot be read; says what is wrong and `where` (`path:line`)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.where = where


class LineDecoder(Protocol):
    """Turns one file's lines into events. Formats that gather several lines into one event
    (auditd) hold them until complete; `flush` hands over what is complete by `now_ns`."""

    def decode(self, line: str, where: str) -> list[Event]:
        """The events this line completes; LogLineError if the line cannot be read."""
        ...

    def flush(self, now_ns: int) -> list[Event]: ...
