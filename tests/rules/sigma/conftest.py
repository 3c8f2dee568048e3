"""Sigma rules written inside a test: a rule file from a detection and a logsource, loaded and
made into a detector."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from runwatch.event import Event
from runwatch.rules.sigma import SigmaDetector, SigmaLoadResult, load_sigma_rules

AUDITD = "product: linux\n  service: auditd"
KUBERNETES = "product: kubernetes\n  service: audit"

RuleWriter = Callable[..., Path]
DetectorMaker = Callable[..., SigmaDetector]


def write_rule(folder: Path, detection: str, logsource: str = AUDITD, name: str = "rule.yml",
               title: str = "Test rule") -> Path:
    """A rule file: `detection` is the YAML under `detection:`, indented by four spaces."""
    path = folder / name
    path.write_text(f"title: {title}\nid: 5b1c5d8a-3c4e-4a8e-9d0e-000000000001\nstatus: test\n"
                    f"author: Tester\nlevel: high\ntags:\n  - attack.t1059\nlogsource:\n"
                    f"  {logsource}\ndetection:\n{detection}\n")
    return path


@pytest.fixture
def rule_file(tmp_path: Path) -> RuleWriter:
    def make(detection: str, logsource: str = AUDITD, name: str = "rule.yml",
             title: str = "Test rule") -> Path:
        return write_rule(tmp_path, detection, logsource, name, title)
    return make


@pytest.fixture
def detector(rule_file: RuleWriter) -> DetectorMaker:
    """A detector of one rule, which must load without error or inactivity."""
    def make(detection: str, logsource: str = AUDITD) -> SigmaDetector:
        result: SigmaLoadResult = load_sigma_rules([rule_file(detection, logsource)])
        assert result.errors == [] and result.inactive == [] and len(result.active) == 1
        return SigmaDetector(result.active, "h1")
    return make


def audit_event(*records: dict[str, str]) -> Event:
    """An auditd group as runwatch.sources.logs.auditd makes it (records, decoded values)."""
    return {"evt.source": "auditd", "evt.time": 1_700_000_000_000_000_000,
            "audit.records": list(records)}


def k8s_event(obj: dict[str, object]) -> Event:
    """A Kubernetes audit event as runwatch.sources.logs.k8s_audit makes it."""
    return {"evt.source": "k8s_audit", "evt.time": 1_700_000_000_000_000_000,
            "k8s_audit.object": obj}
