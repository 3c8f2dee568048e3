"""Automated response against real podman: policies pause and isolate the containers their alerts
name, leave the others alone, record every decision, and can be undone."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from runwatch.alerts.model import Alert, Priority
from runwatch.cli.app import app
from runwatch.config import Config, PolicyMatchConfig, ResponseConfig, ResponsePolicyConfig, load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.inventory import Inventory
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.respond.responder import Responder
from runwatch.sources.runtime import RuntimeSource
from runwatch.sources.runtime.client import EngineClient
from runwatch.store.base import AlertQuery, Store
from runwatch.store.sql import open_store
from tests.support.daemon import sensing_daemon
from tests.support.waiting import eventually
from tests.support.net import free_port
from tests.support.podman import Container, ContainerFactory, podman

pytestmark = pytest.mark.integration

SHADOW_RULE = "Read sensitive file untrusted"

# The policy form users write, exactly as documented (names may grow, not change).
POLICIES_YAML = """\
response:
  dry_run: false
  cooldown_seconds: 60
  policies:
    - name: contain-shadow-readers
      match:
        rules: ["Read sensitive file untrusted"]
        image: "localhost/runwatch-busy*"
        name: "rwresp-pause-*"
      action: pause
    - name: cut-off-shadow-readers
      match:
        tags: [T1555]
        min_priority: Warning
        labels: {tier: isolate-me}
      action: isolate
