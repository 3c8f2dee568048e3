"""Profiles against real podman containers and the real kernel sensor: a web server, a client
calling it and a worker learn; in monitor mode a new program and a new peer alert for the right
container, a restart or a second replica raises nothing, and protect mode triggers a response."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from runwatch.alerts.model import Alert
from runwatch.config import Config, load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.profiles import OBSERVED_EVENT_TYPES, admin
from runwatch.profiles.model import Kind, Mode
from runwatch.store.base import AlertQuery
from runwatch.store.sql import SqlStore
from tests.support.daemon import sensing_daemon
from tests.support.waiting import eventually
from tests.support.net import free_port
from tests.support.podman import Container, ContainerFactory, podman

pytestmark = pytest.mark.integration

IMAGE = "localhost/runwatch-busybox"
IMAGE_CHANGE_S = 8
WEB, CLIENT, WORKER = (f"{app}@{IMAGE}" for app in ("web", "client", "worker"))


@dataclass
class Scene:
    daemon: Daemon
    store: SqlStore
    config: Config
    web: Container
    client: Container
    worker: Container

    def profile_alerts(self, since_ns: int) -> list[Alert]:
        return [a for a in self.store.list_alerts(AlertQuery(since_ns=since_ns, limit=500))
                if a.rule.startswith("Profile:")]

    def items(self, workload: str, kind: Kind) -> list[tuple[str, ...]]:
        stored = self.store.profiles.get(workload)
        return [i.item for i in stored.items if i.kind == kind] if stored else []


def address(container: Container) -> str:
    return container.inspect("{{.NetworkSettings.IPAddress}}")


def start_web(start_container: ContainerFactory) -> Container:
    return start_container("httpd", "-f", "-p", "8080", "-h", "/var/www", labels={"app": "web"})


def config_for(tmp_path: Path, podman_socket: str, yaml_text: str = "") -> Config:
    config_file = tmp_path / "runwatch.yaml"
    config_file.write_text(yaml_text)
    return load_config(config_file, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "test-host", "outputs.stdout.enabled": False,
        "sources.runtime.socket": podman_socket, "sources.runtime.enabled": "true",
        "store.events": "none", "sources.ebpf.perf_buffer_pages": 2048,
        "profiles.image_change_learn_s": IMAGE_CHANGE_S})


@pytest.fixture
async def scene(tmp_path: Path, podman_socket: str, start_container: ContainerFactory
                ) -> AsyncIterator[Scene]:
    config = config_for(tmp_path, podman_socket, RESPONSE_YAML)
    pipeline = build_pipeline(config, OBSERVED_EVENT_TYPES)
    async with sensing_daemon(config, pipeline) as (daemon, store):
        web = start_web(start_container)
        worker = start_container("sh", "-c", "httpd -p 9000 -h /var/www; while true; "
                                 "do date > /tmp/out; sleep 1; done", labels={"app": "worker"})
        client = start_container("sh", "-c", f"while true; do wget -q -O /dev/null "
                                 f"http://{address(web)}:8080/; sleep 0.5; done", labels={"app": "client"})
        yield Scene(daemon, store, config, web, client, worker)


RESPONSE_YAML = """\
response:
  dry_run: true
  policies:
    - name: contain-deviations
      match: {tags: [profile_protect]}
      action: pause
"""


async def learn(scene: Scene) -> None:
    """Until each workload shows its normal work in the store, and a little longer."""
    await eventually(lambda: scene.items(CLIENT, Kind.OUTBOUND) == [(WEB, "8080", "tcp")], 60)
    await eventually(lambda: (CLIENT, "8080", "tcp") in scene.items(WEB, Kind.INBOUND), 30)
    await eventually(lambda: ("/tmp/out",) in scene.items(WORKER, Kind.FILE_WRITE), 30)
    for _ in range(3):  # the listen happens once per start: if the kernel lost it, start again
        try:
            await eventually(lambda: ("8080", "tcp") in scene.items(WEB, Kind.LISTEN), 10)
            break
        except AssertionError:
            podman("restart", "-t", "0", scene.web.name)
    assert ("8080", "tcp") in scene.items(WEB, Kind.LISTEN)
    await eventually(lambda: stable_for(scene, 10), 120)


def stable_for(scene: Scene, seconds: float) -> bool:
    """The learning window's stability test: nothing new learned by any workload lately."""
    records = [scene.store.profiles.get(w) for w in (WEB, CLIENT, WORKER)]
    return all(r is not None and time.time_ns() - r.record.updated_ns > seconds * 1e9 for r in records)


async def deviate(act: Callable[[], object], alerts: Callable[[], list[Alert]]) -> list[Alert]:
    """Do something new until it alerts: the kernel may lose an event while other work on this
    machine floods it; the same deviation then alerts once, however often it is repeated."""
    for _ in range(5):
        await asyncio.to_thread(act)
        try:
            await eventually(alerts, 5)
            break
        except AssertionError:
            continue
    await asyncio.sleep(2)
    return alerts()


async def switch(scene: Scene, mode: Mode) -> None:
    """As `runwatch profile mode` does: in the store, picked up by the running daemon."""
    for workload in (WEB, CLIENT, WORKER):
        assert scene.store.profiles.set_mode(workload, mode, time.time_ns()) is not None
    detector = scene.daemon.pipeline.profile_keeper.detector  # type: ignore[union-attr]
    await eventually(lambda: all(detector.states[w].mode == mode for w in (WEB, CLIENT, WORKER)), 5)


