"""A real daemon for the API tests: its HTTP server on a free port, a SQLite store in a temp dir
filled with known alerts, events, containers and responses, real Falco rules, and tokens of
each kind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from runwatch.alerts.model import Alert, Priority
from runwatch.config import load_config
from runwatch.daemon import Daemon, Pipeline, build_outputs
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher
from runwatch.event import Event
from runwatch.inventory import ContainerRecord
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.rules.falco.reload import load_detector
from runwatch.store.sql import SqlStore, open_store
from runwatch.web.tokens import Role, create_token
from tests.support.daemon import DaemonThread, PushSource
from tests.support.net import free_port

HOUR_NS = 3600 * 10**9
NGINX, REDIS = "c0ffee000001", "c0ffee000002"

RULES = """\
- rule: Shadow read
  desc: something read /etc/shadow
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "%proc.name read %fd.name in %container.id"
  priority: CRITICAL
  tags: [filesystem, mitre_credential_access]
- rule: Shell spawned
  desc: a shell started
  condition: evt.type = execve and proc.name = sh
  output: "shell %proc.cmdline in %container.id"
  priority: NOTICE
  tags: [container, shell, mitre_execution]
- rule: Never compiled
  desc: switched off in its file
  condition: evt.type = execve and proc.name = never
  output: never
  priority: DEBUG
  enabled: false
