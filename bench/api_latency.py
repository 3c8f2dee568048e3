"""API latency on a full store: 1,000,000 events and 100,000 alerts in SQLite, through real HTTP.

The store is filled with a fixed pseudo-random week of activity (Falco stable rule names with their
priorities and tags, 300 containers of 40 images, a third of the alerts triaged, a few hot rules
and containers), then the app is served by uvicorn on a local port, as the daemon serves it. Each
query (the alerts list with the filters people use most, and the overview behind the dashboard's
first page) is warmed up, then timed REPEATS times with a keep-alive client.

Prints a table of p50/p99 per query, and a last line `p99_ms=N`: the worst p99 of them all.

    .venv/bin/python bench/api_latency.py            # about two minutes, most of it filling
"""

from __future__ import annotations

import random
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.alerts.model import Alert, Priority  # noqa: E402
from runwatch.config import ApiConfig  # noqa: E402
from runwatch.event import Event  # noqa: E402
from runwatch.health import Health, StageCounters  # noqa: E402
from runwatch.inventory import ContainerRecord  # noqa: E402
from runwatch.respond.desk import ResponseDesk  # noqa: E402
from runwatch.rules.catalog import RuleCatalog  # noqa: E402
from runwatch.store.schema import alerts as alerts_table  # noqa: E402
from runwatch.store.sql import SqlStore, open_store  # noqa: E402
from runwatch.web.app import create_app  # noqa: E402
from runwatch.web.base import WebParts  # noqa: E402
from runwatch.web.stream import AlertStream  # noqa: E402
from runwatch.web.tokens import Role, create_token  # noqa: E402

EVENTS = 1_000_000
ALERTS = 100_000
DAYS = 7
REPEATS = 60
WARMUP = 5
BATCH = 20_000
SEED = 7

# (rule, priority, tags, weight): Falco's stable rules, weighted as a busy cluster raises them.
RULES = [
    ("Terminal shell in container", Priority.NOTICE, ["container", "shell", "mitre_execution", "T1059"], 30),
    ("Read sensitive file untrusted", Priority.WARNING, ["host", "container", "filesystem", "mitre_credential_access", "T1555"], 12),
    ("Read sensitive file trusted after startup", Priority.WARNING, ["host", "container", "filesystem", "mitre_credential_access"], 4),
    ("Write below etc", Priority.ERROR, ["host", "container", "filesystem", "mitre_persistence"], 6),
    ("Write below binary dir", Priority.ERROR, ["host", "container", "filesystem", "mitre_persistence"], 2),
    ("Launch Privileged Container", Priority.INFORMATIONAL, ["container", "cis", "mitre_execution"], 8),
    ("Drop and execute new binary in container", Priority.CRITICAL, ["container", "mitre_persistence", "TA0003"], 1.5),
    ("Netcat Remote Code Execution in Container", Priority.WARNING, ["container", "network", "mitre_execution"], 1),
    ("Search Private Keys or Passwords", Priority.WARNING, ["host", "container", "process", "mitre_credential_access"], 2),
    ("Clear Log Activities", Priority.WARNING, ["host", "container", "filesystem", "mitre_defense_evasion"], 1),
    ("Remove Bulk Data from Disk", Priority.WARNING, ["host", "container", "process", "mitre_impact"], 0.5),
    ("Create Symlink Over Sensitive Files", Priority.WARNING, ["host", "container", "filesystem"], 0.5),
    ("Packet socket created in container", Priority.NOTICE, ["container", "network", "mitre_credential_access"], 1),
    ("Redirect STDOUT/STDIN to Network Connection in Container", Priority.NOTICE, ["container", "network", "mitre_execution"], 1),
    ("Linux Kernel Module Injection Detected", Priority.WARNING, ["host", "container", "process"], 0.2),
    ("Debugfs Launched in Privileged Container", Priority.WARNING, ["container", "cis", "mitre_privilege_escalation"], 0.3),
    ("Detect release_agent File Container Escapes", Priority.CRITICAL, ["container", "mitre_privilege_escalation"], 0.1),
    ("PTRACE attached to process", Priority.WARNING, ["host", "container", "process", "mitre_privilege_escalation"], 0.5),
    ("Fileless execution via memfd_create", Priority.CRITICAL, ["host", "container", "process", "mitre_defense_evasion"], 0.2),
    ("Contact K8S API Server From Container", Priority.NOTICE, ["k8s", "container", "network", "mitre_discovery"], 5),
    ("Outbound Connection to C2 Servers", Priority.CRITICAL, ["host", "container", "network", "mitre_command_and_control"], 0.2),
    ("Unexpected UDP Traffic", Priority.NOTICE, ["host", "container", "network"], 3),
    ("runwatch threshold: memory high", Priority.WARNING, ["container", "resources", "memory_bytes"], 4),
    ("Profile: new process", Priority.NOTICE, ["profile"], 10),
    ("Profile: new outbound connection", Priority.WARNING, ["profile", "network"], 5),
]
IMAGES = [f"{registry}/{name}" for registry in ("docker.io/library", "ghcr.io/acme", "quay.io/ops",
                                                 "registry.internal:5000/shop")
          for name in ("nginx", "api", "worker", "postgres", "redis", "frontend", "billing",
                       "search", "auth", "metrics")]
