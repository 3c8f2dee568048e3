"""The runtime source against real podman through its Docker-compatible API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runwatch.config import RuntimeSourceConfig, load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.inventory import Inventory, parse_engine_time, split_image
from runwatch.sources.runtime import RuntimeSource
from tests.support.collect import SourceCollector
from tests.support.net import free_port
from tests.support.podman import ContainerFactory, podman

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(podman_socket: str) -> AsyncIterator[tuple[SourceCollector, RuntimeSource]]:
    source = RuntimeSource(RuntimeSourceConfig(socket=podman_socket, metrics_interval_s=0.3),
                           Inventory(), environ={})
    collector = SourceCollector(source)
    await collector.start(timeout_s=20)
    yield collector, source
    await collector.stop()


async def test_inventory_matches_podman_inspect(podman_socket: str, start_container: ContainerFactory) -> None:
    web = start_container("sleep", "600", labels={"app": "web", "io.kubernetes.pod.name": "web-7d9f",
                                                  "io.kubernetes.pod.namespace": "shop"},
                          options=("-v", "/tmp:/data:ro"))
    privileged = start_container("sleep", "600", options=("--privileged",))
    source = RuntimeSource(RuntimeSourceConfig(socket=podman_socket), Inventory(), environ={})
    collector = SourceCollector(source)
    await collector.start(timeout_s=20)
    try:
        for container in (web, privileged):
            record = source.inventory.get(container.id)
            assert record is not None, container.name
            inspect = json.loads(podman("inspect", container.name).stdout)[0]
            assert record.full_id == inspect["Id"] and record.id == inspect["Id"][:12]
            assert record.name == inspect["Name"] == container.name
            assert record.image == inspect["Config"]["Image"] == container.image
            assert record.image_id.removeprefix("sha256:") == inspect["Image"].removeprefix("sha256:")
            assert record.labels == (inspect["Config"]["Labels"] or {})
            assert record.privileged == inspect["HostConfig"]["Privileged"]
            assert record.pid == inspect["State"]["Pid"] and record.state == "running"
            assert record.started_ns == parse_engine_time(inspect["State"]["StartedAt"])
        record = source.inventory.get(web.id)
        assert record is not None
        assert record.pod_name == "web-7d9f" and record.namespace == "shop"
        assert any(m.startswith("/tmp:/data:") for m in record.mounts)
        assert source.inventory.get(privileged.id).privileged is True  # type: ignore[union-attr]
        fields = record.falco_fields()
        assert fields["container.image.repository"] == "localhost/runwatch-busybox"
        assert fields["container.image.tag"] == "test"
        assert fields["k8s.pod.name"] == "web-7d9f" and fields["k8s.ns.name"] == "shop"
        running = {line.split()[0][:12] for line in podman("ps", "-q", "--no-trunc").stdout.splitlines()}
        assert running <= {r.id for r in source.inventory.all()}
    finally:
        await collector.stop()


async def test_start_die_and_exec_arrive_as_container_events(
        runtime: tuple[SourceCollector, RuntimeSource], start_container: ContainerFactory) -> None:
    collector, _ = runtime
    crasher = start_container("sh", "-c", "sleep 1; exit 3")
    [start] = await collector.wait_for(lambda e: e.get("evt.type") == "container_start"
                                       and e.get("container.id") == crasher.short_id, timeout_s=10)
    [die] = await collector.wait_for(lambda e: e.get("evt.type") == "container_die"
                                     and e.get("container.id") == crasher.short_id, timeout_s=15)
    assert start["evt.source"] == "container" and start["container.name"] == crasher.name
    assert die["evt.arg.exit_code"] == 3
    worker = start_container("sleep", "600")
    worker.exec("sh", "-c", "id")
    [execed] = await collector.wait_for(lambda e: e.get("evt.type") == "container_exec"
                                        and e.get("container.id") == worker.short_id, timeout_s=10)
    assert execed["container.image.repository"] == "localhost/runwatch-busybox"


async def test_usage_is_read_from_cgroups(runtime: tuple[SourceCollector, RuntimeSource],
                                          start_container: ContainerFactory) -> None:
    collector, source = runtime
    busy = start_container("sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 600 & done; wait")
    stats = await collector.wait_for(lambda e: e.get("evt.type") == "container_stats"
                                     and e.get("container.id") == busy.short_id
                                     and e.get("container.pids", 0) >= 9, timeout_s=15)  # type: ignore[operator]
    assert stats[-1]["container.memory_bytes"] > 0  # type: ignore[operator]
    assert stats[-1]["container.memory_limit_bytes"] >= stats[-1]["container.memory_bytes"]  # type: ignore[operator]
    assert busy.short_id in source.usage


async def test_unreachable_engine_is_reported_and_retried(tmp_path_factory: pytest.TempPathFactory) -> None:
    socket_path = tmp_path_factory.mktemp("late") / "podman.sock"
    source = RuntimeSource(RuntimeSourceConfig(socket=f"unix://{socket_path}", enabled="true"),
                           Inventory(), environ={})
    collector = SourceCollector(source)
    starting = asyncio.create_task(collector.start(timeout_s=60))
    deadline = time.monotonic() + 10
    while source.status.state != "retrying" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert source.status.state == "retrying"
    assert str(socket_path) in (source.status.error or "")
    service = subprocess.Popen(["podman", "system", "service", "--time", "0", f"unix://{socket_path}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        await asyncio.wait_for(starting, 60)
        assert source.status.state == "running" and source.status.error is None
    finally:
        await collector.stop()
        service.terminate()
        service.wait(timeout=10)


async def test_detection_goes_on_while_the_engine_is_unreachable(tmp_path: Path) -> None:
    config = load_config(None, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "outputs.stdout.enabled": False, "sources.ebpf.enabled": "false",
        "sources.procfs.interval_s": 0.2,
        "sources.runtime.enabled": "true", "sources.runtime.socket": str(tmp_path / "none.sock")})
    daemon = Daemon(config, build_pipeline(config))
    running = asyncio.create_task(daemon.run())
    try:
        await asyncio.wait_for(daemon.ready.wait(), 20)
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                health = (await client.get(f"http://{config.listen}/healthz")).json()
                if health["sources"]["runtime"]["state"] == "retrying" and \
                        health["sources"]["procfs"]["events_total"] > 0:
                    break
                await asyncio.sleep(0.1)
    finally:
        daemon.request_stop()
        await asyncio.wait_for(running, 30)
    assert health["sources"]["runtime"]["state"] == "retrying"
    assert "none.sock" in health["sources"]["runtime"]["error"]
    assert health["sources"]["procfs"]["state"] == "running"
    assert health["sources"]["procfs"]["events_total"] > 0


def test_image_references_split_into_repository_and_tag() -> None:
    assert split_image("docker.io/library/nginx:1.25") == ("docker.io/library/nginx", "1.25")
    assert split_image("registry:5000/team/app") == ("registry:5000/team/app", "latest")
    assert split_image("localhost/bb@sha256:abcd") == ("localhost/bb", "")
    assert split_image("busybox") == ("busybox", "latest")


def test_engine_times_keep_nanoseconds_and_zones() -> None:
    assert parse_engine_time("2026-11-22T15:57:10.109667811Z") == 1795363030109667811
    assert parse_engine_time("2026-11-22T17:57:10.5+02:00") == 1795363030500000000
    assert parse_engine_time("0001-01-01T00:00:00Z") == 0
