"""Falco rules in the running daemon: loaded at start, reloaded on a file change and on SIGHUP,
and a broken reload keeps the old rules running."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from runwatch.alerts.model import Alert
from runwatch.config import Config, load_config
from runwatch.daemon import Daemon, Pipeline, build_outputs, build_pipeline
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher
from runwatch.errors import RuleError
from runwatch.event import Event
from runwatch.rules.falco import FalcoDetector
from runwatch.rules.falco.reload import RulesReloader, load_detector, report_unprovided_fields
from runwatch.sources.base import SourceStatus
from runwatch.store.sql import open_store
from tests.support.net import free_port
from tests.support.waiting import eventually

DATA = Path(__file__).resolve().parents[2] / "data" / "falco"


def rules_text(process: str) -> str:
    return (f"- rule: Saw {process}\n  desc: d\n  condition: evt.type = execve and proc.name = "
            f"{process}\n  output: saw %proc.name in %container.id\n  priority: warning\n")


class QueueSource:
    """Events pushed by the test, one batch each."""

    name = "queue"

    def __init__(self) -> None:
        self.status = SourceStatus()
        self.queue: asyncio.Queue[Event] = asyncio.Queue()

    async def events(self) -> AsyncIterator[list[Event]]:
        self.status.state = "running"
        while True:
            yield [await self.queue.get()]


def make_config(tmp_path: Path, rules: Path, watch: bool) -> Config:
    return load_config(None, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}",
        "hostname": "test-host", "outputs.stdout.enabled": False, "rules.files": [str(rules)],
        "rules.watch": watch, "rules.rule_matching": "all", "sources.ebpf.enabled": "false",
        "sources.runtime.enabled": "false", "rules.append_output": [],
        "alerts.repeat_window_s": 0})  # the same alert again proves the old rules still run


async def start(tmp_path: Path, rules: Path, watch: bool
                ) -> tuple[Daemon, QueueSource, RulesReloader, list[Alert], asyncio.Task[None]]:
    config = make_config(tmp_path, rules, watch)
    detector, _ = load_detector(config.rules, config.resolved_hostname)
    reloader = RulesReloader(config.rules, config.resolved_hostname, detector)
    source = QueueSource()
    pipeline = Pipeline(sources=[source], enrichers=[ProcessTreeEnricher(ProcessTree())],
                        detectors=[detector], outputs=build_outputs(config.outputs),
                        store=open_store(config.resolved_store_url), rules_reloader=reloader)
    daemon = Daemon(config, pipeline)
    alerts: list[Alert] = []
    daemon.alert_listeners.append(alerts.extend)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), 10)
    return daemon, source, reloader, alerts, task


def execve(process: str) -> Event:
    return {"evt.type": "execve", "evt.source": "syscall", "proc.name": process,
            "container.id": "3ad7b26ded6d"}


async def test_a_changed_rules_file_is_reloaded_and_a_broken_one_keeps_the_old_rules(
        tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("bash"))
    daemon, source, reloader, alerts, task = await start(tmp_path, rules, watch=True)
    try:
        await source.queue.put(execve("bash"))
        await eventually(lambda: len(alerts) == 1)
        assert alerts[0].rule == "Saw bash"
        assert alerts[0].output == "saw bash in 3ad7b26ded6d"
        assert alerts[0].container_id == "3ad7b26ded6d"

        await asyncio.sleep(0.3)  # let the watcher start before the file changes
        rules.write_text(rules_text("zsh"))
        await eventually(lambda: reloader.reloads == 1)
        await source.queue.put(execve("bash"))
        await source.queue.put(execve("zsh"))
        await eventually(lambda: len(alerts) == 2)
        assert alerts[1].rule == "Saw zsh"

        rules.write_text(rules_text("zsh").replace("proc.name = zsh", "proc.nme = zsh"))
        await eventually(lambda: reloader.failed_reloads == 1)
        assert reloader.last_error is not None
        assert f"{rules}:3: rule 'Saw zsh': condition: unknown field 'proc.nme'" in \
            reloader.last_error
        await source.queue.put(execve("zsh"))
        await eventually(lambda: len(alerts) == 3)
        assert alerts[2].rule == "Saw zsh"
        assert sum(isinstance(d, FalcoDetector) for d in daemon.detectors) == 1
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)


async def test_sighup_reloads_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("bash"))
    daemon, source, reloader, alerts, task = await start(tmp_path, rules, watch=False)
    try:
        rules.write_text(rules_text("ksh"))
        await asyncio.sleep(0.5)
        assert reloader.reloads == 0  # no watching: only a signal reloads
        os.kill(os.getpid(), signal.SIGHUP)
        await eventually(lambda: reloader.reloads == 1)
        await source.queue.put(execve("ksh"))
        await eventually(lambda: len(alerts) == 1)
        assert alerts[0].rule == "Saw ksh"
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, 30)


def test_the_pipeline_gets_the_falco_detector_and_refuses_broken_rules(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("bash"))
    pipeline = build_pipeline(make_config(tmp_path, rules, watch=True))
    try:
        assert [d.name for d in pipeline.detectors] == ["thresholds", "falco", "sigma", "secrets", "anomaly"]
        assert pipeline.rules_reloader is not None
    finally:
        pipeline.store.close()
    rules.write_text(rules_text("bash").replace("warning", "loud"))
    with pytest.raises(RuleError, match=r"1 errors in rules files:\n  .*rules.yaml:5: rule "
                                        r"'Saw bash': priority: unknown priority 'loud'"):
        build_pipeline(make_config(tmp_path, rules, watch=True))


def test_fields_no_running_source_provides_are_reported(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("bash"))
    pipeline = build_pipeline(make_config(tmp_path, rules, watch=True))
    pipeline.store.close()
    detector, _ = load_detector(make_config(tmp_path, DATA / "falco_rules.yaml", True).rules, "h")
    missing = report_unprovided_fields(detector.ruleset, [*pipeline.sources, *pipeline.enrichers])
    assert missing is not None
    assert [s.name for s in pipeline.sources] == ["procfs", "k8s_audit_webhook"]
    assert "evt.is_open_read" in missing  # procfs sees no opens
    assert "Read sensitive file untrusted" in missing["evt.is_open_read"]
    assert "proc.name" not in missing and "proc.aname[2]" not in missing
    assert report_unprovided_fields(detector.ruleset, [object()]) is None


def test_with_the_kernel_sensor_only_fields_it_lacks_are_reported(tmp_path: Path) -> None:
    config = load_config(None, {}, {"data_dir": str(tmp_path / "data"), "sources.ebpf.enabled": "true",
                                    "sources.runtime.enabled": "true",
                                    "sources.runtime.socket": str(tmp_path / "engine.sock")})
    pipeline = build_pipeline(config)
    pipeline.store.close()
    assert {s.name for s in pipeline.sources} >= {"ebpf", "runtime"}
    detector, _ = load_detector(make_config(tmp_path, DATA / "falco_rules.yaml", True).rules, "h")
    missing = report_unprovided_fields(detector.ruleset, [*pipeline.sources, *pipeline.enrichers])
    assert missing is not None, "every source and enricher declares its fields"
    for provided in ("evt.is_open_read", "evt.arg.flags", "fd.sip", "proc.aname[2]", "proc.duration",
                     "user.loginname", "container.image.repository", "proc.is_exe_upper_layer"):
        assert provided not in missing, provided
    assert "fd.sip.name" in missing  # no DNS names for addresses yet: said, not hidden
