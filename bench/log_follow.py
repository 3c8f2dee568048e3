"""Log files through the log source: follow, split, decode, as `runwatch run` reads them.

Writes 200,000 syslog lines (sshd, sudo, CRON, kernel; some without a syslog header), 200,000
container log lines (CRI, a few split in pieces) and 200,000 auditd lines (the benchmark log's
first 10,000 lines, 20 times over with serials moved on: 40,000 five-record exec groups) to
files, then times the log source reading each
from its beginning to its end (the follower's reads, line splitting and the format's decoder), and
separately secret redaction (gitleaks' rules) of lines with and without secrets, and the repeat
folding of a storm of one alert against a stream of distinct alerts.
The process pins itself to CPU 0 and keeps the median of several runs.

Prints lines/s per format, peak RSS, alerts/s through repeat folding, and a last line
`syslog_lines_per_second=N container_lines_per_second=N auditd_lines_per_second=N`.

    .venv/bin/python bench/log_follow.py
"""

from __future__ import annotations

import gzip
import os
import re
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.alerts.dedup import AlertDeduplicator  # noqa: E402
from runwatch.alerts.model import Alert, Priority  # noqa: E402
from runwatch.config import LogFileConfig, LogsSourceConfig  # noqa: E402
from runwatch.enrich.redaction import SecretRedactor  # noqa: E402
from runwatch.event import Event  # noqa: E402
from runwatch.inventory import ContainerRecord, Inventory  # noqa: E402
from runwatch.scan import load_secret_rules  # noqa: E402
from runwatch.sources.logs.container_logs import ContainerLogSource  # noqa: E402
from runwatch.sources.logs.source import LogSource  # noqa: E402

LINES = 200_000
AUDIT_SAMPLE = ROOT / "tests" / "data" / "auditd" / "zircolite_audit_10k.log.gz"
REPEATS = 3
SETTINGS = LogsSourceConfig(well_known_files=False)


def syslog_lines(count: int, rng: random.Random) -> list[str]:
    shapes = (
        "Nov 23 04:{m:02d}:{s:02d} web1 sshd[{p}]: Failed password for invalid user admin from "
        "203.0.113.{o} port {port} ssh2",
        "Nov 23 04:{m:02d}:{s:02d} web1 sshd[{p}]: Accepted publickey for deploy from 10.0.0.{o} "
        "port {port} ssh2: ED25519 SHA256:AbCdEf",
        "2026-11-23T04:{m:02d}:{s:02d}.{p:06d}+00:00 web1 sudo: deploy : TTY=pts/0 ; PWD=/srv ; "
        "USER=root ; COMMAND=/usr/bin/systemctl restart app",
        "Nov 23 04:{m:02d}:{s:02d} web1 CRON[{p}]: (root) CMD (run-parts /etc/cron.hourly)",
        "Nov 23 04:{m:02d}:{s:02d} web1 kernel: [ {p}.{o:06d}] eth0: renamed from veth{o}",
        "panic: runtime error: invalid memory address or nil pointer dereference {o}")
    return [rng.choice(shapes).format(m=rng.randrange(60), s=rng.randrange(60),
                                      p=rng.randrange(1, 99999), o=rng.randrange(256),
                                      port=rng.randrange(1024, 65535))
            for _ in range(count)]


def container_lines(count: int, rng: random.Random) -> list[str]:
    lines = []
    for n in range(count):
        stamp = f"2026-11-23T04:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}123456Z"
        stream = "stderr" if rng.random() < 0.1 else "stdout"
        text = f'10.0.0.{rng.randrange(256)} - - "GET /api/items/{rng.randrange(10**6)} HTTP/1.1" 200'
        if rng.random() < 0.02:
            lines.append(f"{stamp} {stream} P {text[:20]}")
            text = text[20:]
        lines.append(f"{stamp} {stream} F {text}")
    return lines


def auditd_lines(copies: int) -> list[str]:
    """The sample's lines `copies` times, each copy's serials after the previous copy's."""
    sample = gzip.open(AUDIT_SAMPLE, "rt").read().splitlines()
    serial = re.compile(r"msg=audit\((\d+\.\d+):(\d+)\)")
    top = max(int(m[2]) for line in sample if (m := serial.search(line)))
    return [serial.sub(lambda m, c=copy: f"msg=audit({m[1]}:{int(m[2]) + c * top})", line)
            for copy in range(copies) for line in sample]


def read_all(read_once: Callable[[], list[Event]], expected: int) -> float:
    """Seconds to read until `expected` events came out."""
    seen = 0
    start = time.perf_counter()
    while seen < expected:
        batch = read_once()
        if not batch:
            raise RuntimeError(f"stopped at {seen} of {expected} events")
        seen += len(batch)
    return time.perf_counter() - start


