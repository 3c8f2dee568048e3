"""What every log format promises the log source: lines in, events out, bad lines named."""

from __future__ import annotations


class LogLineError(ValueError):
    """A line (or payload) that cannot be read; says what is wrong and `where` (`path:line`)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.where = where
