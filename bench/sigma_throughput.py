"""SigmaHQ's auditd rules over Zircolite's benchmark log, the way Zircolite was measured.

Reads the 200,000-line auditd log (40,000 five-record exec groups, about 0.1% of them "bad"
commands; tests/data/auditd/ZIRCOLITE_SOURCE.txt), groups it, and matches the 53 rules of
SigmaHQ's rules/linux/auditd against every record, on one core. Zircolite v3.7.0 took about
8 s (6.8-10.4 s over 6 runs) for the same log with the same rules and matched 33 events across
5 rules; peak RSS 105 MB.

Prints parse and match seconds, records/s, matches per rule, peak RSS, and a last line
`seconds=N matches=N`.

    .venv/bin/python bench/sigma_auditd.py
"""

from __future__ import annotations

import gzip
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from runwatch.rules.sigma import SIGMA_RULES_DIR, SigmaDetector, load_sigma_rules  # noqa: E402
from runwatch.sources.logs.auditd import AuditAssembler, parse_audit_line  # noqa: E402

LOG = ROOT / "tests" / "data" / "auditd" / "zircolite_audit_200k.log.gz"
ZIRCOLITE_SECONDS = 8.0


def main() -> None:
    os.sched_setaffinity(0, {0})
    rules = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux" / "auditd"])
    detector = SigmaDetector(rules.active, "bench")
    lines = gzip.open(LOG, "rt").read().splitlines()
    assembler, batch, alerts, groups = AuditAssembler(), [], [], 0
    parse_s = match_s = 0.0
    for number, line in enumerate(lines, 1):  # streamed, batch by batch, as the daemon does
        start = time.perf_counter()
        batch += assembler.feed(parse_audit_line(line, f"audit_200k.log:{number}"))
        if number == len(lines):
            batch += assembler.flush_all()
        parse_s += time.perf_counter() - start
        if len(batch) >= 512 or number == len(lines):
            start = time.perf_counter()
            alerts += detector.match(batch)
            match_s += time.perf_counter() - start
            groups += len(batch)
            batch = []
    total = parse_s + match_s
    print(f"rules: {len(rules.active)} active ({len(rules.inactive)} inactive, "
          f"{len(rules.errors)} errors)")
    print(f"parse and group: {parse_s:.2f} s for {len(lines):,} lines "
          f"({len(lines) / parse_s:,.0f} lines/s), {groups:,} groups")
    print(f"match: {match_s:.2f} s ({len(lines) / match_s:,.0f} records/s)")
    print(f"total: {total:.2f} s, Zircolite about {ZIRCOLITE_SECONDS:.0f} s "
          f"(ratio {total / ZIRCOLITE_SECONDS:.2f})")
    for rule, count in sorted(Counter(alert.rule for alert in alerts).items()):
        print(f"  {count:3d}  {rule}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"seconds={total:.2f} matches={len(alerts)}")


if __name__ == "__main__":
    main()
