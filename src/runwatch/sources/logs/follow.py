"""Following one log file as it grows, is rotated and is truncated, like `tail -F`, and resuming
where the last run stopped.

Rotation (the file renamed away and a new one created) is seen as a new inode at the path: the
old file is read to its end first, so the lines written just before the rotation are not lost.
Truncation in place (copytruncate) is seen as a size below the read offset: reading starts over.
A line without its newline yet is held until the newline comes (or the file is rotated away).
Lines longer than `max_line_bytes` are cut there, and counted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

StartAt = Literal["end", "beginning"]
_CHUNK_BYTES = 1 << 20
_HEAD_BYTES = 256


@dataclass(frozen=True, slots=True)
class Position:
    """Where reading stopped in a file: its inode, the byte offset, the number of that line, and a
    hash of the file's first bytes, since a new file may get a deleted file's inode number."""

    inode: int
    offset: int
    line: int
    head: str


@dataclass(frozen=True, slots=True)
class Line:
    """One complete line and its 1-based number in its file, for error messages."""

    number: int
    text: str


class _OpenFile:
    def __init__(self, path: Path, handle: int, inode: int, offset: int, line: int) -> None:
        self.path = path
        self.handle = handle
        self.inode = inode
        self.offset = offset
        self.line = line
        self.pending = b""

    def read_lines(self, max_line_bytes: int, budget_bytes: int) -> tuple[list[Line], int]:
        """Complete lines available now (up to about `budget_bytes`), and how many were cut."""
        lines: list[Line] = []
        cut = 0
        read = 0
        while read < budget_bytes:
            chunk = os.pread(self.handle, _CHUNK_BYTES, self.offset)
            if not chunk:
                break
            self.offset += len(chunk)
            read += len(chunk)
            parts = (self.pending + chunk).split(b"\n")
            self.pending = parts.pop()
            for raw in parts:
                cut += self._append(lines, raw, max_line_bytes)
            if len(self.pending) > max_line_bytes:  # no newline in sight: cut, keep skipping
                cut += self._append(lines, self.pending, max_line_bytes)
                self.pending = b""
        return lines, cut

    def take_pending(self, max_line_bytes: int) -> tuple[list[Line], int]:
        """The last line without its newline, once no more will be written to this file."""
        if not self.pending:
            return [], 0
        lines: list[Line] = []
        cut = self._append(lines, self.pending, max_line_bytes)
        self.pending = b""
        return lines, cut

    def _append(self, lines: list[Line], raw: bytes, max_line_bytes: int) -> int:
        self.line += 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if raw:
            lines.append(Line(self.line, raw[:max_line_bytes].decode("utf-8", "replace")))
        return int(len(raw) > max_line_bytes)

    @property
    def position(self) -> Position:
        """The position of the last complete line: a held partial line is read again on resume."""
        offset = self.offset - len(self.pending)
        return Position(self.inode, offset, self.line, _head_hash(self.handle, offset))

    def close(self) -> None:
        os.close(self.handle)


class FileFollower:
    """Reads what is appended to `path`. Not thread-safe; one reader calls `read` repeatedly."""

    def __init__(self, path: Path, start_at: StartAt = "end", resume: Position | None = None,
                 max_line_bytes: int = 65_536, read_budget_bytes: int = 8 << 20) -> None:
        self.path = path
        self.start_at = start_at
        self.max_line_bytes = max_line_bytes
        self.read_budget_bytes = read_budget_bytes
        self.rotations = 0
        self.truncations = 0
        self.cut_lines = 0
        self.missing = False
        self._resume = resume
        self._file: _OpenFile | None = None
        self._first_open = True
        self._open()  # "end" is the end as it is now

    def read(self) -> list[Line]:
        """The complete lines written since the last call (bounded by the read budget)."""
        if self._file is None and not self._open():
            return []
        assert self._file is not None
        lines = self._read_current()
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self.missing = True
            return lines
        self.missing = False
        if stat.st_ino != self._file.inode:
            lines += self._drain_rotated()
            if self._open():
                lines += self._read_current()
        elif os.fstat(self._file.handle).st_size < self._file.offset:
            self.truncations += 1
            self._file.offset, self._file.line, self._file.pending = 0, 0, b""
            lines += self._read_current()
        return lines

    @property
    def position(self) -> Position | None:
        """Where to resume after a restart; None before the file was first opened."""
        return self._file.position if self._file is not None else self._resume

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _read_current(self) -> list[Line]:
        assert self._file is not None
        lines, cut = self._file.read_lines(self.max_line_bytes, self.read_budget_bytes)
        self.cut_lines += cut
        return lines

    def _drain_rotated(self) -> list[Line]:
        """The rest of a file that was rotated away, including its last unfinished line."""
        assert self._file is not None
        lines, cut = self._file.read_lines(self.max_line_bytes, 1 << 62)
        tail, tail_cut = self._file.take_pending(self.max_line_bytes)
        self.cut_lines += cut + tail_cut
        self._file.close()
        self._file = None
        self.rotations += 1
        return lines + tail

    def _open(self) -> bool:
        try:
            handle = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self.missing = True
            self._first_open = False  # a file created later is read from its beginning
            return False
        self.missing = False
        stat = os.fstat(handle)
        offset, line = 0, 0
        if self._first_open:
            resume = self._resume
            if resume is not None and resume.inode == stat.st_ino and \
                    resume.offset <= stat.st_size and _head_hash(handle, resume.offset) == resume.head:
                offset, line = resume.offset, resume.line
            elif resume is None and self.start_at == "end":
                offset, line = stat.st_size, _count_lines(handle, stat.st_size)
        self._first_open = False
        self._file = _OpenFile(self.path, handle, stat.st_ino, offset, line)
        return True


def _count_lines(handle: int, size: int) -> int:
    """Lines before `size`, so errors name true line numbers when reading starts at the end."""
    count, offset = 0, 0
    while offset < size:
        chunk = os.pread(handle, min(_CHUNK_BYTES, size - offset), offset)
        if not chunk:
            break
        count += chunk.count(b"\n")
        offset += len(chunk)
    return count


def _head_hash(handle: int, offset: int) -> str:
    """Identifies a file by its first bytes (up to `_HEAD_BYTES`, never past `offset`)."""
    head = os.pread(handle, min(_HEAD_BYTES, offset), 0)
    return hashlib.blake2b(head, digest_size=8).hexdigest() + f"{len(head):03x}"
