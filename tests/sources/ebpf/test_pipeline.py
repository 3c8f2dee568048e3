"""The kernel sensor inside the daemon: chosen when it can run, its events stored, its losses
counted in a metric and turned into Falco's 'syscall event drop' alert."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runwatch.config import Config, load_config
from runwatch.daemon import KERNEL_DROP_RULE, Daemon, build_pipeline
from runwatch.errors import SourceError
from runwatch.sources.ebpf import EbpfSource
from runwatch.sources.procfs import ProcfsSource
from runwatch.store.base import AlertQuery
from runwatch.store.sql import open_store
from tests.support.net import free_port

pytestmark = pytest.mark.integration


def make_config(tmp_path: Path, **overrides: object) -> Config:
    settings: dict[str, object] = {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "test-host", "outputs.stdout.enabled": False,
        "sources.runtime.enabled": "false", "sources.logs.enabled": False,
        "outputs.file.enabled": True, "outputs.file.path": str(tmp_path / "alerts.jsonl"),
        **overrides}
    return load_config(None, {}, settings)


def test_the_kernel_sensor_is_chosen_as_root_and_procfs_when_it_is_off(tmp_path: Path) -> None:
    pipeline = build_pipeline(make_config(tmp_path), frozenset({"openat"}))
    [kernel] = pipeline.sources
    assert isinstance(kernel, EbpfSource) and kernel.requested == frozenset({"openat"})
    off = build_pipeline(make_config(tmp_path, **{"sources.ebpf.enabled": "false"}))
    assert [type(source) for source in off.sources] == [ProcfsSource]


def test_a_required_sensor_that_cannot_run_stops_start_up_with_the_reason(tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"sources.ebpf.enabled": "true",
                                      "sources.ebpf.bpftrace": "/nonexistent/bpftrace"})
    with pytest.raises(SourceError, match="bpftrace not found"):
        build_pipeline(config)
    auto = make_config(tmp_path, **{"sources.ebpf.bpftrace": "/nonexistent/bpftrace"})
    assert [type(source) for source in build_pipeline(auto).sources] == [ProcfsSource]


def test_without_root_the_sensor_says_so() -> None:
    code = "from runwatch.sources.ebpf import why_not; print(why_not())"
    result = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                             sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True, cwd="/")
    assert "needs root" in result.stdout


async def test_kernel_losses_raise_the_syscall_event_drop_alert(tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"sources.ebpf.perf_buffer_pages": 1,
                                      "pipeline.queue_size": 64})
    pipeline = build_pipeline(config, frozenset({"openat"}))
    [kernel] = pipeline.sources
    daemon = Daemon(config, pipeline)
    running = asyncio.create_task(daemon.run())
    try:
        deadline = time.monotonic() + 90
        while kernel.status.state != "running":
            assert not running.done(), running.result()
            assert time.monotonic() < deadline, "sensor not running"
            await asyncio.sleep(0.1)
        flood = tmp_path / "flood"
        code = (f"import os\nfor _ in range(300_000): "
                f"os.close(os.open({str(flood)!r}, os.O_WRONLY | os.O_CREAT))")
        await asyncio.to_thread(subprocess.run, [sys.executable, "-c", code], check=True)
        alerts = tmp_path / "alerts.jsonl"
        deadline = time.monotonic() + 40
        while not alerts.exists() or KERNEL_DROP_RULE not in alerts.read_text():
            assert time.monotonic() < deadline, f"no drop alert; lost={kernel.status.lost_total}"
            await asyncio.sleep(0.5)
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://{config.listen}/metrics", timeout=10)).text
    finally:
        daemon.request_stop()
        await asyncio.wait_for(running, 60)
    [alert] = [json.loads(line) for line in alerts.read_text().splitlines()
               if json.loads(line)["rule"] == KERNEL_DROP_RULE][:1]
    assert alert["priority"] == "Critical" and alert["source"] == "internal"
    assert alert["output_fields"]["n_drops"] > 0
    assert alert["output"].startswith("runwatch internal: syscall event drop.")
    [lost_metric] = [line for line in metrics.splitlines()
                     if line.startswith('runwatch_source_lost_events_total{source="ebpf"}')]
    assert float(lost_metric.split()[-1]) > 0
    stored = open_store(config.resolved_store_url).list_alerts(AlertQuery(limit=100))
    assert any(a.rule == KERNEL_DROP_RULE for a in stored)
    assert open_store(config.resolved_store_url).count()["events"] > 0
