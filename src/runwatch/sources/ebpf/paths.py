"""Paths as Falco reports them: relative ones made absolute against the cwd or the dirfd's path,
then normalized (`/var/www/../../etc/shadow` -> `/etc/shadow`; fd.nameraw keeps the original).

A dirfd's path is read from /proc/<pid>/fd/<n> while the process still lives; when it is gone the
path stays relative, which no rule on absolute paths can then match (and `paths_unresolved`
counts it).
"""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

AT_FDCWD = -100


class PathResolver:
    """Makes syscall path arguments absolute; counts the ones it could not."""

    def __init__(self, proc_root: Path = Path("/proc")) -> None:
        self.proc_root = proc_root
        self.unresolved = 0

    def resolve(self, path: str, cwd: str | None, pid: int, dirfd: int = AT_FDCWD) -> str:
        """The absolute, normalized form of `path` as process `pid` meant it."""
        if not path:
            return path
        if path.startswith("/"):
            return normalize(path)
        if dirfd == AT_FDCWD:
            base = cwd if cwd is not None else self.read_link(pid, "cwd")
        else:
            base = self.read_link(pid, f"fd/{dirfd}")
        if base is None or not base.startswith("/"):
            self.unresolved += 1
            return path
        return normalize(f"{base}/{path}")

    def read_link(self, pid: int, name: str) -> str | None:
        """/proc/<pid>/<name> (cwd, fd/3) as the process sees it, or None once it has exited."""
        try:
            return os.readlink(self.proc_root / str(pid) / name)
        except OSError:
            return None


def normalize(path: str) -> str:
    """Collapse `.`, `..` and repeated slashes; POSIX's special leading `//` is not kept."""
    result = posixpath.normpath(path)
    return "/" + result.lstrip("/") if result.startswith("//") else result


def split_path(path: str) -> tuple[str, str]:
    """(fd.directory, fd.filename) of an absolute path: '/etc/shadow' -> ('/etc', 'shadow')."""
    directory, _, filename = path.rpartition("/")
    return directory or "/", filename
