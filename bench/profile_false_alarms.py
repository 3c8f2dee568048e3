"""False alarms of behaviour profiles over a benign run: three busybox workloads (a web server,
a client calling it twice a second, a worker writing a file and serving a second port) under
the real daemon (kernel sensor, syscall counts, podman engine).

The workloads learn until the learning window's stability rule (`profiles.stable_for_s`) moves
each of them to monitor; then they run unchanged for MINUTES minutes, with the web server
restarted and a second web replica started halfway, and every `Profile:` alert is a false alarm.

Prints what was learned and each false alarm (an alert about one of this run's containers),
then `false_alarms=N minutes=M`.

    .venv/bin/python bench/profile_false_alarms.py [MINUTES]    # default 10; needs root and podman
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from runwatch.config import load_config  # noqa: E402
from runwatch.daemon import Daemon, build_pipeline  # noqa: E402
from runwatch.profiles.model import Mode  # noqa: E402
from runwatch.store.base import AlertQuery  # noqa: E402
from runwatch.store.sql import open_store  # noqa: E402
from tests.support.podman import BUSYBOX_IMAGE, build_busybox_image  # noqa: E402

STABLE_S = 30
LEARN_LIMIT_S = 600


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_container(names: list[str], app: str, *command: str) -> str:
    name = f"rwbench-{app}-{uuid.uuid4().hex[:6]}"
    podman("run", "-d", "--name", name, "--label", f"app={app}", BUSYBOX_IMAGE, *command)
    names.append(name)
    return name


async def main(minutes: float) -> None:
    if subprocess.run(["podman", "image", "exists", BUSYBOX_IMAGE]).returncode != 0:
        build_busybox_image()
    workdir = Path(tempfile.mkdtemp(prefix="rwbench-"))
    socket_path = workdir / "podman.sock"
    service = subprocess.Popen(["podman", "system", "service", "--time", "0", f"unix://{socket_path}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    names: list[str] = []
    try:
        while not socket_path.exists():
            time.sleep(0.05)
        config = load_config(None, {}, {
            "data_dir": str(workdir / "data"), "listen": f"127.0.0.1:{free_port()}",
            "outputs.stdout.enabled": False, "store.events": "none",
            "sources.runtime.socket": f"unix://{socket_path}", "sources.runtime.enabled": "true",
            "sources.ebpf.perf_buffer_pages": 2048, "profiles.stable_for_s": STABLE_S})
        pipeline = build_pipeline(config)
        daemon = Daemon(config, pipeline)
        running = asyncio.create_task(daemon.run())
        store = open_store(config.resolved_store_url)
        await daemon.ready.wait()
        while not all(s.status.state == "running" for s in pipeline.sources):
            await asyncio.sleep(0.2)
        web = run_container(names, "web", "httpd", "-f", "-p", "8080", "-h", "/var/www")
        run_container(names, "worker", "sh", "-c", "httpd -p 9000 -h /var/www; "
                      "while true; do date > /tmp/out; sleep 1; done")
        address = podman("inspect", web, "--format", "{{.NetworkSettings.IPAddress}}")
        run_container(names, "client", "sh", "-c", f"while true; do wget -q -O /dev/null "
                      f"http://{address}:8080/; sleep 0.5; done")
        started = time.monotonic()
        workloads = [f"{app}@localhost/runwatch-busybox" for app in ("web", "worker", "client")]
        while True:
            profiles = {p.record.workload: p for p in store.profiles.load()}
            if all(w in profiles and profiles[w].record.mode == Mode.MONITOR for w in workloads):
                break
            if time.monotonic() - started > LEARN_LIMIT_S:
                raise SystemExit(f"not every workload reached monitor within {LEARN_LIMIT_S}s")
            await asyncio.sleep(1)
        learned_s = time.monotonic() - started
        since = time.time_ns()
        print(f"learned in {learned_s:.0f}s (stable for {STABLE_S}s):")
        for workload in workloads:
            counts: dict[str, int] = {}
            for item in profiles[workload].items:
                counts[str(item.kind)] = counts.get(str(item.kind), 0) + 1
            print(f"  {workload:<40} " + " ".join(f"{k}={n}" for k, n in sorted(counts.items())))
        half = minutes * 30
        await asyncio.sleep(half)
        podman("restart", "-t", "0", web)
        run_container(names, "web", "httpd", "-f", "-p", "8080", "-h", "/var/www")
        await asyncio.sleep(minutes * 60 - half)
        await asyncio.sleep(2 * config.profiles.sync_interval_s)
        # Only this run's containers count: other containers of the same image and labels on
        # this machine (another test run) are the same workloads, and their deviations are real.
        own = {podman("inspect", name, "--format", "{{.Id}}")[:12] for name in names}
        profile_alerts = [a for a in store.list_alerts(AlertQuery(since_ns=since, limit=100_000))
                          if a.rule.startswith("Profile:")]
        alarms = [a for a in profile_alerts if a.container_id in own]
        print(f"profile alerts about other containers on this machine (not counted): "
              f"{len(profile_alerts) - len(alarms)}")
        print(f"benign run: {minutes:g} min, web restarted and a replica started at {half:.0f}s")
        for alarm in alarms:
            print(f"  false alarm: {alarm.output[:160]}")
        for source in pipeline.sources:
            status = source.status
            print(f"source {source.name}: {status.state}, {status.events_total} events, "
                  f"{status.lost_total} lost, restarts {daemon.counters.restarts.get(f'source:{source.name}', 0)}")
        daemon.request_stop()
        await running
        store.close()
        print(f"false_alarms={len(alarms)} minutes={minutes:g} learn_s={learned_s:.0f}")
    finally:
        if names:
            subprocess.run(["podman", "rm", "-f", "-t", "0", *names], capture_output=True)
        service.terminate()
        service.wait()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0))
