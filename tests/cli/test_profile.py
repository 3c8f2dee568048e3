"""`runwatch profile` as users run it: list, show, mode, accept (by item and by alert), diff,
export; bad input is one clear line and exit 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from runwatch.alerts.model import Alert, Priority
from runwatch.profiles.model import Kind, Mode
from runwatch.store.sql import SqlStore
from tests.support.profiles import CLIENT, WEB, learned_store

__all__ = ["learned_store"]

RUNWATCH = str(Path(sys.executable).with_name("runwatch"))


def runwatch(store: SqlStore, *args: str) -> subprocess.CompletedProcess[str]:
    data_dir = store.url.removeprefix("sqlite:///").rsplit("/", 1)[0]
    return subprocess.run([RUNWATCH, *args, "--data-dir", data_dir], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "200"})


def test_list_shows_each_workload_with_its_mode_and_counts(learned_store: SqlStore) -> None:
    result = runwatch(learned_store, "profile", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["workload"]: row for row in map(json.loads, result.stdout.splitlines())}
    assert set(rows) == {WEB, CLIENT, "shop/worker@localhost/shop"}
    assert rows[WEB]["mode"] == "learn" and rows[WEB]["by_kind"]["listen"] == 1
    table = runwatch(learned_store, "profile", "list").stdout
    assert WEB in table and "learn" in table and "outbound=2" in table


def test_mode_changes_the_stored_mode_and_rejects_unknown_ones(learned_store: SqlStore) -> None:
    result = runwatch(learned_store, "profile", "mode", WEB, "monitor")
    assert result.returncode == 0 and result.stdout.strip() == f"{WEB}: monitor"
    assert learned_store.profiles.get(WEB).record.mode == Mode.MONITOR  # type: ignore[union-attr]
    bad = runwatch(learned_store, "profile", "mode", WEB, "enforce")
    assert bad.returncode == 1
    assert bad.stderr.strip() == ("error: unknown profile mode 'enforce' (expected learn, monitor "
                                  "or protect)")
    unknown = runwatch(learned_store, "profile", "mode", "shop/db@postgres", "monitor")
    assert unknown.returncode == 1 and "no profile for workload 'shop/db@postgres' (known: " \
        in unknown.stderr


def test_accept_by_item_and_by_alert(learned_store: SqlStore) -> None:
    result = runwatch(learned_store, "profile", "accept", WEB, "listen", "9090", "tcp")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{WEB}: accepted listen tcp/9090"
    alert = Alert.create(rule="Profile: new process", priority=Priority.WARNING, source="syscall",
                         hostname="h", output="x", container_id="web000000000", output_fields={
                             "profile.workload": WEB, "profile.items": [
                                 ["process", "/usr/bin/curl", "curl", "sh"],
                                 ["user", "/usr/bin/curl", "curl", "app"]]})
    learned_store.add_alerts([alert])
    by_alert = runwatch(learned_store, "profile", "accept", "--alert", alert.id)
    assert by_alert.returncode == 0, by_alert.stderr
    items = {(i.kind, i.item) for i in learned_store.profiles.get(WEB).items}  # type: ignore[union-attr]
    assert {(Kind.LISTEN, ("9090", "tcp")), (Kind.PROCESS, ("/usr/bin/curl", "curl", "sh")),
            (Kind.USER, ("/usr/bin/curl", "curl", "app"))} <= items
    bad = runwatch(learned_store, "profile", "accept", WEB, "listen", "9090")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: a listen item has 2 non-empty fields (port, protocol), got ['9090']"
    other = Alert.create(rule="Terminal shell in container", priority=Priority.NOTICE,
                         source="syscall", hostname="h", output="x", time_ns=time.time_ns())
    learned_store.add_alerts([other])
    not_profile = runwatch(learned_store, "profile", "accept", "--alert", other.id)
    assert not_profile.returncode == 1 and "is not a profile deviation" in not_profile.stderr


def test_forget_takes_one_learned_item_out(learned_store: SqlStore) -> None:
    revision = learned_store.profiles.get(WEB).record.revision  # type: ignore[union-attr]
    result = runwatch(learned_store, "profile", "forget", WEB, "listen", "8080", "tcp")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{WEB}: forgot listen tcp/8080"
    profile = learned_store.profiles.get(WEB)
    assert profile is not None and profile.record.revision == revision + 1, "the daemon reloads it"
    assert (Kind.LISTEN, ("8080", "tcp")) not in {(i.kind, i.item) for i in profile.items}
    again = runwatch(learned_store, "profile", "forget", WEB, "listen", "8080", "tcp")
    assert again.returncode == 1
    assert again.stderr.strip() == f"error: {WEB!r} has no listen item '8080 tcp' in its profile"
    unknown = runwatch(learned_store, "profile", "forget", "shop/db@postgres", "listen", "1", "tcp")
    assert unknown.returncode == 1 and "no profile for workload 'shop/db@postgres'" in unknown.stderr


def test_show_diff_and_export(learned_store: SqlStore) -> None:
    shown = runwatch(learned_store, "profile", "show", WEB).stdout
    assert "process     /usr/sbin/httpd (parent sh)" in shown and "file_write  /var/cache/httpd/*" in shown
    assert runwatch(learned_store, "profile", "diff", WEB).stdout.strip() == "no image diff waiting"
    policy = yaml.safe_load(runwatch(learned_store, "profile", "export", WEB, "--format",
                                     "networkpolicy").stdout)
    assert policy["kind"] == "NetworkPolicy"
    bad = runwatch(learned_store, "profile", "export", WEB, "--format", "pdf")
    assert bad.returncode == 1 and "unknown export format 'pdf'" in bad.stderr
