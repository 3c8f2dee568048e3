"""Container attribution from a cgroup path, for every runtime's naming scheme."""

from __future__ import annotations

import re
from dataclasses import dataclass

HOST = "host"

# One path component names the container. Examples (cgroup v2 and v1):
#   docker:      /system.slice/docker-<64 hex>.scope            /docker/<64 hex>
#   containerd:  /kubepods.slice/.../cri-containerd-<64 hex>.scope   /kubepods/burstable/pod<uid>/<64 hex>
#   cri-o:       /kubepods.slice/.../crio-<64 hex>.scope
#   podman:      /machine.slice/libpod-<64 hex>.scope            /libpod_parent/libpod-<64 hex>
# The runtime's own helpers (libpod-conmon-<id>, crio-conmon-<id>) are not the container.
_CONTAINER_COMPONENT = re.compile(
    r"^(?:(?P<runtime>docker|cri-containerd|crio|libpod)-)?(?P<id>[0-9a-f]{64})(?:\.scope)?$")
_RUNTIME_NAMES = {"docker": "docker", "cri-containerd": "containerd", "crio": "cri-o",
                  "libpod": "podman", None: "docker"}


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """A container as its cgroup names it: the 12-char id Falco prints, the full id, the runtime."""

    id: str
    full_id: str
    runtime: str


def container_from_cgroup(cgroup_path: str) -> ContainerRef | None:
    """The container a cgroup path belongs to, or None for the host.

    The innermost matching component wins, so a container nested under a pod cgroup resolves to the
    container, and `/libpod_parent/libpod-<id>/container` (podman's cgroupfs layout) to `<id>`.
    """
    for component in reversed(cgroup_path.split("/")):
        match = _CONTAINER_COMPONENT.match(component)
        if match:
            full_id = match.group("id")
            return ContainerRef(full_id[:12], full_id, _RUNTIME_NAMES[match.group("runtime")])
    return None


def container_from_proc_cgroup(text: str) -> ContainerRef | None:
    """Attribution from the contents of /proc/<pid>/cgroup (v1 lines or the single v2 line)."""
    for line in text.splitlines():
        _, _, path = line.partition(":")
        _, _, path = path.partition(":")
        ref = container_from_cgroup(path)
        if ref is not None:
            return ref
    return None
