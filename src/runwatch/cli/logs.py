"""Log handlers for the command line: Rich for a terminal, JSON lines for a service manager."""

from __future__ import annotations

import logging
import sys

import orjson
from rich.logging import RichHandler

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                               "taskName"}


def record_extras(record: logging.LogRecord) -> dict[str, object]:
    """The context passed with `extra=` to a log call."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the extra context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"time": self.formatTime(record), "level": record.levelname,
                                    "logger": record.name, "message": record.getMessage(),
                                    **record_extras(record)}
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class _ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in record_extras(record).items())
        message = record.getMessage() + (f" [{extras}]" if extras else "")
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


def configure_logging(level: str, json_lines: bool | None = None) -> None:
    """Send logs to stderr: Rich when it is a terminal (or json_lines=False), JSON lines otherwise."""
    use_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler: logging.Handler
    if use_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLinesFormatter())
    else:
        handler = RichHandler(show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(_ContextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("runwatch").setLevel(level.upper())
