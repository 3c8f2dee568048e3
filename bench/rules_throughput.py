"""Falco's stable ruleset against a realistic syscall mix, on one core.

The mix is mostly opens and execs, some connects and a few rare types (dup2, socket, ptrace,
symlinkat, linkat, init_module, sendto), plus types no rule names (close, read): varied paths,
process names, ancestors and containers, a few of which raise alerts. It is generated from a fixed
seed, so every run replays the same events. The process pins itself to CPU 0, warms up, then
repeats each measurement and keeps the median.

Prints events/s through the detector (matching and building alerts) and through matching alone,
microseconds per event by event type, and a last line `events_per_second=N`.
Falco's published figure for comparison: about 250,000 syscalls/s on one CPU.

    .venv/bin/python bench/rules_throughput.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.event import Event  # noqa: E402
from runwatch.rules.falco import FalcoDetector, load_rules  # noqa: E402

RULES = ROOT / "tests" / "data" / "falco" / "falco_rules.yaml"
EVENTS = 200_000
BATCH = 512
REPEATS = 5
FALCO_EVENTS_PER_SECOND = 250_000

MIX = (("openat", 40), ("execve", 22), ("open", 6), ("connect", 9), ("close", 8), ("read", 6),
       ("sendto", 3), ("dup2", 2), ("socket", 1.5), ("openat2", 1), ("ptrace", 0.5),
       ("symlinkat", 0.4), ("linkat", 0.3), ("init_module", 0.1), ("execveat", 0.2))

PROCESSES = ("nginx", "python3", "node", "java", "bash", "sh", "postgres", "redis-server", "ls",
             "cat", "grep", "curl", "sshd", "containerd", "runc", "systemd", "kubelet", "git",
             "apt-get", "pip", "make", "gcc", "ps", "top", "find", "awk", "sed", "tar")
PARENTS = ("bash", "sh", "systemd", "containerd-shim", "runc:[2:INIT]", "node", "python3",
           "nginx", "sshd", "make", "java", "cron", "kubelet", "conmon", "tini")
DIRECTORIES = ("/usr/lib/x86_64-linux-gnu", "/usr/share/zoneinfo", "/proc/self", "/proc/1",
               "/sys/fs/cgroup", "/etc", "/var/log", "/var/lib/app/data", "/tmp",
               "/home/app/.cache", "/app/node_modules/express/lib", "/usr/local/lib/python3.11",
               "/dev", "/run/secrets", "/root/.ssh", "/etc/pam.d", "/var/run")
FILES = ("libc.so.6", "ld.so.cache", "passwd", "group", "hosts", "resolv.conf", "status",
         "stat", "cmdline", "index.js", "config.yaml", "app.log", "syslog", "shadow",
         "nsswitch.conf", "localtime", "id_rsa", "known_hosts", "memory.max", "utf-8.py")
IMAGES = ("docker.io/library/nginx", "docker.io/library/python", "ghcr.io/acme/api",
          "quay.io/prometheus/prometheus", "docker.io/library/postgres", "registry.k8s.io/pause")


def make_events(count: int, seed: int = 42) -> list[Event]:
    """A fixed pseudo-random syscall mix with the fields Falco's stable rules read."""
    rng = random.Random(seed)
    types = [name for name, _ in MIX]
    weights = [weight for _, weight in MIX]
    containers = [f"{rng.getrandbits(48):012x}" for _ in range(40)] + ["host"] * 10
    events: list[Event] = []
    for number in range(count):
        evt_type = rng.choices(types, weights)[0]
        name = rng.choice(PROCESSES)
        parent = rng.choice(PARENTS)
        container = rng.choice(containers)
        ancestors = [parent, *rng.sample(PARENTS, rng.randint(1, 5))]
        args = rng.choice(("", "-c ls", "-la /tmp", "index.js", "--port 8080", "-e require"))
        event: Event = {
            "evt.type": evt_type, "evt.source": "syscall", "evt.num": number + 1,
            "evt.time": 1_700_000_000_000_000_000 + number * 1000, "evt.dir": "<",
            "proc.name": name, "proc.exe": name, "proc.exepath": f"/usr/bin/{name}",
            "proc.cmdline": f"{name} {args}".strip(), "proc.args": args, "proc.pname": parent,
            "proc.pexe": f"/usr/bin/{parent}", "proc.pcmdline": parent, "proc.aname": ancestors,
            "proc.pid": rng.randint(100, 60000), "proc.tty": 34816 if rng.random() < 0.01 else 0,
            "proc.cwd": "/app/", "proc.duration": rng.randint(1, 10**12),
            "user.uid": rng.choice((0, 1000, 33)), "user.name": rng.choice(("root", "app")),
            "user.loginuid": -1, "container.id": container,
            "container.image.repository": rng.choice(IMAGES) if container != "host" else None,
            "thread.cap_effective": "CAP_CHOWN CAP_NET_BIND_SERVICE",
            "evt.res": "SUCCESS", "evt.rawres": 3,
        }
        if evt_type in ("openat", "open", "openat2"):
            directory, filename = rng.choice(DIRECTORIES), rng.choice(FILES)
            write = rng.random() < 0.25
            event.update({"fd.name": f"{directory}/{filename}", "fd.nameraw": filename,
                          "fd.directory": directory, "fd.filename": filename, "fd.typechar": "f",
                          "fd.type": "file", "fd.num": rng.randint(3, 60),
                          "evt.is_open_read": not write, "evt.is_open_write": write,
                          "evt.arg.flags": "O_WRONLY|O_CREAT|O_TRUNC" if write else "O_RDONLY"})
        elif evt_type in ("connect", "sendto"):
            event.update({"fd.typechar": "4", "fd.type": "ipv4", "fd.l4proto": "tcp",
                          "fd.sip": f"{rng.choice((10, 52, 142, 172))}.{rng.randint(0, 255)}.1.7",
                          "fd.cip": "10.88.0.5", "fd.sport": rng.choice((443, 80, 5432, 22, 53)),
                          "fd.cport": rng.randint(30000, 60000), "fd.connected": True,
                          "fd.name_changed": True,
                          "fd.sip.name": rng.choice(("api.example.com", "db.internal", None))})
        elif evt_type in ("dup2", "socket"):
            event.update({"fd.type": rng.choice(("ipv4", "file", "unix")), "evt.rawres": 1,
                          "evt.arg.domain": rng.choice(("AF_INET", "AF_UNIX", "AF_PACKET"))})
        elif evt_type == "ptrace":
            event["evt.arg.request"] = rng.choice(("PTRACE_PEEKDATA", "PTRACE_ATTACH"))
        elif evt_type in ("symlinkat", "linkat"):
            event.update({"evt.arg.target": rng.choice(("/etc/shadow", "/tmp/x")),
                          "evt.arg.oldpath": rng.choice(("/etc/shadow", "/tmp/x")),
                          "evt.arg.linkpath": "/tmp/link", "evt.arg.newpath": "/tmp/link"})
        elif evt_type in ("execve", "execveat"):
            event["evt.arg.flags"] = "EXE_WRITABLE"
            event["proc.is_exe_upper_layer"] = rng.random() < 0.01
        events.append({k: v for k, v in event.items() if v is not None})
    return events


