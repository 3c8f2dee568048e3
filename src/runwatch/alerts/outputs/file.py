"""Alerts as Falco JSON lines appended to a file, for log shippers and `jq`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import orjson

from runwatch.alerts.model import Alert
from runwatch.config import FileOutputConfig
from runwatch.errors import OutputError


class FileOutput:
    """Appends one JSON object per line; each line is flushed so a reader never sees half of it."""

    name = "file"

    def __init__(self, config: FileOutputConfig) -> None:
        self.path = Path(config.path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab", buffering=0)
        except OSError as err:
            raise OutputError(f"outputs.file.path: cannot open {self.path}: {err.strerror}") from err

    async def send(self, alert: Alert) -> None:
        line = orjson.dumps(alert.to_falco_json(), option=orjson.OPT_APPEND_NEWLINE)
        await asyncio.to_thread(self._file.write, line)

    async def close(self) -> None:
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()
