"""Alerts in the terminal: one line each, coloured by priority, or Falco JSON lines."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TextIO

import orjson
from rich.console import Console
from rich.markup import escape

from runwatch.alerts.model import Alert, Priority
from runwatch.config import StdoutOutputConfig

PRIORITY_STYLES = {
    Priority.EMERGENCY: "bold white on red", Priority.ALERT: "bold white on red",
    Priority.CRITICAL: "bold red", Priority.ERROR: "red", Priority.WARNING: "yellow",
    Priority.NOTICE: "cyan", Priority.INFORMATIONAL: "green", Priority.DEBUG: "dim",
}


class StdoutOutput:
    """Writes to the terminal; Rich drops the colours when the stream is not a terminal."""

    name = "stdout"

    def __init__(self, config: StdoutOutputConfig, stream: TextIO | None = None) -> None:
        self.config = config
        self.stream = stream or sys.stdout
        self.console = Console(file=self.stream, highlight=False, soft_wrap=True)

    async def send(self, alert: Alert) -> None:
        if self.config.format == "json":
            self.stream.write(orjson.dumps(alert.to_falco_json()).decode() + "\n")
            self.stream.flush()
            return
        local = datetime.fromtimestamp(alert.time_ns / 1e9).strftime("%H:%M:%S")
        style = PRIORITY_STYLES[alert.priority]
        where = f" [dim]container={escape(alert.container_id)}[/dim]" \
            if alert.container_id and alert.container_id not in alert.output else ""  # not twice
        self.console.print(
            f"{local}.{alert.time_ns % 1_000_000_000:09d} [{style}]{alert.priority.label}[/{style}] "
            f"[bold]{escape(alert.rule)}[/bold]: {escape(alert.output)}{where}")

    async def close(self) -> None:
        self.stream.flush()
