"""`runwatch rules validate | list | test`, run as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

DATA = Path(__file__).resolve().parents[2] / "data" / "falco"
RULESETS = [DATA / "falco_rules.yaml", DATA / "falco-incubating_rules.yaml",
            DATA / "falco-sandbox_rules.yaml"]


def runwatch(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runwatch", *map(str, args)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_validate_counts_rules_macros_and_lists_of_falco_rulesets() -> None:
    result = runwatch("rules", "validate", *RULESETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok: 93 rules, 315 macros, 118 lists; 0 errors, 0 warnings"


def test_validate_reports_each_error_with_its_place_and_fails(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- rule: a\n  desc: d\n  condition: evt.type=open and proc.nme=x\n"
                   "  output: o\n  priority: info\n"
                   "- rule: b\n  desc: d\n  condition: evt.type=open and proc.name=x\n"
                   "  output: o\n  priority: info\n"
                   "- rule: c\n  desc: d\n  condition: evt.type=open and (proc.name=x\n"
                   "  output: o\n  priority: info\n")
    result = runwatch("rules", "validate", bad)
    assert result.returncode == 1
    assert f"{bad}:3: rule 'a': condition: unknown field 'proc.nme'" in result.stderr
    assert f"{bad}:13: rule 'c': condition: unbalanced parenthesis" in result.stderr
    assert "rule 'b'" not in result.stderr
    assert "3 rules, 0 macros, 0 lists; 2 errors" in result.stderr


def test_list_prints_rules_with_their_event_types() -> None:
    result = runwatch("rules", "list", "--json", RULESETS[0])
    assert result.returncode == 0, result.stderr
    rows = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 25
    shell = next(r for r in rows if r["rule"] == "Terminal shell in container")
    assert shell["event_types"] == ["execve", "execveat"]
    assert shell["priority"] == "Notice" and shell["enabled"] is True


def test_test_prints_alerts_in_event_order_and_reports_bad_lines(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([
        '{"evt.type": "execve", "proc.name": "shred", "evt.time": 1700000000000000000}',
        '{"evt.type": "execve", "proc.name": "ls"}',
        "{not json",
        '{"evt.type": "openat", "evt.is_open_read": true, "fd.typechar": "f", "fd.num": 3,'
        ' "fd.name": "/etc/shadow", "fd.directory": "/etc", "proc.name": "nginx",'
        ' "proc.duration": 60000000000, "evt.num": 5}',
        '{"proc.nme": "x"}',
    ]) + "\n")
    first = runwatch("rules", "test", "--rules", RULESETS[0], "--events", events)
    alerts = [orjson.loads(line) for line in first.stdout.splitlines()]
    assert [(a["event_line"], a["rule"]) for a in alerts] == [
        (1, "Remove Bulk Data from Disk"), (4, "Read sensitive file trusted after startup")]
    assert f"{events}:3: " in first.stderr
    assert f"{events}:5: unknown field 'proc.nme'" in first.stderr
    assert first.returncode == 1
    every = runwatch("rules", "test", "--rules", RULESETS[0], "--events", events,
                     "--rule-matching", "all")
    rules = [(a["event_line"], a["rule"]) for a in map(orjson.loads, every.stdout.splitlines())]
    assert rules == [(1, "Remove Bulk Data from Disk"),
                     (4, "Read sensitive file trusted after startup"),
                     (4, "Read sensitive file untrusted")]
