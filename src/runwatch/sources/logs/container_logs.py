"""Containers' stdout and stderr, read from the files the engine writes them to.

Two file formats cover Podman, CRI-O, containerd (Kubernetes) and Docker:
- CRI (`k8s-file` in Podman, /var/log/pods in Kubernetes): `<RFC 3339 time> <stream> <P|F> <text>`,
  where `P` marks a piece of a longer line that the runtime split and `F` its last piece;
- Docker's `json-file`: `{"log": "text\\n", "stream": "stdout", "time": "..."}`, where a piece of a
  longer line lacks the final newline.
Each line says which it is (a JSON object starts with `{`, a CRI line with its time): Podman's
Docker-compatible API calls every file `json-file`, whatever it writes. Pieces are joined (up to
the configured line size) so a rule or the secret scanner sees whole lines.
Containers that started after runwatch are read from their first line; those already running
from where their file ends (or where the last run stopped).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from runwatch.config import LogsSourceConfig
from runwatch.event import Event
from runwatch.inventory import ContainerRecord, Inventory
from runwatch.sources.base import SourceStatus
from runwatch.sources.logs.base import LogLineError
from runwatch.sources.logs.follow import FileFollower, Position
from runwatch.sources.logs.polling import poll_batches
from runwatch.sources.logs.positions import PositionFile
from runwatch.times import parse_rfc3339_ns

log = logging.getLogger(__name__)

SOURCE = "log"
FILE_DRIVERS = frozenset({"k8s-file", "cri", "json-file"})
_SYNC_INTERVAL_S = 1.0
_STARTED_SLACK_NS = 5 * 10**9


class ContainerLogDecoder:
    """One container's log file; joins the pieces of split lines, per stream."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._pieces: dict[str, list[str]] = {}

    def decode(self, line: str, where: str) -> list[Event]:
        time_ns, stream, text, is_whole = (self._json_line if line.startswith("{") else
                                           self._cri_line)(line, where)
        pieces = self._pieces.setdefault(stream, [])
        pieces.append(text)
        if not is_whole and sum(map(len, pieces)) < self.max_line_bytes:
            return []
        message = "".join(pieces)[:self.max_line_bytes]
        pieces.clear()
        return [{"evt.source": SOURCE, "evt.time": time_ns, "log.stream": stream,
                 "log.message": message}]

    def flush(self, now_ns: int) -> list[Event]:
        return []

    @staticmethod
    def _cri_line(line: str, where: str) -> tuple[int, str, str, bool]:
        parts = line.split(" ", 3)
        if len(parts) < 3 or parts[1] not in ("stdout", "stderr") or parts[2] not in ("P", "F"):
            raise LogLineError("expected '<time> <stdout|stderr> <P|F> <text>'", where)
        time_ns = parse_rfc3339_ns(parts[0])
        if time_ns is None:
            raise LogLineError(f"bad time {parts[0]!r}", where)
        return time_ns, parts[1], parts[3] if len(parts) == 4 else "", parts[2] == "F"

    @staticmethod
    def _json_line(line: str, where: str) -> tuple[int, str, str, bool]:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            raise LogLineError(f"not JSON: {err}", where) from None
        if not isinstance(entry, dict) or not isinstance(entry.get("log"), str):
            raise LogLineError("expected an object with a 'log' string", where)
        text: str = entry["log"]
        stream = entry.get("stream") if entry.get("stream") in ("stdout", "stderr") else "stdout"
        time_ns = parse_rfc3339_ns(str(entry.get("time", ""))) or time.time_ns()
        is_whole = text.endswith("\n")
        return time_ns, str(stream), text.rstrip("\n").removesuffix("\r"), is_whole


@dataclass(slots=True)
class _FollowedContainer:
    record: ContainerRecord
    follower: FileFollower
    decoder: ContainerLogDecoder
    bad_lines: int = 0


class ContainerLogSource:
    """Implements `Source`: follows the log file of every running container the engine reports."""

    name = "container_logs"
    overflow = "wait"
    fields = frozenset({"evt.source", "evt.time", "log.stream", "log.message", "log.path",
                        "container.id"})

    def __init__(self, settings: LogsSourceConfig, inventory: Inventory,
                 positions: PositionFile | None = None) -> None:
        self.settings = settings
        self.inventory = inventory
        self.positions = positions
        self.status = SourceStatus(limitations=[
            "containers whose engine logs to journald or syslog are not read (k8s-file, CRI and "
            "json-file are)"])
        self._followed: dict[str, _FollowedContainer] = {}
        self._read_to_end: set[str] = set()
        self._started_ns = time.time_ns()

    async def events(self) -> AsyncIterator[list[Event]]:
        saved = self.positions.load() if self.positions is not None else {}
        next_sync = time.monotonic()

        def sync_now_and_then() -> None:
            nonlocal next_sync
            if time.monotonic() >= next_sync:
                self.follow_new_containers(saved)
                next_sync = time.monotonic() + _SYNC_INTERVAL_S

        try:
            async with contextlib.aclosing(poll_batches(  # positions saved before files close
                    self.status, self.read_once, self._save_positions,
                    self.settings.poll_interval_s, sync_now_and_then)) as batches:
                async for batch in batches:
                    yield batch
        finally:
            self.close_files()

    def close_files(self) -> None:
        for followed in self._followed.values():
            followed.follower.close()

    def read_once(self) -> list[Event]:
        """New lines of every followed container; containers that are gone are read to the end
        and let go."""
        batch: list[Event] = []
        for container_id, followed in list(self._followed.items()):
            record = followed.record
            for line in followed.follower.read():
                try:
                    events = followed.decoder.decode(line.text, f"{record.log_path}:{line.number}")
                except LogLineError as err:
                    followed.bad_lines += 1
                    if followed.bad_lines <= 5:
                        log.warning("container log line skipped",
                                    extra={"error": str(err), "container": record.name})
                    continue
                for event in events:
                    event["container.id"] = record.id
                    event["log.path"] = record.log_path
                batch += events
            current = self.inventory.get(container_id)
            if current is None or current.state not in ("running", "paused"):
                followed.follower.close()
                del self._followed[container_id]
                self._read_to_end.add(container_id)
        self.status.details = {"containers": len(self._followed),
                               "bad_lines": sum(f.bad_lines for f in self._followed.values())}
        return batch

    def follow_new_containers(self, saved: dict[str, Position]) -> None:
        """Start following containers that run, or that started and already ended since runwatch
        started (a one-shot command between two looks), and have a log file we can read."""
        for record in self.inventory.all():
            if record.id in self._followed or record.id in self._read_to_end or not record.log_path:
                continue
            is_new = record.started_ns >= self._started_ns - _STARTED_SLACK_NS
            if record.log_driver not in FILE_DRIVERS or not (
                    record.state in ("running", "paused") or (is_new and record.finished_ns)):
                continue
            follower = FileFollower(Path(record.log_path), "beginning" if is_new else "end",
                                    saved.get(record.log_path), self.settings.max_line_bytes)
            self._followed[record.id] = _FollowedContainer(
                record, follower, ContainerLogDecoder(self.settings.max_line_bytes))

    def _save_positions(self) -> None:
        if self.positions is None:
            return
        positions = {f.record.log_path: p for f in self._followed.values()
                     if (p := f.follower.position) is not None}
        try:
            self.positions.save(positions)
        except OSError as err:
            log.warning("cannot save container log positions", extra={"error": err.strerror})