PROCESSES = ("nginx", "python3", "node", "java", "bash", "sh", "cat", "curl", "nc", "apt-get",
             "psql", "redis-server", "sshd", "find", "tar", "kubectl", "busybox", "perl")
FILES = ("/etc/shadow", "/etc/passwd", "/etc/sudoers", "/root/.ssh/id_rsa", "/var/log/auth.log",
         "/usr/bin/payload", "/tmp/x", "/etc/ld.so.preload", "/proc/self/environ", "/app/config.yaml")
EVT_TYPES = (("openat", 50), ("execve", 20), ("connect", 12), ("close", 8), ("sendto", 5),
             ("dup2", 2), ("socket", 2), ("ptrace", 0.5), ("symlinkat", 0.5))


def make_containers(rng: random.Random) -> list[ContainerRecord]:
    records = []
    for index in range(300):
        image = IMAGES[index % len(IMAGES)]
        short = f"{rng.getrandbits(48):012x}"
        records.append(ContainerRecord(
            id=short, full_id=short + f"{rng.getrandbits(208):052x}", name=f"{image.rsplit('/', 1)[1]}-{index}",
            image=f"{image}:1.{index % 9}", image_id=f"sha256:{rng.getrandbits(64):016x}",
            image_repository=image, image_tag=f"1.{index % 9}", image_digest=None,
            labels={"app": image.rsplit("/", 1)[1], "team": f"team-{index % 12}"}, privileged=index % 25 == 0,
            mounts=[], networks=["podman"], state="running" if index % 7 else "exited", pid=1000 + index,
            started_ns=0, finished_ns=0, exit_code=None, runtime="runc"))
    return records


