"""Secrets cut out of log events before the store, rules and outputs see them, and the alert
that says so; end to end through the daemon with a real log file."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson

from runwatch.config import load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.enrich.redaction import REDACTED, SecretRedactor
from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.rules.secret_leak import RULE, SecretLeakDetector
from runwatch.scan import load_secret_rules
from runwatch.store.base import AlertQuery, EventQuery
from tests.support.daemon import DaemonThread
from tests.support.net import free_port
from tests.support.waiting import eventually_sync

AWS = "AKIAZ4Q2X7LMN3PRT5VW"
TOKEN = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


def test_the_secret_is_gone_from_every_field_and_the_kinds_are_named() -> None:
    redactor = SecretRedactor(load_secret_rules())
    event: Event = {"evt.source": "log", "log.message": f"key={AWS} token {TOKEN} ok",
                    "log.line": f"2026 app: key={AWS}", "container.id": "c0ffee000001"}
    untouched: Event = {"evt.source": "log", "log.message": "GET / 200"}
    redactor.enrich([event, untouched])
    serialised = orjson.dumps(event).decode()
    assert AWS not in serialised and TOKEN not in serialised
    assert event["log.message"].endswith(f" token ghp_{REDACTED} ok")  # type: ignore[union-attr]
    assert {"aws-access-token", "github-pat"} <= set(event["log.secrets"])  # type: ignore[arg-type]
    assert untouched == {"evt.source": "log", "log.message": "GET / 200"}


def test_the_alert_names_the_kind_and_place_never_the_secret() -> None:
    redactor = SecretRedactor(load_secret_rules())
    event: Event = {"evt.source": "log", "log.message": f"using {AWS}", "container.id": "c0ffee000001",
                    "log.path": "/var/lib/containers/x/ctr.log"}
    redactor.enrich([event])
    [alert] = SecretLeakDetector("h1").match([event, {"evt.source": "log", "log.message": "hi"}])
    assert alert.rule == RULE and alert.priority == Priority.CRITICAL  # a cloud key
    assert alert.container_id == "c0ffee000001" and "aws-access-token" in alert.output
    assert AWS not in json.dumps(alert.to_falco_json())


def test_a_secret_logged_to_a_file_is_stored_redacted_and_alerted(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    config = load_config(None, {}, {
        "data_dir": str(tmp_path / "data"), "listen": f"127.0.0.1:{free_port()}", "hostname": "h",
        "outputs.stdout.enabled": False, "sources.ebpf.enabled": "false",
        "sources.procfs.enabled": False, "sources.runtime.enabled": "false",
        "sources.logs.well_known_files": False, "sources.logs.poll_interval_s": 0.05,
        "sources.logs.files": [{"path": str(log), "format": "syslog"}], "profiles.enabled": False})
    thread = DaemonThread(Daemon(config, build_pipeline(config))).start()
    try:
        time.sleep(0.3)
        with log.open("a") as file:
            file.write(f"Nov 23 04:00:00 web1 deploy[42]: pushing with {TOKEN}\n")
        store = thread.daemon.pipeline.store
        [alert] = eventually_sync(lambda: store.list_alerts(AlertQuery(rule=RULE, limit=5)))
        assert alert.priority == Priority.CRITICAL and "github-pat" in alert.output
        events = eventually_sync(lambda: store.list_events(EventQuery(source="syslog", limit=5)))
        assert events[0]["log.message"] == f"pushing with ghp_{REDACTED}"
        assert TOKEN not in orjson.dumps(events).decode() and TOKEN not in alert.output
    finally:
        thread.stop()