"""


def daemon_config(tmp_path: Path, podman_socket: str, **overrides: object) -> Config:
    config_file = tmp_path / "runwatch.yaml"
    config_file.write_text(POLICIES_YAML)
    return load_config(config_file, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "test-host", "outputs.stdout.enabled": False,
        "outputs.file.enabled": True, "outputs.file.path": str(tmp_path / "alerts.jsonl"),
        "sources.runtime.socket": podman_socket, "sources.runtime.enabled": "true", **overrides})


def state(container: Container) -> str:
    return container.inspect("{{.State.Status}}")


def networks(container: Container) -> dict[str, object]:
    return json.loads(container.inspect("{{json .NetworkSettings.Networks}}")) or {}


def decisions_about(store: Store, container: Container) -> list[ResponseRecord]:
    return [r for r in store.list_responses(limit=100) if r.container_id == container.short_id]


async def test_policies_pause_and_isolate_the_attacked_containers_and_leave_others_alone(
        tmp_path: Path, podman_socket: str, start_container: ContainerFactory) -> None:
    to_pause = start_container("sleep", "600", name=f"rwresp-pause-{time.time_ns() % 10**8}")
    to_isolate = start_container("sleep", "600", labels={"tier": "isolate-me"})
    bystander = start_container("sleep", "600")
    assert networks(to_isolate), "the container to isolate starts on a network"
    config = daemon_config(tmp_path, podman_socket)
    async with sensing_daemon(config, build_pipeline(config), 60) as (_, store):
        for container in (to_pause, to_isolate, bystander):  # in a thread: the daemon shares this loop
            await asyncio.to_thread(container.exec, "cat", "/etc/shadow")

        [paused] = await eventually(lambda: decisions_about(store, to_pause))
        [isolated] = await eventually(lambda: decisions_about(store, to_isolate))
        assert paused.status == ResponseStatus.DONE and paused.action == "pause", paused
        assert paused.policy == "contain-shadow-readers" and paused.rule == SHADOW_RULE
        assert paused.latency_ms is not None and paused.latency_ms < 1000, paused
        assert state(to_pause) == "paused"
        assert isolated.status == ResponseStatus.DONE and isolated.action == "isolate", isolated
        assert isolated.latency_ms is not None and isolated.latency_ms < 1000, isolated
        assert networks(to_isolate) == {} and state(to_isolate) == "running"
        assert isolated.details["networks"] == ["podman"]

        alerts = store.list_alerts(AlertQuery(rule=SHADOW_RULE, limit=50))
        assert bystander.short_id in {a.container_id for a in alerts}, "the bystander was seen too"
        assert decisions_about(store, bystander) == [] and state(bystander) == "running"
        assert {paused.alert_id, isolated.alert_id} <= {a.id for a in alerts}

    runner = CliRunner()
    shown = runner.invoke(app, ["containers", "--json", "--data-dir", str(tmp_path / "data")])
    assert shown.exit_code == 0, shown.output
    inventory = {row["name"]: row for row in map(json.loads, shown.output.splitlines())}
    assert inventory[to_pause.name]["state"] == "paused" and inventory[to_pause.name]["alerts"] >= 1
    assert inventory[bystander.name]["state"] == "running" and inventory[bystander.name]["alerts"] >= 1
    for record in (paused, isolated):
        result = runner.invoke(app, ["respond", "undo", record.id, "--data-dir", str(tmp_path / "data")],
                               env={"DOCKER_HOST": podman_socket})
        assert result.exit_code == 0, result.output
    assert state(to_pause) == "running"
    assert list(networks(to_isolate)) == ["podman"]
    listed = runner.invoke(app, ["respond", "list", "--json", "--data-dir", str(tmp_path / "data")])
    assert listed.exit_code == 0, (listed.output, listed.exception)
    statuses = {json.loads(line)["id"]: json.loads(line)["status"] for line in listed.output.splitlines()}
    assert statuses[paused.id] == statuses[isolated.id] == "undone"
    again = runner.invoke(app, ["respond", "undo", paused.id, "--data-dir", str(tmp_path / "data")])
    assert again.exit_code != 0 and "is undone: nothing to undo" in str(again.exception)


def responder_for(podman_socket: str, inventory: Inventory, **response: object
                  ) -> tuple[Responder, list[ResponseRecord]]:
    policy = ResponsePolicyConfig(name="pause-bb", action="pause", match=PolicyMatchConfig(
        rules=["shadow read"], image="localhost/runwatch-busy*"))
    config = ResponseConfig(**{"dry_run": False, "policies": [policy], **response})  # type: ignore[arg-type]
    records: list[ResponseRecord] = []
    client = EngineClient(podman_socket)
    return Responder(config, inventory, client, records.append, self_container_id=""), records


def alert_on(container_id: str, rule: str = "shadow read") -> Alert:
    return Alert.create(rule=rule, priority=Priority.WARNING, source="syscall", hostname="h",
                        output="read", output_fields={}, container_id=container_id)


async def synced_inventory(podman_socket: str) -> Inventory:
    source = RuntimeSource(load_config(None, {}, {"sources.runtime.socket": podman_socket}).sources.runtime,
                           Inventory(), environ={})
    await asyncio.to_thread(source._sync_inventory, EngineClient(podman_socket))
    return source.inventory


async def test_dry_run_only_records(podman_socket: str, start_container: ContainerFactory) -> None:
    target = start_container("sleep", "600")
    responder, records = responder_for(podman_socket, await synced_inventory(podman_socket), dry_run=True)
    await responder.send(alert_on(target.short_id))
    await responder.close()
    [record] = records
    assert record.status == ResponseStatus.DRY_RUN and "would pause" in record.reason
    assert state(target) == "running"


async def test_cooldown_host_unknown_and_failures_are_recorded_with_reasons(
        podman_socket: str, start_container: ContainerFactory) -> None:
    target = start_container("sleep", "600")
    doomed = start_container("sleep", "600")
    inventory = await synced_inventory(podman_socket)
    responder, records = responder_for(podman_socket, inventory, cooldown_seconds=60)
    await responder.send(alert_on(target.short_id))
    await responder.send(alert_on(target.short_id))
    await responder.send(alert_on("host"))
    await responder.send(alert_on("0123456789ab"))
    await responder.send(alert_on(target.short_id, rule="another rule"))  # no policy matches
    podman("rm", "-f", "-t", "0", doomed.name)
    await responder.send(alert_on(doomed.short_id))
    await responder.close()
    done, cooled, host, unknown, failed = records
    assert done.status == ResponseStatus.DONE and state(target) == "paused"
    assert cooled.status == ResponseStatus.SKIPPED and cooled.reason.startswith("cooldown")
    assert host.status == ResponseStatus.SKIPPED and "host is never acted on" in host.reason
    assert unknown.status == ResponseStatus.SKIPPED and "not in the engine's inventory" in unknown.reason
    assert failed.status == ResponseStatus.FAILED and doomed.short_id in failed.reason
    podman("unpause", target.name)


async def test_runwatch_never_acts_on_its_own_container(podman_socket: str,
                                                        start_container: ContainerFactory) -> None:
    itself = start_container("sleep", "600")
    responder, records = responder_for(podman_socket, await synced_inventory(podman_socket))
    responder.self_container_id = itself.id
    await responder.send(alert_on(itself.short_id))
    await responder.close()
    [record] = records
    assert record.status == ResponseStatus.SKIPPED and "own container" in record.reason
    assert state(itself) == "running"


async def test_a_metric_threshold_raises_an_alert_through_the_pipeline(
        tmp_path: Path, podman_socket: str, start_container: ContainerFactory) -> None:
    busy = start_container("sh", "-c", "for i in 1 2 3 4 5 6; do sleep 600 & done; wait")
    calm = start_container("sleep", "600")
    config = daemon_config(tmp_path, podman_socket, **{
        "sources.ebpf.enabled": "false", "sources.runtime.metrics_interval_s": 0.3,
        "response.policies": [],
        "rules.thresholds": [{"name": "too many processes", "metric": "pids", "above": 4,
                              "for_s": 0.5, "priority": "Error",
                              "containers": {"image": "localhost/runwatch-busybox*"}}]})
    daemon = Daemon(config, build_pipeline(config))
    running = asyncio.create_task(daemon.run())
    store = open_store(config.resolved_store_url)
    rule = "Container threshold: too many processes"
    try:
        alerts = await eventually(lambda: store.list_alerts(AlertQuery(rule=rule, limit=10)), 20)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://{config.listen}/metrics")).text
    finally:
        daemon.request_stop()
        await asyncio.wait_for(running, 60)
    assert {a.container_id for a in alerts} == {busy.short_id}  # type: ignore[attr-defined]
    [alert] = alerts  # type: ignore[misc]
    assert alert.priority == Priority.ERROR and alert.source == "container"
    assert alert.output_fields["container.pids"] > 4 and calm.short_id not in alert.output
    series = {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
              for line in metrics.splitlines() if line.startswith("runwatch_container_")}
    labels = f'{{container="{busy.name}",image="{busy.image}"}}'
    assert series[f"runwatch_container_pids{labels}"] >= 7
    assert series[f"runwatch_container_memory_bytes{labels}"] > 0
    assert f'runwatch_container_pids{{container="{calm.name}",image="{calm.image}"}}' in series