async def test_learned_workloads_alert_on_a_new_program_and_a_new_peer_and_not_on_replicas(
        scene: Scene, start_container: ContainerFactory) -> None:
    await learn(scene)
    await switch(scene, Mode.MONITOR)
    quiet_since = time.time_ns()
    await asyncio.sleep(5)
    assert scene.profile_alerts(quiet_since) == [], "normal work raises nothing after learning"

    # (c) a restart and a second replica of the web server raise nothing
    podman("restart", "-t", "0", scene.web.name)
    replica = start_web(start_container)
    await asyncio.sleep(6)
    assert scene.profile_alerts(quiet_since) == [], "a restart or a replica is not new behaviour"

    # (a) a new program in the worker
    since = time.time_ns()
    [alert] = await deviate(lambda: scene.worker.exec("ls", "/var"),
                            lambda: [a for a in scene.profile_alerts(since)
                                     if a.rule == "Profile: new process"])
    assert alert.container_id == scene.worker.short_id
    assert alert.output_fields["profile.workload"] == WORKER
    assert alert.output_fields["profile.item"][:2] == ["/bin/ls", "ls"]

    # (b) the client calls a peer it never called: a profile alert and an abnormal edge
    since = time.time_ns()
    [outbound] = await deviate(
        lambda: scene.client.exec("wget", "-q", "-O", "/dev/null",
                                  f"http://{address(scene.worker)}:9000/"),
        lambda: [a for a in scene.profile_alerts(since)
                 if a.rule == "Profile: new outbound connection"])
    assert outbound.container_id == scene.client.short_id
    assert outbound.output_fields["profile.item"] == [WORKER, "9000", "tcp"]
    edges = await eventually(lambda: [e for e in scene.store.profiles.list_edges()
                                      if (e.source, e.target, e.port) == (CLIENT, WORKER, 9000)], 5)
    assert edges[0].abnormal and edges[0].alert_id == outbound.id  # type: ignore[index]
    normal = [e for e in scene.store.profiles.list_edges() if (e.source, e.target) == (CLIENT, WEB)]
    assert normal and not normal[0].abnormal and normal[0].count >= 5
    assert replica.short_id not in {a.container_id for a in scene.profile_alerts(quiet_since)}


async def test_protect_mode_hands_deviations_to_response_and_profiles_survive_a_restart(
        scene: Scene) -> None:
    await learn(scene)
    await switch(scene, Mode.PROTECT)
    since = time.time_ns()
    [alert] = await deviate(lambda: scene.worker.exec("ls", "/var"),
                            lambda: [a for a in scene.profile_alerts(since)
                                     if a.rule == "Profile: new process"])
    assert "profile_protect" in alert.tags
    [decision] = await eventually(lambda: scene.store.list_responses(alert.id), 10)
    assert decision.policy == "contain-deviations" and decision.container_id == scene.worker.short_id

    learned = {w: len(scene.store.profiles.get(w).items) for w in (WEB, CLIENT, WORKER)}  # type: ignore[union-attr]
    restarted = build_pipeline(scene.config)
    detector = restarted.profile_keeper.detector  # type: ignore[union-attr]
    assert {w: len(detector.states[w].profile) for w in learned} == learned
    assert all(detector.states[w].mode == Mode.PROTECT for w in learned)
    restarted.store.close()


async def test_a_new_image_version_is_learned_as_a_diff_and_reported_once(
        scene: Scene, start_container: ContainerFactory) -> None:
    await learn(scene)
    await switch(scene, Mode.MONITOR)
    release = f"{IMAGE}:release-{time.time_ns() % 10**6}"
    podman("commit", "-q", scene.web.name, release)  # the same files, a new image id
    try:
        since = time.time_ns()
        new_version = start_container("sh", "-c", "httpd -p 8080 -h /var/www; while true; "
                                      "do date > /tmp/release-state; sleep 1; done",
                                      image=release, labels={"app": "web"})
        [report] = await eventually(lambda: [a for a in scene.profile_alerts(since)
                                             if a.rule == "Profile: image change"], 30)
        others = [a.rule for a in scene.profile_alerts(since) if a.rule != "Profile: image change"]
        assert others == [], "what the new version does is collected, not alerted item by item"
        assert report.output_fields["profile.image.current"].startswith(release)  # type: ignore[union-attr]
        diff = {(i.kind, i.item) for i in scene.store.profiles.get(WEB).items  # type: ignore[union-attr]
                if i.origin == "image_diff"}
        assert (Kind.FILE_WRITE, ("/tmp/release-state",)) in diff, diff
        assert admin.resolve_image_diff(scene.store.profiles, WEB, accept=True) == len(diff)
        learned = {(i.kind, i.item) for i in scene.store.profiles.get(WEB).items}  # type: ignore[union-attr]
        assert diff <= learned
        quiet = time.time_ns()
        await asyncio.sleep(4)  # the new version keeps writing its state file: learned now
        assert scene.profile_alerts(quiet) == []
        podman("rm", "-f", "-t", "0", new_version.name)
    finally:
        podman("rmi", "-f", release, check=False)
