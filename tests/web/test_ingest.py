"""Sending in over real HTTP: the Kubernetes audit webhook (the API server's EventList in, Falco's
Kubernetes audit rules raising alerts out of the daemon) and Falco's own alerts; bad items named,
and only ingest or admin tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from runwatch.config import load_config
from runwatch.daemon import Daemon, build_pipeline
from runwatch.store.base import AlertQuery
from runwatch.store.sql import open_store
from runwatch.web.tokens import Role, create_token
from tests.support.daemon import DaemonThread
from tests.support.net import free_port
from tests.support.waiting import eventually_sync

pytestmark = pytest.mark.integration

TRACES = Path(__file__).parents[1] / "data" / "k8s_audit" / "trace_files" / "k8s_audit"


def audit_event(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((TRACES / name).read_text())
    return loaded


class Webhook:
    def __init__(self, thread: DaemonThread, ingest: str, viewer: str) -> None:
        self.thread, self.ingest, self.viewer = thread, ingest, viewer

    def post(self, body: object, token: str | None = None) -> httpx.Response:
        return httpx.post(f"{self.thread.base_url}/api/k8s-audit", json=body, timeout=10,
                          headers={"Authorization": f"Bearer {token or self.ingest}"})

    def alerts(self, rule: str) -> list[str]:
        store = self.thread.daemon.pipeline.store
        return [a.output for a in store.list_alerts(AlertQuery(rule=rule, limit=50))]


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    tmp = tmp_path_factory.mktemp("webhook")
    config = load_config(None, {}, {
        "data_dir": str(tmp / "data"), "listen": f"127.0.0.1:{free_port()}", "hostname": "h",
        "outputs.stdout.enabled": False, "sources.ebpf.enabled": "false",
        "sources.procfs.enabled": False, "sources.runtime.enabled": "false",
        "sources.logs.well_known_files": False, "profiles.enabled": False})
    store = open_store(config.resolved_store_url)
    ingest, _ = create_token(store.auth, Role.INGEST, "kube-apiserver")
    viewer, _ = create_token(store.auth, Role.VIEWER, "bob")
    store.close()
    thread = DaemonThread(Daemon(config, build_pipeline(config))).start()
    try:
        yield Webhook(thread, ingest, viewer)
    finally:
        thread.stop()


def test_an_exec_into_a_pod_raises_falcos_rule(webhook: Webhook) -> None:
    exec_pod = audit_event("exec_pod.json")
    answer = webhook.post({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                           "items": [exec_pod]})
    assert answer.status_code == 200 and answer.json() == {"accepted": 1, "rejected": 0, "errors": []}
    eventually_sync(lambda: webhook.alerts("Attach/Exec Pod") != [])
    [output] = webhook.alerts("Attach/Exec Pod")
    assert "nginx-deployment-7998647bdf-phvq7" in output and "command=bash" in output


def test_good_items_are_kept_when_others_are_bad_and_the_bad_are_named(webhook: Webhook) -> None:
    attach = audit_event("attach_pod.json")
    answer = webhook.post({"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                           "items": [{"kind": "Event"}, attach, "junk"]})
    body = answer.json()
    assert answer.status_code == 200 and (body["accepted"], body["rejected"]) == (1, 2)
    assert body["errors"][0].startswith("request body: items[0]: ")
    assert body["errors"][1].startswith("request body: items[2]: ")
    eventually_sync(lambda: any("attach" in o for o in webhook.alerts("Attach/Exec Pod")))


@pytest.mark.parametrize(("body", "status"), [
    ("not json at all", 400), ({"kind": 0}, 400), ({"kind": "EventList", "items": ["x"]}, 400)])
def test_a_request_with_nothing_readable_is_a_400_saying_why(webhook: Webhook, body: object,
                                                             status: int) -> None:
    answer = webhook.post(body) if not isinstance(body, str) else httpx.post(
        f"{webhook.thread.base_url}/api/k8s-audit", content=body, timeout=10,
        headers={"Authorization": f"Bearer {webhook.ingest}"})
    assert answer.status_code == status
    assert "request body" in answer.text


def test_only_ingest_and_admin_tokens_may_send(webhook: Webhook) -> None:
    event = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": []}
    assert webhook.post(event, token=webhook.viewer).status_code == 403
    assert httpx.post(f"{webhook.thread.base_url}/api/k8s-audit", json=event,
                      timeout=10).status_code == 401
    assert webhook.post(event).status_code == 200


FALCO_ALERT = {
    "hostname": "node-7", "output": "10:20:05.408091526: Warning Sensitive file opened for reading "
    "by non-trusted program (file=/etc/shadow gparent=bash ggparent=sshd)",
    "priority": "Warning", "rule": "Read sensitive file untrusted", "source": "syscall",
    "tags": ["filesystem", "mitre_credential_access"], "time": "2026-11-23T10:20:05.408091526Z",
    "output_fields": {"container.id": "host", "fd.name": "/etc/shadow", "proc.name": "cat",
                      "evt.time": 1795429205408091526}}


def test_falcos_alerts_join_runwatchs_with_the_token_in_the_url(webhook: Webhook) -> None:
    url = f"{webhook.thread.base_url}/api/falco"
    answer = httpx.post(url, params={"token": webhook.ingest}, json=FALCO_ALERT, timeout=10)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1
    eventually_sync(lambda: webhook.alerts("Read sensitive file untrusted") != [])
    store = webhook.thread.daemon.pipeline.store
    [stored] = store.list_alerts(AlertQuery(rule="Read sensitive file untrusted", limit=5))
    assert stored.hostname == "node-7" and stored.time_ns == 1795429205408091526
    assert stored.tags == ["filesystem", "mitre_credential_access"] and stored.container_id is None
    assert httpx.post(url, params={"token": webhook.viewer}, json=FALCO_ALERT,
                      timeout=10).status_code == 403


def test_a_falco_alert_missing_its_priority_is_named(webhook: Webhook) -> None:
    broken = {key: value for key, value in FALCO_ALERT.items() if key != "priority"}
    answer = httpx.post(f"{webhook.thread.base_url}/api/falco", json=[FALCO_ALERT, broken],
                        timeout=10, headers={"Authorization": f"Bearer {webhook.ingest}"})
    assert answer.status_code == 200
    assert answer.json()["errors"] == ["request body[1].priority: missing or not a string"]
