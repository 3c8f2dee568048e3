"""Workload identity: replicas, restarts and releases of one deployment share a profile."""

from __future__ import annotations

from runwatch.profiles.workload import workload_for, workload_of_event

NGINX = "docker.io/library/nginx"


def test_kubernetes_replicas_share_the_app_label_and_namespace() -> None:
    labels = {"app": "web", "pod-template-hash": "7d4b9c8f6d", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.pod.name": "web-7d4b9c8f6d-x2k4q"}
    other = {**labels, "pod-template-hash": "5f6c7d8e9a", "io.kubernetes.pod.name": "web-5f6c7d8e9a-abcde"}
    assert workload_for(NGINX, labels).name == "shop/web@docker.io/library/nginx"
    assert workload_for(NGINX, labels) == workload_for(NGINX, other)


def test_the_recommended_name_label_wins_over_app() -> None:
    labels = {"app.kubernetes.io/name": "checkout", "app": "legacy"}
    assert workload_for(NGINX, labels).deployment == "checkout"


def test_without_an_app_label_the_pod_name_loses_its_template_hash_and_random_suffix() -> None:
    with_hash = {"io.kubernetes.pod.name": "api-6b9f7c5d4-qz8wk", "pod-template-hash": "6b9f7c5d4",
                 "io.kubernetes.pod.namespace": "prod"}
    without_hash = {"io.kubernetes.pod.name": "api-6b9f7c5d4-abcde", "io.kubernetes.pod.namespace": "prod"}
    stateful = {"io.kubernetes.pod.name": "db-2", "io.kubernetes.pod.namespace": "prod"}
    assert workload_for(NGINX, with_hash).deployment == "prod/api"
    assert workload_for(NGINX, without_hash).deployment == "prod/api"
    assert workload_for(NGINX, stateful).deployment == "prod/db"


def test_a_bare_pod_keeps_its_whole_name() -> None:
    assert workload_for(NGINX, {"io.kubernetes.pod.name": "my-nginx"}).deployment == "my-nginx"


def test_compose_project_and_service() -> None:
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": "db",
              "com.docker.compose.container-number": "2"}
    assert workload_for("postgres", labels).name == "shop/db@postgres"


def test_sidecars_of_one_pod_are_separate_workloads_by_image() -> None:
    labels = {"app": "web"}
    assert workload_for(NGINX, labels) != workload_for("envoyproxy/envoy", labels)


def test_a_lone_container_is_its_image_repository() -> None:
    assert workload_for(NGINX, {"maintainer": "x"}).name == NGINX


def test_events_name_their_workload_and_the_host_has_none() -> None:
    event = {"container.id": "abc", "container.image.repository": NGINX,
             "container.label": {"app": "web"}, "k8s.ns.name": "shop"}
    workload = workload_of_event(event)
    assert workload is not None and workload.name == "shop/web@docker.io/library/nginx"
    assert workload_of_event({"container.id": "host"}) is None
