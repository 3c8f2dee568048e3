"""Sigma rules on runwatch's events: SigmaHQ's shipped rules load, match what Zircolite matches on
its benchmark log, fire on real Kubernetes audit events and kernel-shaped exec events, and each
modifier means what Sigma says."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest

from runwatch.event import Event
from runwatch.rules.sigma import RULE_SET, SIGMA_RULES_DIR, SigmaDetector, load_sigma_rules
from runwatch.sources.logs.auditd import AuditAssembler, parse_audit_line
from runwatch.sources.logs.k8s_audit import decode_audit_json

DATA = Path(__file__).parents[2] / "data"
TRACES = DATA / "k8s_audit" / "trace_files" / "k8s_audit"


def rule_file(tmp_path: Path, detection: str, logsource: str = "product: linux\n  service: auditd",
              name: str = "rule.yml") -> Path:
    path = tmp_path / name
    path.write_text(f"title: Test rule\nid: 5b1c5d8a-3c4e-4a8e-9d0e-000000000001\nstatus: test\n"
                    f"author: Tester\nlevel: high\nlogsource:\n  {logsource}\n"
                    f"detection:\n{detection}\n")
    return path


def detector_for(tmp_path: Path, detection: str, **kwargs: str) -> SigmaDetector:
    result = load_sigma_rules([rule_file(tmp_path, detection, **kwargs)])
    assert result.errors == [] and len(result.active) == 1, (result.errors, result.inactive)
    return SigmaDetector(result.active, "h1")


def audit_event(*records: dict[str, str]) -> Event:
    return {"evt.source": "auditd", "evt.time": 1, "audit.records": list(records)}


def test_the_shipped_rules_all_load_and_say_why_some_are_inactive() -> None:
    result = load_sigma_rules([SIGMA_RULES_DIR])
    assert result.errors == []
    routes = Counter(rule.route.name for rule in result.active)
    assert routes["process_creation"] == 144 and routes["auditd"] == 54
    assert routes["kubernetes_audit"] == 16 and routes["file_event"] == 18
    assert routes["network_connection"] == 5
    assert len(result.active) + len(result.inactive) == 264  # every shipped file
    reasons = Counter(why for _, why in result.inactive)
    assert reasons["no events for logsource product=linux category=None service=None"] == 16
    assert all(rule.author for rule in result.active)  # DRL: every alert can name its author


def test_zircolites_benchmark_log_raises_what_zircolite_raised() -> None:
    """Zircolite v3.7.0 with SigmaHQ's rules/linux/auditd on this log matched 33 events across 5
    rules (tests/data/auditd/ZIRCOLITE_SOURCE.txt); each of them is one audit group here."""
    rules = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux" / "auditd"])
    detector = SigmaDetector(rules.active, "h1")
    assembler, alerts = AuditAssembler(), []
    with gzip.open(DATA / "auditd" / "zircolite_audit_200k.log.gz", "rt") as log:
        batch: list[Event] = []
        for number, line in enumerate(log, 1):
            batch += assembler.feed(parse_audit_line(line, f"audit_200k.log:{number}"))
            if len(batch) >= 512:
                alerts += detector.match(batch)
                batch = []
        alerts += detector.match(batch + assembler.flush_all())
    assert Counter(alert.rule for alert in alerts) == {
        "Remove Immutable File Attribute - Auditd": 7, "System Information Discovery - Auditd": 9,
        "Linux Capabilities Discovery": 2, "Service Reload or Start - Linux": 6,
        "System Owner or User Discovery - Linux": 9}


@pytest.mark.parametrize(("trace", "rule"), [
    ("exec_pod.json", "Potential Remote Command Execution In Pod Container"),
    ("create_pod_kube_system_namespace.json", "Creation Of Pod In System Namespace"),
    ("delete_secret.json", "Kubernetes Secrets Modified or Deleted"),
    ("create_serviceaccount.json", "New Kubernetes Service Account Created"),
    ("attach_cluster_admin_role.json", "Kubernetes Rolebinding Modification")])
def test_real_kubernetes_audit_events_raise_sigmahqs_kubernetes_rules(trace: str, rule: str) -> None:
    rules = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "application" / "kubernetes"])
    detector = SigmaDetector(rules.active, "h1")
    events = decode_audit_json((TRACES / trace).read_text(), trace).events
    [alert] = detector.match(events)
    assert alert.rule == rule and alert.source == "k8s_audit"
    assert alert.output_fields["sigma.author"] and alert.output_fields["sigma.rule_set"] == RULE_SET


def test_a_kernel_exec_event_meets_the_process_creation_rules() -> None:
    rules = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux" / "process_creation"])
    detector = SigmaDetector(rules.active, "h1")
    getcap: Event = {"evt.type": "execve", "evt.source": "syscall", "evt.res": "SUCCESS",
                     "evt.rawres": 0, "evt.time": 5, "proc.exepath": "/usr/sbin/getcap",
                     "proc.cmdline": "getcap -r /", "proc.name": "getcap",
                     "container.id": "c0ffee000001"}
    alerts = detector.match([getcap])
    assert "Capabilities Discovery - Linux" in {a.rule for a in alerts}
    assert all(a.container_id == "c0ffee000001" for a in alerts)
    failed = {**getcap, "evt.res": "ENOENT", "evt.rawres": -2}
    assert detector.match([failed]) == []  # an exec that failed created no process
    assert detector.match([{**getcap, "evt.type": "openat"}]) == []


def test_modifiers_mean_what_sigma_says(tmp_path: Path) -> None:
    detector = detector_for(tmp_path, """    sel_exec:
        type: EXECVE
        a0|endswith: '/nc'
        a1|contains|all: ['-e', 'sh']
    sel_path:
        type: PATH
        name|startswith: '/etc/cron'
        name|re: '^/etc/cron\\.[a-z]+/[0-9a-f]{6}$'
    condition: 1 of sel_*""")
    nc = {"type": "EXECVE", "a0": "/USR/BIN/NC", "a1": "-lp 80 -e /bin/sh"}
    assert len(detector.match([audit_event(nc)])) == 1  # case-insensitive
    assert detector.match([audit_event({**nc, "a1": "-lp 80 -e /bin/bash"})]) != []
    assert detector.match([audit_event({**nc, "a1": "-lp 80"})]) == []  # |all needs both
    cron = {"type": "PATH", "name": "/etc/cron.d/0a1b2c"}
    assert len(detector.match([audit_event(cron)])) == 1
    assert detector.match([audit_event({**cron, "name": "/etc/cron.d/0A1B2C"})]) == []  # re: cased


def test_keywords_null_cidr_and_not(tmp_path: Path) -> None:
    detector = detector_for(tmp_path, """    keywords:
        - 'Failed password'
    allowed:
        log.host: null
    condition: keywords and not allowed""", logsource="product: linux\n  service: sshd")
    failed: Event = {"evt.source": "syslog", "log.program": "sshd", "log.host": "web1",
                     "log.message": "Failed password for root from 203.0.113.9 port 22 ssh2"}
    assert len(detector.match([failed])) == 1
    assert detector.match([{**failed, "log.host": None}]) == []  # `not allowed` holds back
    assert detector.match([{**failed, "log.program": "cron"}]) == []  # another service
    network = detector_for(tmp_path, """    selection:
        DestinationIp|cidr: '10.0.0.0/8'
        Initiated: 'true'
    condition: selection""", logsource="product: linux\n  category: network_connection",
                           name="net.yml")
    connect: Event = {"evt.type": "connect", "evt.source": "syscall", "fd.sip": "10.2.3.4"}
    assert len(network.match([connect])) == 1
    assert network.match([{**connect, "fd.sip": "192.168.1.1"}]) == []


def test_an_auditd_group_raises_a_rule_once_even_if_records_repeat(tmp_path: Path) -> None:
    detector = detector_for(tmp_path, """    selection:
        type: PATH
        name: /etc/shadow
    condition: selection""")
    path = {"type": "PATH", "name": "/etc/shadow"}
    assert len(detector.match([audit_event(path, path)])) == 1


def test_a_broken_rule_is_named_and_the_others_still_load(tmp_path: Path) -> None:
    rule_file(tmp_path, "    selection:\n        a0: ls\n    condition: selection", name="good.yml")
    (tmp_path / "broken.yml").write_text("title: Broken\nlogsource: {product: linux}\n"
                                         "detection:\n  condition: nothing_here\n")
    result = load_sigma_rules([tmp_path])
    assert len(result.active) == 1
    [error] = result.errors
    assert error.startswith(f"{tmp_path / 'broken.yml'}: ")


def test_rules_below_the_minimum_level_are_left_out() -> None:
    everything = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux" / "auditd"])
    serious = load_sigma_rules([SIGMA_RULES_DIR / "rules" / "linux" / "auditd"], "high")
    assert 0 < len(serious.active) < len(everything.active)
    assert all(rule.level in ("high", "critical") for rule in serious.active)


def test_rules_on_kernel_events_can_have_a_higher_floor() -> None:
    result = load_sigma_rules([SIGMA_RULES_DIR], "medium", kernel_min_level="high")
    kernel = [r for r in result.active if r.route.name in ("process_creation", "file_event",
                                                           "network_connection")]
    others = [r for r in result.active if r not in kernel]
    assert kernel and all(rule.level in ("high", "critical") for rule in kernel)
    assert any(rule.level == "medium" for rule in others)
