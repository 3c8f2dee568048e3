"""Where each followed file was read to, kept in the data directory so a restart resumes there
instead of skipping what was written while runwatch was down (or reading it all again)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec

from runwatch.sources.logs.follow import Position

log = logging.getLogger(__name__)


class _Saved(msgspec.Struct, frozen=True):
    inode: int
    offset: int
    line: int
    head: str


class PositionFile:
    """A JSON file of path -> position, replaced atomically on every save."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, Position]:
        """The saved positions; an unreadable file is reported and treated as none saved."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as err:
            log.warning("cannot read log positions; files start afresh",
                        extra={"path": str(self.path), "error": err.strerror})
            return {}
        try:
            saved = msgspec.json.decode(raw, type=dict[str, _Saved])
        except msgspec.DecodeError as err:
            log.warning("log positions file is damaged; files start afresh",
                        extra={"path": str(self.path), "error": str(err)})
            return {}
        return {path: Position(s.inode, s.offset, s.line, s.head) for path, s in saved.items()}

    def save(self, positions: dict[str, Position]) -> None:
        data = {path: _Saved(p.inode, p.offset, p.line, p.head) for path, p in positions.items()}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_bytes(msgspec.json.encode(data))
        os.replace(temporary, self.path)