def main() -> None:
    os.sched_setaffinity(0, {0})
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        syslog = Path(tmp) / "auth.log"
        syslog.write_text("\n".join(syslog_lines(LINES, rng)) + "\n")
        ctr = Path(tmp) / "ctr.log"
        pieces = container_lines(LINES, rng)
        ctr.write_text("\n".join(pieces) + "\n")
        whole = sum(1 for line in pieces if " F " in line)

        audit = Path(tmp) / "audit.log"
        audit_text = auditd_lines(20)
        audit.write_text("\n".join(audit_text) + "\n")

        syslog_runs, container_runs, audit_runs = [], [], []
        for _ in range(REPEATS):
            source = LogSource(SETTINGS, [LogFileConfig(path=str(syslog), format="syslog",
                                                        start_at="beginning")])
            source.open_files({})
            syslog_runs.append(read_all(source.read_once, LINES))
            source.close_files()

            inventory = Inventory()
            inventory.put(_record(ctr))
            containers = ContainerLogSource(SETTINGS, inventory)
            containers.follow_new_containers({})
            container_runs.append(read_all(containers.read_once, whole))
            containers.close_files()

            auditd = LogSource(SETTINGS, [LogFileConfig(path=str(audit), format="auditd",
                                                        start_at="beginning")])
            auditd.open_files({})
            audit_runs.append(read_all(auditd.read_once, len(audit_text) // 5 - 10))
            auditd.close_files()

    syslog_rate = LINES / statistics.median(syslog_runs)
    container_rate = len(pieces) / statistics.median(container_runs)
    print(f"syslog: {LINES:,} lines in {statistics.median(syslog_runs):.2f} s "
          f"({syslog_rate:,.0f} lines/s)")
    print(f"container logs (CRI, 2% split): {len(pieces):,} lines, {whole:,} events in "
          f"{statistics.median(container_runs):.2f} s ({container_rate:,.0f} lines/s)")
    audit_rate = len(audit_text) / statistics.median(audit_runs)
    print(f"auditd: {len(audit_text):,} lines ({len(audit_text) // 5:,} groups) in "
          f"{statistics.median(audit_runs):.2f} s ({audit_rate:,.0f} lines/s)")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")

    redactor = SecretRedactor(load_secret_rules())
    plain = [{"evt.source": "syslog", "log.message": line} for line in syslog_lines(50_000, rng)]
    leaky = [{"evt.source": "log", "log.message": f"pushing with ghp_{n:04d}aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x"}
             for n in range(10_000)]
    for name, events in (("lines without secrets", plain), ("lines with a token", leaky)):
        start = time.perf_counter()
        for offset in range(0, len(events), 512):
            redactor.enrich(events[offset:offset + 512])  # type: ignore[arg-type]
        print(f"secret redaction, {name}: {len(events) / (time.perf_counter() - start):,.0f} lines/s")

    storm = [_alert(n, same=True) for n in range(100_000)]
    distinct = [_alert(n, same=False) for n in range(100_000)]
    for name, alerts in (("one alert repeated", storm), ("distinct alerts", distinct)):
        fold = AlertDeduplicator(60.0, max_tracked=200_000)
        start = time.perf_counter()
        for offset in range(0, len(alerts), 256):
            fold.admit(alerts[offset:offset + 256], now_ns=offset)
        seconds = time.perf_counter() - start
        print(f"repeat folding, {name}: {len(alerts) / seconds:,.0f} alerts/s")
    print(f"syslog_lines_per_second={syslog_rate:.0f} container_lines_per_second={container_rate:.0f} "
          f"auditd_lines_per_second={audit_rate:.0f}")


def _record(path: Path) -> ContainerRecord:
    return ContainerRecord(id="c0ffee000001", full_id="c0ffee000001" * 5, name="web", image="nginx",
                           image_id="", image_repository="nginx", image_tag="", image_digest=None,
                           labels={}, privileged=False, mounts=[], networks=[], state="running",
                           pid=1, started_ns=time.time_ns(), finished_ns=0, exit_code=None,
                           runtime="podman", log_driver="k8s-file", log_path=str(path))


def _alert(n: int, same: bool) -> Alert:
    return Alert.create(rule="Read sensitive file untrusted", priority=Priority.WARNING,
                        source="syscall", hostname="h", output="x",
                        output_fields={"proc.name": "cat", "proc.pid": n,
                                       "fd.name": "/etc/shadow" if same else f"/etc/f{n}"},
                        container_id="c0ffee000001", time_ns=n)


if __name__ == "__main__":
    main()