def fill(store: SqlStore, now_ns: int) -> dict[str, str]:
    """The week of activity; returns values the queries filter on (a hot container and image)."""
    rng = random.Random(SEED)
    containers = make_containers(rng)
    store.upsert_containers(containers, now_ns)
    span_ns = DAYS * 86_400 * 10**9
    # A few containers are much noisier than the rest, as in a real cluster.
    hot = containers[:12]
    weights = [r[3] for r in RULES]
    started = time.perf_counter()
    for start in range(0, ALERTS, BATCH):
        batch = []
        for _ in range(min(BATCH, ALERTS - start)):
            rule, priority, tags, _ = rng.choices(RULES, weights)[0]
            container = rng.choice(hot) if rng.random() < 0.4 else rng.choice(containers)
            on_host = rng.random() < 0.08
            proc, path = rng.choice(PROCESSES), rng.choice(FILES)
            fields: dict[str, object] = {
                "proc.name": proc, "proc.pname": rng.choice(("bash", "sh", "runc", "node")),
                "proc.cmdline": f"{proc} {path}", "fd.name": path, "user.name": rng.choice(("root", "app")),
                "container.id": "host" if on_host else container.id}
            if not on_host:
                fields.update({"container.name": container.name,
                               "container.image.repository": container.image_repository})
            time_ns = now_ns - int(span_ns * rng.random() ** 1.6)  # more recent than old
            batch.append(Alert.create(
                rule=rule, priority=priority, source="syscall", hostname=f"node-{rng.randrange(6)}",
                output=f"{rule} | file={path} process={proc} command={proc} {path} "
                       f"container={fields['container.id']}",
                output_fields=fields, tags=tags, container_id=str(fields["container.id"]),
                time_ns=time_ns))
        store.add_alerts(batch)
    with store.engine.begin() as conn:  # a third triaged: older ones more often
        cutoff = now_ns - span_ns // 3
        conn.execute(update(alerts_table).where(alerts_table.c.time_ns < cutoff,
                                                alerts_table.c.id.like("%0"))
                     .values(status="resolved", status_ns=now_ns, status_by="bench"))
        conn.execute(update(alerts_table).where(alerts_table.c.time_ns < cutoff,
                                                alerts_table.c.id.like("%1"))
                     .values(status="acknowledged", status_ns=now_ns, status_by="bench"))
    print(f"filled {ALERTS:,} alerts in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    types, type_weights = zip(*EVT_TYPES)
    for start in range(0, EVENTS, BATCH):
        events: list[Event] = []
        for _ in range(BATCH):
            container = rng.choice(hot) if rng.random() < 0.4 else rng.choice(containers)
            proc = rng.choice(PROCESSES)
            events.append({
                "evt.type": rng.choices(types, type_weights)[0], "evt.source": "syscall",
                "evt.time": now_ns - int(span_ns * rng.random()), "proc.name": proc,
                "proc.pid": rng.randrange(1, 1 << 22), "proc.cmdline": f"{proc} -x",
                "fd.name": rng.choice(FILES), "user.name": "root", "container.id": container.id,
                "container.image.repository": container.image_repository})
        store.add_events(events)
    print(f"filled {EVENTS:,} events in {time.perf_counter() - started:.1f}s", flush=True)
    return {"container": hot[0].id, "image": hot[1].image_repository}


def serve(store: SqlStore) -> tuple[uvicorn.Server, threading.Thread, str]:
    """The app as the daemon builds it, served by uvicorn on a free local port."""
    health = Health([], [], [], StageCounters())
    parts = WebParts(store=store, stream=AlertStream(), rules=RuleCatalog(lambda: []),
                     responses=ResponseDesk(store, None, 5.0), health=health, settings=ApiConfig())
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(health, parts), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="runwatch-bench-") as workdir:
        store = open_store(f"sqlite:///{Path(workdir) / 'runwatch.db'}")
        hot = fill(store, time.time_ns())
        token, _ = create_token(store.auth, Role.VIEWER, "bench")
        server, thread, base_url = serve(store)
        queries = [
            ("alerts: newest 50", "/api/alerts", {}),
            ("alerts: open, warning and worse", "/api/alerts", {"status": "open", "min_priority": "warning"}),
            ("alerts: open, most severe first", "/api/alerts", {"status": "open", "sort": "severity"}),
            ("alerts: critical, last 24h", "/api/alerts", {"priority": "critical", "since": "24h"}),
            ("alerts: one rule", "/api/alerts", {"rule": "Read sensitive file untrusted"}),
            ("alerts: one container", "/api/alerts", {"container": hot["container"]}),
            ("alerts: one image, last 7d", "/api/alerts", {"image": hot["image"], "since": "7d"}),
            ("alerts: one tag", "/api/alerts", {"tag": "mitre_privilege_escalation"}),
            ("alerts: text 'shadow', open", "/api/alerts", {"q": "shadow", "status": "open"}),
            ("alerts: text, few matches", "/api/alerts", {"q": "release_agent"}),
            ("alerts: page 20 (offset 1000)", "/api/alerts", {"offset": 1000}),
            ("overview: 24h", "/api/overview", {"window": "24h"}),
            ("overview: 7d", "/api/overview", {"window": "7d"}),
        ]
        rows = []
        try:
            with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                              timeout=30) as client:
                for name, path, params in queries:
                    for _ in range(WARMUP):
                        client.get(path, params=params).raise_for_status()
                    samples = []
                    for _ in range(REPEATS):
                        started = time.perf_counter()
                        answer = client.get(path, params=params)
                        samples.append((time.perf_counter() - started) * 1000)
                        answer.raise_for_status()
                    body = answer.json()
                    found = body.get("total") if isinstance(body, dict) and "total" in body else \
                        sum(body.get("by_priority", {}).values())
                    rows.append((name, found, statistics.median(samples), percentile(samples, 0.99)))
        finally:
            server.should_exit = True
            thread.join(30)
            store.close()
    print(f"\n{'query':<36} {'matching':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, found, p50, p99 in rows:
        print(f"{name:<36} {found:>9,} {p50:>8.1f} {p99:>8.1f}")
    print(f"({EVENTS:,} events, {ALERTS:,} alerts over {DAYS} days in SQLite; {REPEATS} timed "
          f"requests per query over HTTP/1.1 keep-alive)")
    print(f"p99_ms={max(row[3] for row in rows):.0f}")


if __name__ == "__main__":
    main()
