"""The log source: follows the configured files and turns their lines into events.

Each file has a follower (rotation, truncation, resume) and a decoder for its format. A line that
cannot be read is counted against its file and named (`path:line: what is wrong`) in the log, a
few times per file and then every thousandth, and reading goes on with the next line. Positions
are saved every few seconds and at stop, so a restart resumes after the last line read.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from runwatch.config import WELL_KNOWN_LOG_FILES, LogFileConfig, LogsSourceConfig
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.logs.base import LineDecoder, LogLineError
from runwatch.sources.logs.follow import FileFollower, Position
from runwatch.sources.logs.formats import FORMAT_FIELDS, FORMATS
from runwatch.sources.logs.polling import poll_batches
from runwatch.sources.logs.positions import PositionFile

log = logging.getLogger(__name__)

_REPORTED_ERRORS_PER_FILE = 5


@dataclass(slots=True)
class _FollowedFile:
    entry: LogFileConfig
    follower: FileFollower
    decoder: LineDecoder
    lines: int = 0
    bad_lines: int = 0
    events: int = 0

    def details(self) -> dict[str, object]:
        follower = self.follower
        return {"format": self.entry.format, "lines": self.lines, "events": self.events,
                "bad_lines": self.bad_lines, "cut_lines": follower.cut_lines,
                "rotations": follower.rotations, "truncations": follower.truncations,
                "missing": follower.missing}


def log_files(settings: LogsSourceConfig) -> list[LogFileConfig]:
    """The configured files, then the well-known ones that exist and are not configured."""
    files = list(settings.files)
    if settings.well_known_files:
        named = {entry.path for entry in files}
        files += [entry for entry in WELL_KNOWN_LOG_FILES
                  if entry.path not in named and Path(entry.path).is_file()]
    unreadable = [entry for entry in files if entry.format not in FORMATS]
    for entry in unreadable:
        log.error("log file not followed: runwatch cannot read its format yet",
                  extra={"path": entry.path, "format": entry.format})
    return [entry for entry in files if entry.format in FORMATS]


class LogSource:
    """Implements `Source` for log files; waits when the pipeline is full (files keep)."""

    name = "logs"
    overflow = "wait"

    def __init__(self, settings: LogsSourceConfig, files: list[LogFileConfig],
                 positions: PositionFile | None = None) -> None:
        self.settings = settings
        self.files = files
        self.positions = positions
        self.status = SourceStatus()
        self.fields = frozenset({"log.path"}).union(*(FORMAT_FIELDS[e.format] for e in files))
        """What the configured formats' events can carry."""
        self._followed: list[_FollowedFile] = []

    async def events(self) -> AsyncIterator[list[Event]]:
        self.open_files(self.positions.load() if self.positions is not None else {})
        log.info("following log files", extra={"files": [e.path for e in self.files]})
        try:
            async with contextlib.aclosing(poll_batches(  # positions saved before files close
                    self.status, self.read_once, self._save_positions,
                    self.settings.poll_interval_s)) as batches:
                async for batch in batches:
                    yield batch
        finally:
            self.close_files()

    def open_files(self, saved: dict[str, Position]) -> None:
        """A follower and a decoder per file, resuming at the saved positions."""
        self._followed = [
            _FollowedFile(entry, FileFollower(Path(entry.path), entry.start_at, saved.get(entry.path),
                                              self.settings.max_line_bytes),
                          FORMATS[entry.format](entry, self.settings))
            for entry in self.files]

    def close_files(self) -> None:
        for followed in self._followed:
            followed.follower.close()

    def read_once(self) -> list[Event]:
        """Everything new in every file, decoded; what decoders completed by now as well."""
        batch: list[Event] = []
        now_ns = time.time_ns()
        for followed in self._followed:
            path = followed.entry.path
            events: list[Event] = []
            for line in followed.follower.read():
                followed.lines += 1
                try:
                    events += followed.decoder.decode(line.text, f"{path}:{line.number}")
                except LogLineError as err:
                    self._count_bad_line(followed, err)
            events += followed.decoder.flush(now_ns)
            for event in events:
                event["log.path"] = path
            followed.events += len(events)
            batch += events
        self.status.details = {f.entry.path: f.details() for f in self._followed}
        return batch

    def _count_bad_line(self, followed: _FollowedFile, err: LogLineError) -> None:
        followed.bad_lines += 1
        if followed.bad_lines <= _REPORTED_ERRORS_PER_FILE or followed.bad_lines % 1000 == 0:
            log.warning("log line skipped", extra={"error": str(err),
                                                   "bad_lines": followed.bad_lines})

    def _save_positions(self) -> None:
        if self.positions is None:
            return
        positions = {f.entry.path: p for f in self._followed
                     if (p := f.follower.position) is not None}
        try:
            self.positions.save(positions)
        except OSError as err:
            log.warning("cannot save log positions", extra={"path": str(self.positions.path),
                                                            "error": err.strerror})