def _median_seconds(run: object, repeats: int = REPEATS) -> float:
    assert callable(run)
    run()  # warm-up: caches, branch predictors, lazily built regexes
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    load_start = time.perf_counter()
    result = load_rules([RULES])
    load_s = time.perf_counter() - load_start
    if result.errors:
        raise SystemExit("\n".join(str(e) for e in result.errors))
    ruleset = result.ruleset
    events = make_events(EVENTS)
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]
    detector = FalcoDetector(ruleset, "bench")
    alerts = sum(len(detector.match(batch)) for batch in batches)

    def detect() -> None:
        for batch in batches:
            detector.match(batch)

    def match_only() -> None:
        match = ruleset.match
        for event in events:
            match(event)

    detect_s = _median_seconds(detect)
    match_s = _median_seconds(match_only)
    print(f"ruleset: {RULES.name}, {len(ruleset.rules)} rules, loaded and compiled in "
          f"{load_s * 1000:.0f} ms")
    print(f"events: {len(events):,} ({alerts} raise alerts), batches of {BATCH}, "
          f"median of {REPEATS} runs, pinned to CPU 0")
    print()
    counts = Counter(str(e["evt.type"]) for e in events)
    print(f"{'event type':<14}{'share':>8}{'rules':>7}{'us/event':>10}")
    for evt_type, count in counts.most_common():
        same = [e for e in events if e["evt.type"] == evt_type]
        function = ruleset.matcher_for(evt_type)
        assert function is not None
        rules = sum(1 for r in ruleset.enabled_rules if r.event_types.admits(evt_type)) \
            if evt_type in ruleset.required_event_types() else 0

        def run_type(function: object = function, same: list[Event] = same) -> None:
            assert callable(function)
            for event in same:
                function(event)

        seconds = _median_seconds(run_type)
        print(f"{evt_type:<14}{count / len(events):>8.1%}{rules:>7}"
              f"{seconds / len(same) * 1e6:>10.2f}")
    print()
    detect_rate = len(events) / detect_s
    match_rate = len(events) / match_s
    print(f"{'detector (match + alerts)':<30}{detect_rate:>12,.0f} events/s"
          f"{detect_s / len(events) * 1e6:>8.2f} us/event")
    print(f"{'matching only':<30}{match_rate:>12,.0f} events/s"
          f"{match_s / len(events) * 1e6:>8.2f} us/event")
    print(f"{'Falco (published, one CPU)':<30}{FALCO_EVENTS_PER_SECOND:>12,} events/s"
          f"   ours = {detect_rate / FALCO_EVENTS_PER_SECOND:.2f}x")
    print(f"events_per_second={detect_rate:.0f}")


if __name__ == "__main__":
    main()
