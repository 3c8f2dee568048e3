"""The runwatch command as users run it: a real subprocess, real files, real HTTP."""

from __future__ import annotations

import json
import re
import tempfile
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from runwatch.alerts.model import Alert, Priority
from runwatch.store.sql import SqlStore
from tests.support.net import free_port

RUNWATCH = str(Path(sys.executable).with_name("runwatch"))


def runwatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RUNWATCH, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})


def test_help_lists_every_command_with_a_description() -> None:
    result = runwatch("--help")
    assert result.returncode == 0
    for command in ("run", "alerts", "fields", "config"):
        assert re.search(rf"^\W*{command}\s+\w+", result.stdout, re.MULTILINE), command


def test_version() -> None:
    result = runwatch("--version")
    assert result.returncode == 0 and result.stdout.startswith("runwatch ")


def test_fields_lists_the_registry_as_json() -> None:
    result = runwatch("fields", "proc.", "--json")
    fields = {f["name"]: f for f in json.loads(result.stdout)}
    assert fields["proc.aname"]["arg"] == "optional"
    assert fields["proc.pid"]["type"] == "int"
    assert all(name.startswith("proc.") for name in fields)


def test_config_defaults_prints_the_documented_example() -> None:
    result = runwatch("config", "defaults")
    assert result.returncode == 0 and "rule_matching: first" in result.stdout


def test_config_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    config = tmp_path / "runwatch.yaml"
    config.write_text("pipeline:\n  queue_size: many\n")
    result = runwatch("run", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == "error: pipeline.queue_size: expected int, got 'many'"


def test_alerts_lists_and_filters_stored_alerts(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'runwatch.db'}")
    now = time.time_ns()
    for rule, priority, container, age_s in [("Shell in container", Priority.NOTICE, "aaa", 10),
                                             ("Read sensitive file", Priority.WARNING, "bbb", 20),
                                             ("Old news", Priority.CRITICAL, "aaa", 7200)]:
        store.add_alerts([Alert.create(rule=rule, priority=priority, source="syscall", hostname="h",
                                       output=rule, container_id=container,
                                       time_ns=now - int(age_s * 1e9))])
    store.close()

    def rules(*args: str) -> list[str]:
        result = runwatch("alerts", "--data-dir", str(tmp_path), "--json", *args)
        assert result.returncode == 0, result.stderr
        return [json.loads(line)["rule"] for line in result.stdout.splitlines()]

    assert rules() == ["Shell in container", "Read sensitive file", "Old news"]
    assert rules("--since", "1h") == ["Shell in container", "Read sensitive file"]
    assert rules("--priority", "warning") == ["Read sensitive file", "Old news"]
    assert rules("--container", "aaa") == ["Shell in container", "Old news"]
    assert rules("--rule", "Old news") == ["Old news"]
    table = runwatch("alerts", "--data-dir", str(tmp_path))
    assert "Read sensitive file" in table.stdout and "3 alert(s)" in table.stdout
    bad = runwatch("alerts", "--data-dir", str(tmp_path), "--since", "yesterday-ish")
    assert bad.returncode == 1 and "--since: expected a duration" in bad.stderr


def start_runwatch(tmp_path: Path, *extra: str, user: str | None = None) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    command = [RUNWATCH, "run", "--data-dir", str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}",
               "--json-output", str(tmp_path / "alerts.jsonl"), *extra]
    if user is not None:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
                   *command]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)})
    return process, f"http://127.0.0.1:{port}"


def wait_healthy(process: subprocess.Popen[str], base: str, timeout_s: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            return httpx.get(f"{base}/healthz", timeout=1).json()  # type: ignore[no-any-return]
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("no /healthz answer")


@pytest.mark.integration
def test_run_serves_healthz_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process, base = start_runwatch(tmp_path)
    try:
        health = wait_healthy(process, base)
        assert health["sources"]["ebpf"]["state"] in ("starting", "running")  # type: ignore[index]
        assert "runwatch_queue_depth" in httpx.get(f"{base}/metrics").text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert '"message":"stopped"' in stderr.replace(" ", "")
    assert (tmp_path / "data" / "runwatch.db").exists()


@pytest.mark.integration
def test_run_without_root_starts_on_procfs_and_says_what_it_cannot_see(tmp_path: Path) -> None:
    assert os.geteuid() == 0, "this test drops from root to nobody"
    nobody = pwd.getpwnam("nobody")
    home = Path(tempfile.mkdtemp(prefix="runwatch-nobody-"))  # pytest's own tmp is root-only
    shutil.chown(home, nobody.pw_uid, nobody.pw_gid)
    process, base = start_runwatch(home, user="nobody")
    try:
        health = wait_healthy(process, base)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    procfs = health["sources"]["procfs"]  # type: ignore[index]
    assert any("not root" in limitation for limitation in procfs["limitations"])
    assert "(not root)" in stderr and "cannot see:" in stderr
    shutil.rmtree(home)
