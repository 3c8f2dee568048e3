"""The daemon end to end in-process: real store, real HTTP server, real outputs."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from runwatch.alerts.model import Alert, Priority
from runwatch.config import Config, load_config
from runwatch.daemon import INTERNAL_DROP_RULE, Daemon, Pipeline, build_outputs
from runwatch.enrich.process_tree import ProcessTreeEnricher, ProcessTree
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.store.base import AlertQuery
from runwatch.store.sql import open_store
from tests.support.http_server import recording_server
from tests.support.net import free_port


class ListSource:
    """Yields the given events in batches, then idles like a live source."""

    name = "list"

    def __init__(self, events: list[Event], batch_size: int = 100) -> None:
        self.status = SourceStatus()
        self._events = events
        self._batch_size = batch_size
        self.finished = asyncio.Event()

    async def events(self) -> AsyncIterator[list[Event]]:
        self.status.state = "running"
        for start in range(0, len(self._events), self._batch_size):
            batch = [dict(e) for e in self._events[start:start + self._batch_size]]
            self.status.events_total += len(batch)
            yield batch
        self.finished.set()
        await asyncio.Event().wait()


class TypeDetector:
    """Raises one alert per event of the given type."""

    name = "type"

    def __init__(self, evt_type: str) -> None:
        self.evt_type = evt_type

    def match(self, batch: list[Event]) -> list[Alert]:
        return [Alert.create(rule=f"saw {self.evt_type}", priority=Priority.WARNING,
                             source="syscall", hostname=str(e.get("evt.hostname")),
                             output=f"n={e['n']}", output_fields={"n": e["n"]},
                             container_id=str(e.get("container.id")))
                for e in batch if e.get("evt.type") == self.evt_type]


def make_config(tmp_path: Path, **overrides: object) -> Config:
    settings: dict[str, object] = {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "test-host", "outputs.stdout.enabled": False,
        "outputs.file.enabled": True, "outputs.file.path": str(tmp_path / "alerts.jsonl"),
        **overrides}
    return load_config(None, {}, settings)


def make_daemon(config: Config, events: list[Event], detector_type: str = "open") -> tuple[Daemon, ListSource]:
    source = ListSource(events)
    pipeline = Pipeline(sources=[source], enrichers=[ProcessTreeEnricher(ProcessTree())],
                        detectors=[TypeDetector(detector_type)],
                        outputs=build_outputs(config.outputs),
                        store=open_store(config.resolved_store_url))
    return Daemon(config, pipeline), source


def events_of(count: int) -> list[Event]:
    """Events from now: retention removes anything older than its age limit."""
    start_ns = time.time_ns()
    return [{"evt.type": "open" if n % 2 == 0 else "close", "evt.time": start_ns + n, "n": n,
             "container.id": "host"} for n in range(count)]


async def test_shutdown_delivers_every_queued_alert(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    daemon, source = make_daemon(config, events_of(20_000))
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(source.finished.wait(), 10)
    queued = daemon.source_edge.depth + daemon.detect_edge.depth + daemon.alert_edge.depth
    daemon.request_stop()
    await asyncio.wait_for(running, 30)
    assert queued > 0  # the stop came while work was still queued
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["output_fields"]["n"] for line in lines) == list(range(0, 20_000, 2))
    store = open_store(config.resolved_store_url)
    assert store.count()["alerts"] == 10_000
    assert store.count()["events"] == 20_000
    assert store.list_alerts(AlertQuery(limit=1))[0].hostname == "test-host"


class SameAlertDetector:
    """Raises the same alert, but for its pid, for every event: a storm."""

    name = "storm"

    def match(self, batch: list[Event]) -> list[Alert]:
        return [Alert.create(rule="Miner reconnects", priority=Priority.CRITICAL, source="syscall",
                             hostname="test-host", output=f"pid={e['n']}",
                             output_fields={"proc.name": "xmrig", "proc.pid": e["n"]},
                             container_id="c0ffee000001") for e in batch]


async def test_a_storm_of_one_alert_reaches_outputs_and_store_once_then_as_a_count(
        tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"alerts.repeat_window_s": 1.0})
    daemon, source = make_daemon(config, events_of(500))
    daemon.pipeline.detectors = [SameAlertDetector()]
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(source.finished.wait(), 10)
    store = open_store(config.resolved_store_url)
    deadline = time.monotonic() + 10
    while store.count()["alerts"] < 2 and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    daemon.request_stop()
    await asyncio.wait_for(running, 30)
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [line["output_fields"].get("runwatch.repeats") for line in lines] == [None, 499]
    assert lines[1]["output"].startswith("pid=499 (repeated 499 more times")
    assert store.count()["alerts"] == 2
    assert daemon.counters.alert_repeats_folded == 499


async def test_healthz_and_metrics_report_queues_and_counts(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    daemon, source = make_daemon(config, events_of(300))
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 10)
    await asyncio.wait_for(source.finished.wait(), 10)
    base = f"http://{config.listen}"
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            health = (await client.get(f"{base}/healthz")).json()
            if health["events_total"] == 300 and health["outputs"]["file"]["sent"] == 150:
                break
            await asyncio.sleep(0.05)
        metrics = (await client.get(f"{base}/metrics")).text
    daemon.request_stop()
    await asyncio.wait_for(running, 30)
    assert health["status"] == "ok"
    assert health["events_total"] == 300
    assert health["sources"]["list"]["events_total"] == 300
    assert set(health["queues"]) >= {"sources", "detect", "alerts", "store", "output:file"}
    assert health["queues"]["detect"]["capacity"] == config.pipeline.queue_size
    assert health["alerts"] == {"Warning": 150}
    assert 'runwatch_events_total{source="list"} 300.0' in metrics
    assert 'runwatch_alerts_total{priority="Warning"} 150.0' in metrics
    assert 'runwatch_queue_depth{queue="detect"}' in metrics
    assert 'runwatch_events_dropped_total{queue="store",reason="queue_full"} 0.0' in metrics


async def test_full_store_queue_is_counted_and_raises_an_internal_alert(tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"pipeline.store_queue_size": 16, "pipeline.batch_size": 100})
    daemon, source = make_daemon(config, events_of(2_000))
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(source.finished.wait(), 10)
    await asyncio.sleep(0.2)
    dropped = daemon.store_edge.dropped  # type: ignore[union-attr]
    daemon.raise_drop_alert_if_needed()
    daemon.request_stop()
    await asyncio.wait_for(running, 30)
    assert dropped > 0
    assert daemon.health.report()["status"] == "degraded"
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    internal = [line for line in lines if line["rule"] == INTERNAL_DROP_RULE]
    assert len(internal) == 1 and internal[0]["output_fields"]["n_dropped"] >= dropped
    assert len(lines) - 1 == 1_000  # detection lost nothing while storage dropped


async def test_dead_webhook_never_blocks_detection(tmp_path: Path) -> None:
    dead_url = f"http://127.0.0.1:{free_port()}/alerts"
    config = make_config(tmp_path, **{"outputs.webhook.enabled": True, "outputs.webhook.url": dead_url,
                                      "outputs.webhook.queue_size": 5,
                                      "outputs.webhook.backoff_s": 5.0,
                                      "pipeline.shutdown_timeout_s": 2.0})
    daemon, source = make_daemon(config, events_of(400))
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(source.finished.wait(), 10)
    file_worker = next(w for w in daemon.pipeline.outputs if w.name == "file")
    for _ in range(200):
        if file_worker.stats.sent == 200:
            break
        await asyncio.sleep(0.02)
    assert file_worker.stats.sent == 200
    webhook = next(w for w in daemon.pipeline.outputs if w.name == "webhook")
    assert webhook.edge.dropped > 0
    daemon.request_stop()
    await asyncio.wait_for(running, 30)


async def test_webhook_receives_alerts_from_the_daemon(tmp_path: Path) -> None:
    with recording_server([503]) as server:
        config = make_config(tmp_path, **{"outputs.webhook.enabled": True,
                                          "outputs.webhook.url": server.url,
                                          "outputs.webhook.backoff_s": 0.01,
                                          "outputs.webhook.min_priority": "warning"})
        daemon, source = make_daemon(config, events_of(10))
        running = asyncio.create_task(daemon.run())
        await asyncio.wait_for(source.finished.wait(), 10)
        daemon.request_stop()
        await asyncio.wait_for(running, 30)
    assert sorted(body["output_fields"]["n"] for body in server.bodies) == [0, 2, 4, 6, 8]  # type: ignore[index]
    assert server.attempts == 6


async def test_a_busy_listen_address_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    from runwatch.errors import ConfigError
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config(tmp_path, listen=f"127.0.0.1:{port}")
        daemon, _ = make_daemon(config, [])
        with pytest.raises(ConfigError, match=f"listen: cannot listen on 127.0.0.1:{port}"):
            await daemon.run()


@pytest.mark.integration
async def test_the_store_can_be_postgresql(tmp_path: Path, postgres_url: str) -> None:
    config = make_config(tmp_path, **{"store.url": postgres_url})
    daemon, source = make_daemon(config, events_of(1000))
    running = asyncio.create_task(daemon.run())
    await asyncio.wait_for(source.finished.wait(), 10)
    daemon.request_stop()
    await asyncio.wait_for(running, 30)
    store = open_store(postgres_url)
    assert store.count()["alerts"] == 500 and store.count()["events"] == 1000
    assert {a.rule for a in store.list_alerts(AlertQuery(limit=10))} == {"saw open"}
