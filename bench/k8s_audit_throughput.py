"""Falco's Kubernetes audit ruleset against real audit events, on one core.

The events are Falco's own regression traces (tests/data/k8s_audit: 51 events from minikube,
pods, roles, secrets, configmaps, exec), replayed 400 times as JSON lines. Measures decoding
(JSON parse and event building), matching alone with rule_matching first and all, and the
detector (matching and building alerts), each the median of 5 runs after a warm-up.
Prints a table and a last line `match_events_per_second=N decode_events_per_second=N`.

    .venv/bin/python bench/k8s_audit_throughput.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.event import Event  # noqa: E402
from runwatch.rules.falco import K8S_AUDIT_RULES_FILE, FalcoDetector, load_rules  # noqa: E402
from runwatch.sources.logs.k8s_audit import decode_audit_json  # noqa: E402

TRACES = ROOT / "tests" / "data" / "k8s_audit" / "trace_files" / "k8s_audit"
REPLAYS = 400
REPEATS = 5


def lines() -> list[str]:
    return [line for path in sorted(TRACES.glob("*.json")) if path.name != "fal_01_003.json"
            for line in path.read_text().splitlines() if line.strip()] * REPLAYS


def per_second(count: int, run: Callable[[], object]) -> float:
    run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    text = lines()
    events: list[Event] = [e for line in text for e in decode_audit_json(line).events]
    first = load_rules([K8S_AUDIT_RULES_FILE], "first").ruleset
    every = load_rules([K8S_AUDIT_RULES_FILE], "all").ruleset
    detector = FalcoDetector(first, "bench")
    rows = [
        ("decode (JSON line -> event)", per_second(len(text), lambda: [
            decode_audit_json(line) for line in text])),
        ("match, rule_matching first", per_second(len(events), lambda: [
            first.match(e) for e in events])),
        ("match, rule_matching all", per_second(len(events), lambda: [
            every.match(e) for e in events])),
        ("detector (match + alerts)", per_second(len(events), lambda: detector.match(events))),
    ]
    print(f"{len(events)} events, 48 rules")
    for name, rate in rows:
        print(f"{name:32} {rate:>10,.0f} events/s")
    print(f"match_events_per_second={rows[1][1]:.0f} decode_events_per_second={rows[0][1]:.0f}")


if __name__ == "__main__":
    main()
