"""What runs: one record per container, from the engine's inspect document, kept in memory.

The inventory is the shared answer to 'which container is this id?': the runtime source keeps it
current from the engine's events, the enrichers read it, response actions look targets up in it,
and the daemon persists it to the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from runwatch.times import parse_rfc3339_ns

K8S_POD_LABEL = "io.kubernetes.pod.name"
K8S_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
K8S_POD_UID_LABEL = "io.kubernetes.pod.uid"


CONTAINER_FIELDS = frozenset({
    "container.id", "container.full_id", "container.name", "container.image", "container.image.id",
    "container.image.repository", "container.image.tag", "container.image.digest",
    "container.privileged", "container.mounts", "container.type", "container.label",
    "container.start_ts", "k8s.pod.name", "k8s.ns.name", "k8s.pod.uid", "k8s.pod.label"})
"""The fields `ContainerRecord.falco_fields` fills."""


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """One container as the engine describes it; times are ns since the epoch (0: never)."""

    id: str
    full_id: str
    name: str
    image: str
    image_id: str
    image_repository: str
    image_tag: str
    image_digest: str | None
    labels: dict[str, str]
    privileged: bool
    mounts: list[str]
    networks: list[str]
    state: str
    pid: int
    started_ns: int
    finished_ns: int
    exit_code: int | None
    runtime: str
    oom_killed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    addresses: list[str] = field(default_factory=list)  # IPs on the container's networks
    log_driver: str = ""  # where the engine writes the container's stdout/stderr: k8s-file, ...
    log_path: str = ""

    @property
    def pod_name(self) -> str | None:
        return self.labels.get(K8S_POD_LABEL)

    @property
    def namespace(self) -> str | None:
        return self.labels.get(K8S_NAMESPACE_LABEL)

    def falco_fields(self) -> dict[str, object]:
        """The container.* and k8s.* fields Falco's rules read."""
        fields: dict[str, object] = {
            "container.id": self.id, "container.full_id": self.full_id,
            "container.name": self.name, "container.image": self.image,
            "container.image.id": self.image_id,
            "container.image.repository": self.image_repository,
            "container.image.tag": self.image_tag, "container.privileged": self.privileged,
            "container.mounts": list(self.mounts), "container.type": self.runtime,
            "container.label": dict(self.labels),
        }
        if self.image_digest:
            fields["container.image.digest"] = self.image_digest
        if self.started_ns:
            fields["container.start_ts"] = self.started_ns
        if self.pod_name:
            fields["k8s.pod.name"] = self.pod_name
        if self.namespace:
            fields["k8s.ns.name"] = self.namespace
        if K8S_POD_UID_LABEL in self.labels:
            fields["k8s.pod.uid"] = self.labels[K8S_POD_UID_LABEL]
        if self.pod_name:
            fields["k8s.pod.label"] = {key: value for key, value in self.labels.items()
                                       if not key.startswith("io.kubernetes.")}
        return fields


def split_image(reference: str) -> tuple[str, str]:
    """'docker.io/library/nginx:1.25' -> ('docker.io/library/nginx', '1.25'); no tag -> 'latest'.

    A digest reference keeps the repository and an empty tag; a registry port is not a tag.
    """
    name = reference.partition("@")[0]
    repository, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, "" if "@" in reference else "latest"
    return repository, tag


def parse_engine_time(text: str | None) -> int:
    """RFC 3339 with nanoseconds ('2026-11-22T15:57:10.109667811Z') -> ns since the epoch; 0 if
    unset (Docker writes 0001-01-01 for a time that never happened) or unreadable."""
    if not text or text.startswith("0001-01-01"):
        return 0
    return parse_rfc3339_ns(text) or 0


def record_from_inspect(doc: dict[str, Any], runtime: str, image_digest: str | None = None
                        ) -> ContainerRecord:
    """Build a record from a Docker/Podman inspect document (Docker Engine API ContainerInspect)."""
    config = doc.get("Config") or {}
    state = doc.get("State") or {}
    host = doc.get("HostConfig") or {}
    image = str(config.get("Image") or doc.get("ImageName") or "")
    repository, tag = split_image(image)
    mounts = [f"{m.get('Source', '')}:{m.get('Destination', '')}:{m.get('Mode', '')}:"
              f"{str(m.get('RW', True)).lower()}:{m.get('Propagation', '')}"
              for m in doc.get("Mounts") or []]
    settings = doc.get("NetworkSettings") or {}
    networks = sorted(settings.get("Networks") or {})
    addresses = sorted({address for network in [settings, *(settings.get("Networks") or {}).values()]
                        for key in ("IPAddress", "GlobalIPv6Address")
                        if isinstance(network, dict) and (address := network.get(key))})
    full_id = str(doc["Id"])
    exit_code = state.get("ExitCode")
    return ContainerRecord(
        id=full_id[:12], full_id=full_id, name=str(doc.get("Name", "")).lstrip("/"), image=image,
        image_id=str(doc.get("Image", "")), image_repository=repository, image_tag=tag,
        image_digest=image_digest, labels=dict(config.get("Labels") or {}),
        privileged=bool(host.get("Privileged", False)), mounts=mounts, networks=networks,
        state=str(state.get("Status", "unknown")), pid=int(state.get("Pid") or 0),
        started_ns=parse_engine_time(state.get("StartedAt")),
        finished_ns=parse_engine_time(state.get("FinishedAt")),
        exit_code=int(exit_code) if exit_code is not None and state.get("Status") == "exited" else None,
        runtime=runtime, oom_killed=bool(state.get("OOMKilled", False)), addresses=addresses,
        log_driver=str((host.get("LogConfig") or {}).get("Type") or ""),
        log_path=str(doc.get("LogPath") or ""))


class Inventory:
    """Container records by 12-char id; safe to read from any thread."""

    def __init__(self) -> None:
        self._records: dict[str, ContainerRecord] = {}
        self._lock = threading.Lock()
        self.version = 0  # grows on every change, so persisting can skip unchanged inventories

    def put(self, record: ContainerRecord) -> None:
        with self._lock:
            if self._records.get(record.id) != record:
                self._records[record.id] = record
                self.version += 1

    def get(self, container_id: str) -> ContainerRecord | None:
        return self._records.get(container_id[:12])

    def remove(self, container_id: str) -> None:
        with self._lock:
            if self._records.pop(container_id[:12], None) is not None:
                self.version += 1

    def all(self) -> list[ContainerRecord]:
        with self._lock:
            return list(self._records.values())

    def __len__(self) -> int:
        return len(self._records)
