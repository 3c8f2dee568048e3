"""SigmaHQ's auditd rules over Zircolite's benchmark log, on one core, the way Zircolite was
measured (anchors/zircolite-bench/SOURCE.txt; tests/data/auditd/ZIRCOLITE_SOURCE.txt).

The 200,000-line log holds 40,000 audit groups of five records (SYSCALL, EXECVE, CWD, PATH,
PROCTITLE); about 0.1% run a "bad" command. SigmaHQ's 53 rules of rules/linux/auditd meet every
record. Zircolite v3.7.0 took about 8 s wall (6.8-10.4 s over 6 runs) for the same log and
rules, matched 33 events across 5 rules, and peaked at 105 MB RSS.

First one streamed run as the daemon does it (parse, group and match batch by batch): wall time
and peak RSS. Then, on the parsed groups held in memory, matching alone (warmed up, median of
repeats): records/s and events (groups)/s. Ends with one line
`records_per_second=N events_per_second=N stream_seconds=N peak_rss_mb=N matches=N`.

    .venv/bin/python bench/sigma_throughput.py
"""

from __future__ import annotations

import gzip
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.alerts.model import Alert  # noqa: E402
from runwatch.event import Event  # noqa: E402
from runwatch.rules.sigma import SIGMA_RULES_DIR, SigmaDetector, load_sigma_rules  # noqa: E402
from runwatch.sources.logs.auditd import AuditAssembler, parse_audit_line  # noqa: E402

LOG = ROOT / "tests" / "data" / "auditd" / "zircolite_audit_200k.log.gz"
RULES = SIGMA_RULES_DIR / "rules" / "linux" / "auditd"
BATCH = 512
REPEATS = 5
ZIRCOLITE_SECONDS, ZIRCOLITE_RSS_MB, ZIRCOLITE_MATCHES = 8.0, 105, 33


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _stream(detector: SigmaDetector) -> tuple[int, float, float, list[Alert]]:
    """Read, parse, group and match batch by batch, as the daemon follows a file; returns
    (lines, read and parse s, match s, alerts)."""
    assembler, batch, alerts = AuditAssembler(), [], []
    parse_s = match_s = 0.0
    number = 0
    with gzip.open(LOG, "rt") as log:
        start = time.perf_counter()
        for number, line in enumerate(log, 1):
            batch += assembler.feed(parse_audit_line(line, f"audit_200k.log:{number}"))
            if len(batch) >= BATCH:
                parse_s += time.perf_counter() - start
                start = time.perf_counter()
                alerts += detector.match(batch)
                match_s += time.perf_counter() - start
                batch = []
                start = time.perf_counter()
        batch += assembler.flush_all()
        parse_s += time.perf_counter() - start
    start = time.perf_counter()
    alerts += detector.match(batch)
    match_s += time.perf_counter() - start
    return number, parse_s, match_s, alerts


def _groups(lines: list[str]) -> list[Event]:
    assembler, events = AuditAssembler(), []
    for number, line in enumerate(lines, 1):
        events += assembler.feed(parse_audit_line(line, f"audit_200k.log:{number}"))
    return events + assembler.flush_all()


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})
    start = time.perf_counter()
    rules = load_sigma_rules([RULES])
    load_s = time.perf_counter() - start
    if rules.errors:
        raise SystemExit("\n".join(rules.errors))
    detector = SigmaDetector(rules.active, "bench")
    loaded_rss = _peak_rss_mb()

    line_count, parse_s, stream_match_s, alerts = _stream(detector)
    stream_s = parse_s + stream_match_s
    stream_rss = _peak_rss_mb()

    lines = gzip.decompress(LOG.read_bytes()).decode().splitlines()
    events = _groups(lines)
    records = sum(len(records) for event in events
                  if isinstance(records := event["audit.records"], list))
    batches = [events[i:i + BATCH] for i in range(0, len(events), BATCH)]

    def match_all() -> None:
        for batch in batches:
            detector.match(batch)

    match_all()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        match_all()
        times.append(time.perf_counter() - start)
    match_s = statistics.median(times)

    print(f"rules: {len(rules.active)} active of {RULES.relative_to(SIGMA_RULES_DIR)}, loaded "
          f"and compiled in {load_s * 1000:.0f} ms; pinned to CPU 0")
    print(f"log: {len(lines):,} lines, {len(events):,} groups, {records:,} records")
    print()
    print("streamed, as the daemon runs (one pass):")
    print(f"  {'read, parse and group':<24}{parse_s:>7.2f} s {line_count / parse_s:>10,.0f} "
          f"lines/s")
    print(f"  {'match':<24}{stream_match_s:>7.2f} s {records / stream_match_s:>10,.0f} records/s")
    print(f"  {'total':<24}{stream_s:>7.2f} s   Zircolite about {ZIRCOLITE_SECONDS:.0f} s "
          f"(ours = {stream_s / ZIRCOLITE_SECONDS:.2f}x the time)")
    print(f"  {'peak RSS':<24}{stream_rss:>7.0f} MB  Zircolite {ZIRCOLITE_RSS_MB} MB "
          f"(after loading the rules: {loaded_rss:.0f} MB)")
    print()
    print(f"matching alone, groups in memory, median of {REPEATS}:")
    print(f"  {match_s:.2f} s  {records / match_s:>10,.0f} records/s "
          f"{len(events) / match_s:>10,.0f} events/s {match_s / len(events) * 1e6:>6.1f} us/event")
    print()
    print(f"matches: {len(alerts)} (Zircolite {ZIRCOLITE_MATCHES})")
    for rule, count in sorted(Counter(alert.rule for alert in alerts).items()):
        print(f"  {count:4d}  {rule}")
    print(f"records_per_second={records / match_s:.0f} events_per_second="
          f"{len(events) / match_s:.0f} stream_seconds={stream_s:.2f} "
          f"peak_rss_mb={stream_rss:.0f} matches={len(alerts)}")


if __name__ == "__main__":
    main()
