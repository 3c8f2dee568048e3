"""Which workload a container belongs to, so replicas and restarts share one profile.

A workload is an image repository plus the labels that name a deployment: Kubernetes'
`app` / `app.kubernetes.io/name` (or the pod name without its pod-template hash) with the
namespace, or Compose's project and service. Tags, digests, container ids and pod names are left
out: they change with every release, restart or replica.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from runwatch.event import Event

APP_LABELS = ("app.kubernetes.io/name", "app", "k8s-app")
COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
POD_TEMPLATE_HASH = "pod-template-hash"
_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
_POD_NAME_LABEL = "io.kubernetes.pod.name"
# A Deployment's pod: <deployment>-<pod-template-hash>-<5 random>; a StatefulSet's: <name>-<ordinal>.
_REPLICA_SUFFIX = re.compile(r"-[a-z0-9]{6,10}-[a-z0-9]{5}$|-\d+$")


@dataclass(frozen=True, slots=True)
class Workload:
    """A deployment's identity. `name` is what people type (`web@docker.io/library/nginx`)."""

    image_repository: str
    deployment: str  # 'namespace/app', 'project/service', or '' for a lone container
    namespace: str = field(default="", compare=False)
    selector: dict[str, str] = field(default_factory=dict, compare=False)  # labels naming it

    @property
    def name(self) -> str:
        return f"{self.deployment}@{self.image_repository}" if self.deployment \
            else self.image_repository


def workload_for(image_repository: str, labels: Mapping[str, str],
                 namespace: str | None = None, pod_name: str | None = None) -> Workload:
    """The workload of a container with this image repository and these labels."""
    namespace = namespace or labels.get(_NAMESPACE_LABEL)
    pod_name = pod_name or labels.get(_POD_NAME_LABEL)
    app = next((labels[key] for key in APP_LABELS if labels.get(key)), None)
    if app is None and pod_name:
        template_hash = labels.get(POD_TEMPLATE_HASH)
        if template_hash and f"-{template_hash}-" in pod_name:
            app = pod_name.rpartition(f"-{template_hash}-")[0]
        else:
            app = _REPLICA_SUFFIX.sub("", pod_name) or pod_name
    selector: dict[str, str] = {}
    if app is not None:
        deployment = f"{namespace}/{app}" if namespace else app
        key = next((key for key in APP_LABELS if labels.get(key) == app), None)
        selector = {key: app} if key else {}
    elif labels.get(COMPOSE_PROJECT) and labels.get(COMPOSE_SERVICE):
        deployment = f"{labels[COMPOSE_PROJECT]}/{labels[COMPOSE_SERVICE]}"
        selector = {COMPOSE_PROJECT: labels[COMPOSE_PROJECT],
                    COMPOSE_SERVICE: labels[COMPOSE_SERVICE]}
    else:
        deployment = ""
    return Workload(image_repository, deployment, namespace or "", selector)


def workload_of_event(event: Event) -> Workload | None:
    """The workload of the container an enriched event happened in; None for the host or an
    unknown container (no image known yet)."""
    repository = event.get("container.image.repository")
    if not isinstance(repository, str) or not repository:
        return None
    labels = event.get("container.label")
    namespace, pod = event.get("k8s.ns.name"), event.get("k8s.pod.name")
    return workload_for(repository, labels if isinstance(labels, dict) else {},
                        namespace if isinstance(namespace, str) else None,
                        pod if isinstance(pod, str) else None)