"""


@dataclass
class SeededAlert:
    rule: str
    priority: Priority
    hours_ago: float
    container_id: str | None
    output: str
    tags: list[str]
    image: str | None = None


# What the store holds before the daemon starts, newest first: every filter has something to
# find and something to leave out.
SEEDED = [
    SeededAlert("Shadow read", Priority.CRITICAL, 0.5, NGINX, "cat read /etc/shadow in nginx",
                ["filesystem", "mitre_credential_access"], "docker.io/library/nginx"),
    SeededAlert("Shell spawned", Priority.NOTICE, 1.5, NGINX, "shell sh -c id in nginx",
                ["container", "shell", "mitre_execution"], "docker.io/library/nginx"),
    SeededAlert("Shell spawned", Priority.NOTICE, 3, REDIS, "shell sh -i in redis",
                ["container", "shell", "mitre_execution"], "docker.io/library/redis"),
    SeededAlert("Outbound to miner", Priority.ERROR, 5, REDIS, "connect to pool.minexmr.com:4444",
                ["network", "mitre_impact"], "docker.io/library/redis"),
    SeededAlert("Package manager run", Priority.WARNING, 30, NGINX, "apt-get install nmap in nginx",
                ["process", "mitre_persistence"], "docker.io/library/nginx"),
    SeededAlert("Sudo on host", Priority.WARNING, 50, None, "sudo -s by alice on the host",
                ["host", "mitre_privilege_escalation"]),
    SeededAlert("Shadow read", Priority.CRITICAL, 100, REDIS, "cat read /etc/shadow in redis",
                ["filesystem", "mitre_credential_access"], "docker.io/library/redis"),
]


def container_record(short_id: str, name: str, image: str, labels: dict[str, str]) -> ContainerRecord:
    repository, _, tag = image.rpartition(":")
    return ContainerRecord(
        id=short_id, full_id=short_id * 5 + "abcd", name=name, image=image, image_id="sha256:1234",
        image_repository=repository, image_tag=tag, image_digest=None, labels=labels,
        privileged=name == "redis", mounts=[], networks=["podman"], state="running", pid=4242,
        started_ns=time.time_ns() - 200 * HOUR_NS, finished_ns=0, exit_code=None, runtime="runc")


@dataclass
class WebEnv:
    """The running daemon, its store, the seeded alerts (by position in SEEDED) and tokens."""

    thread: DaemonThread
    store: SqlStore
    source: PushSource
    alerts: list[Alert]
    admin: str
    viewer: str
    revoked: str
    responses: dict[str, ResponseRecord] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.thread.base_url

    def client(self, token: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


def seed(store: SqlStore, now_ns: int) -> list[Alert]:
    """The SEEDED alerts, events around them, two containers."""
    alerts = []
    for item in SEEDED:
        fields: dict[str, object] = {"proc.name": "cat", "proc.pname": "sh", "proc.aname[2]": "bash",
                                     "proc.cmdline": "cat /etc/shadow", "fd.name": "/etc/shadow",
                                     "container.id": item.container_id}
        if item.image:
            fields["container.image.repository"] = item.image
            fields["container.name"] = "nginx" if item.container_id == NGINX else "redis"
        alerts.append(Alert.create(rule=item.rule, priority=item.priority, source="syscall",
                                   hostname="web-host", output=item.output, output_fields=fields,
                                   tags=item.tags, container_id=item.container_id,
                                   time_ns=now_ns - int(item.hours_ago * HOUR_NS)))
    store.add_alerts(alerts)
    events: list[Event] = []
    for index, (proc, path, container, image) in enumerate([
            ("cat", "/etc/shadow", NGINX, "docker.io/library/nginx"),
            ("sh", "/bin/sh", NGINX, "docker.io/library/nginx"),
            ("redis-server", "/data/dump.rdb", REDIS, "docker.io/library/redis"),
            ("curl", "/etc/hosts", REDIS, "docker.io/library/redis"),
            ("sshd", "/etc/shadow", None, None)]):
        event: Event = {"evt.type": "execve" if proc == "sh" else "openat", "evt.source": "syscall",
                        "evt.time": now_ns - (index + 1) * HOUR_NS, "proc.name": proc,
                        "fd.name": path, "container.id": container,
                        "user.name": "root" if proc != "curl" else "app"}
        if image:
            event["container.image.repository"] = image
        events.append(event)
    store.add_events(events)
    store.upsert_containers([
        container_record(NGINX, "nginx", "docker.io/library/nginx:1.27", {"app": "web"}),
        container_record(REDIS, "redis", "docker.io/library/redis:7", {"app": "cache"})], now_ns)
    return alerts


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    tmp = tmp_path_factory.mktemp("web")
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    config = load_config(None, {}, {
        "data_dir": str(tmp / "data"), "listen": f"127.0.0.1:{free_port()}", "hostname": "web-host",
        "outputs.stdout.enabled": False, "rules.files": [str(rules)], "rules.rule_matching": "all",
        "rules.watch": False, "sources.ebpf.enabled": "false", "sources.runtime.enabled": "false",
        "rules.append_output": []})
    detector, _ = load_detector(config.rules, config.resolved_hostname)
    store = open_store(config.resolved_store_url)
    now = time.time_ns()
    alerts = seed(store, now)
    responses = {
        "done": ResponseRecord(id="resp-done", time_ns=now - HOUR_NS // 2, alert_id=alerts[0].id,
                               rule=alerts[0].rule, policy="quarantine", action="pause",
                               container_id=NGINX, container_name="nginx", status=ResponseStatus.DONE,
                               reason="policy quarantine matched", latency_ms=12.5),
        "dry_run": ResponseRecord(id="resp-dry", time_ns=now - 3 * HOUR_NS, alert_id=alerts[2].id,
                                  rule=alerts[2].rule, policy="watch", action="isolate",
                                  container_id=REDIS, container_name="redis",
                                  status=ResponseStatus.DRY_RUN, reason="dry run"),
    }
    for record in responses.values():
        store.add_response(record)
    admin, _ = create_token(store.auth, Role.ADMIN, "alice")
    viewer, _ = create_token(store.auth, Role.VIEWER, "bob")
    revoked, revoked_record = create_token(store.auth, Role.ADMIN, "mallory")
    store.auth.revoke_token(revoked_record.id, now)
    source = PushSource()
    pipeline = Pipeline(sources=[source], enrichers=[ProcessTreeEnricher(ProcessTree())],
                        detectors=[detector], outputs=build_outputs(config.outputs), store=store)
    thread = DaemonThread(Daemon(config, pipeline)).start()
    try:
        yield WebEnv(thread, store, source, alerts, admin, viewer, revoked, responses)
    finally:
        thread.stop()

