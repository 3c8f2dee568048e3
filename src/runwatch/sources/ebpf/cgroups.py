"""From the cgroup id the kernel stamps on each event to the container it belongs to.

bpftrace's `cgroup` is the id of the task's cgroup in the unified (v2) hierarchy, which is the
inode number of that cgroup's directory. The resolver learns id -> path by walking the hierarchy
once, and again (at most every `rescan_interval_s`) when an unknown id shows up, which is what a
new container looks like. The path's naming (docker, containerd, cri-o, podman) gives the id.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from runwatch.enrich.container_id import ContainerRef, container_from_cgroup

log = logging.getLogger(__name__)

_HOST = None


def find_cgroup2_mount(mountinfo: Path = Path("/proc/self/mountinfo")) -> Path | None:
    """Where the unified hierarchy is mounted (/sys/fs/cgroup, or .../unified in hybrid setups)."""
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        before, _, after = line.partition(" - ")
        if after.split(" ", 1)[0] == "cgroup2":
            return Path(before.split()[4])
    return None


class CgroupResolver:
    """cgroup id -> ContainerRef (None for the host), cached; also the live pids of a container."""

    def __init__(self, root: Path | None, rescan_interval_s: float = 0.2) -> None:
        self.root = root
        self.rescan_interval_s = rescan_interval_s
        self._paths: dict[int, str] = {}
        self._refs: dict[int, ContainerRef | None] = {}
        self._container_dirs: dict[str, str] = {}
        self._last_scan = -1e9
        self.scans = 0

    def container(self, cgroup_id: int) -> ContainerRef | None:
        """The container whose cgroup this is; None for the host or an id that cannot be found."""
        if cgroup_id in self._refs:
            return self._refs[cgroup_id]
        path = self._paths.get(cgroup_id)
        if path is None and self._rescan_allowed():
            self.rescan()
            path = self._paths.get(cgroup_id)
        if path is None:
            return _HOST  # gone before we looked, or not in this hierarchy: not cached, retried
        ref = container_from_cgroup(path)
        self._refs[cgroup_id] = ref
        if ref is not None:
            self._container_dirs[ref.id] = path
        return ref

    def path(self, cgroup_id: int) -> str | None:
        return self._paths.get(cgroup_id)

    def container_pids(self, container_id: str) -> list[int]:
        """Processes in the container's cgroup now (a live one gives access to its filesystem)."""
        path = self._container_dirs.get(container_id)
        if path is None or self.root is None:
            return []
        try:
            text = (self.root / path.lstrip("/") / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split() if line.isdigit()]

    def _rescan_allowed(self) -> bool:
        return self.root is not None and \
            time.monotonic() - self._last_scan >= self.rescan_interval_s

    def rescan(self) -> None:
        """Walk the hierarchy and remember every directory's id."""
        if self.root is None:
            return
        self._last_scan = time.monotonic()
        self.scans += 1
        paths: dict[int, str] = {}
        stack = [(self.root, "")]
        while stack:
            directory, relative = stack.pop()
            try:
                with os.scandir(directory) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            child = f"{relative}/{entry.name}"
                            paths[entry.inode()] = child
                            stack.append((Path(entry.path), child))
            except OSError:  # removed while we walked it
                continue
        try:
            paths[os.stat(self.root).st_ino] = "/"
        except OSError as err:
            log.error("cannot read the cgroup hierarchy", extra={"path": str(self.root),
                                                                 "error": err.strerror})
        self._paths = paths
        self._refs = {cid: ref for cid, ref in self._refs.items() if cid in paths}
