"""SigmaHQ's rules on runwatch's events: the auditd rules raise on Zircolite's benchmark log what
Zircolite raised, the Kubernetes rules fire on Falco's real audit events and on Zircolite's
Kubernetes log as Zircolite did, the kernel and syslog rules fire on the events they describe,
and every alert carries what the Detection Rule License asks."""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml

from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.rules.sigma import RULE_SET, SIGMA_RULES_DIR, SigmaDetector, load_sigma_rules
from runwatch.sources.logs.auditd import AuditAssembler, parse_audit_line
from runwatch.sources.logs.k8s_audit import K8sAuditDecoder, decode_audit_event
from runwatch.sources.logs.syslog import decode_syslog_line
from tests.rules.sigma.conftest import DetectorMaker, audit_event

DATA = Path(__file__).parents[2] / "data"
RULES = SIGMA_RULES_DIR / "rules"
TRACES = DATA / "k8s_audit" / "trace_files" / "k8s_audit"


def detector_of(*folders: Path) -> SigmaDetector:
    result = load_sigma_rules(list(folders))
    assert result.errors == []
    return SigmaDetector(result.active, "h1")


# -- auditd ----------------------------------------------------------------------------------

def test_zircolites_benchmark_log_raises_what_zircolite_raised() -> None:
    """Zircolite v3.7.0 (pySigma 1.5.1) with SigmaHQ's rules/linux/auditd on audit_200k.log
    matched 33 events across 5 rules (tests/data/auditd/ZIRCOLITE_SOURCE.txt). Zircolite's
    event is one audit record; runwatch's is one audit group, which raises a rule once however
    many of its records match. Here every raising group has exactly one matching record, so
    the counts are the same, and this test checks that too."""
    log = DATA / "auditd" / "zircolite_audit_200k.log.gz"
    text = gzip.decompress(log.read_bytes())
    assert hashlib.sha256(text).hexdigest() == \
        "9f844ce1603514eae18c25e04aa3f613e31153ebd6efde0cebc2b9deb36f5d08"  # the reference input
    detector = detector_of(RULES / "linux" / "auditd")
    assert len(detector.rules) == 53
    assembler, alerts = AuditAssembler(), []
    groups: dict[object, Event] = {}
    batch: list[Event] = []
    for number, line in enumerate(text.decode().splitlines(), 1):
        batch += assembler.feed(parse_audit_line(line, f"audit_200k.log:{number}"))
        if len(batch) >= 512:
            alerts += detector.match(batch)
            groups.update((event["audit.sequence"], event) for event in batch)
            batch = []
    batch += assembler.flush_all()
    alerts += detector.match(batch)
    groups.update((event["audit.sequence"], event) for event in batch)
    assert len(groups) == 40_000
    assert Counter(alert.rule for alert in alerts) == {
        "Remove Immutable File Attribute - Auditd": 7, "System Information Discovery - Auditd": 9,
        "Linux Capabilities Discovery": 2, "Service Reload or Start - Linux": 6,
        "System Owner or User Discovery - Linux": 9}
    by_title = {rule.title: rule for rule in detector.rules}
    for alert in alerts:
        records = groups[alert.output_fields["audit.sequence"]]["audit.records"]
        predicate = by_title[alert.rule].condition.predicate
        assert isinstance(records, list)
        assert sum(predicate(record) for record in records) == 1


def test_an_auditd_alert_names_the_rule_its_author_and_the_record_it_matched() -> None:
    detector = detector_of(RULES / "linux" / "auditd")
    lines = [  # auditd's raw text, as audit_200k.log has it
        'type=SYSCALL msg=audit(1700000000.123:4242): arch=c000003e syscall=59 success=yes '
        'exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=1000 pid=1001 auid=1000 uid=0 gid=0 '
        'euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm="getcap" '
        'exe="/usr/sbin/getcap" key="exec"',
        'type=EXECVE msg=audit(1700000000.123:4242): argc=3 a0="getcap" a1="-r" a2="/"',
        'type=CWD msg=audit(1700000000.123:4242): cwd="/root"',
        'type=PROCTITLE msg=audit(1700000000.123:4242): proctitle=676574636170002D72002F']
    assembler = AuditAssembler()
    events = [e for n, line in enumerate(lines, 1) for e in assembler.feed(parse_audit_line(
        line, f"audit.log:{n}"))] + assembler.flush_all()
    [alert] = detector.match(events)
    assert alert.rule == "Linux Capabilities Discovery" and alert.source == "auditd"
    assert alert.priority is Priority.NOTICE  # level low
    fields = alert.output_fields
    assert fields["sigma.author"] == "Pawel Mazur"
    assert fields["sigma.id"] == "fe10751f-1995-40a5-aaa2-c97ccb4123fe"
    assert fields["sigma.rule_set"] == RULE_SET and fields["sigma.level"] == "low"
    assert fields["sigma.field.a0"] == "getcap" and fields["sigma.field.a1"] == "-r"
    assert fields["proc.exepath"] == "/usr/sbin/getcap" and fields["audit.sequence"] == 4242
    assert alert.time_ns == 1_700_000_000_123_000_000 and "\n" not in alert.output
    assert alert.output.startswith("Linux Capabilities Discovery (")
    assert "a0=getcap" in alert.output and "by Pawel Mazur" in alert.output
    assert alert.tags == ["attack.discovery", "attack.privilege-escalation", "attack.t1083",
                          "attack.t1548"]


def test_a_group_raises_a_rule_once_and_alerts_keep_event_order(detector: DetectorMaker) -> None:
    rule = detector("    selection:\n        type: PATH\n        name: /etc/shadow\n"
                    "    condition: selection")
    shadow = {"type": "PATH", "name": "/etc/shadow"}
    first, second = audit_event(shadow, shadow), audit_event({"type": "PATH", "name": "/x"})
    third = {**audit_event(shadow), "evt.time": 1_700_000_000_000_000_007}
    alerts = rule.match([first, second, third])
    assert [alert.time_ns for alert in alerts] == [first["evt.time"], third["evt.time"]]


# -- Kubernetes audit --------------------------------------------------------------------------

@pytest.mark.parametrize(("trace", "rules"), [
    # Falco's regression events; each rule read against each event by hand
    ("exec_pod.json", {"Potential Remote Command Execution In Pod Container"}),  # create pods/exec
    ("attach_pod.json", set()),  # the pods/attach subresource is not exec
    ("create_pod_kube_system_namespace.json", {"Creation Of Pod In System Namespace"}),
    ("create_pod_kube_public_namespace.json", set()),
    ("create_nginx_pod_sensitive_mount.json", {"Container With A hostPath Mount Created"}),
    ("create_nginx_pod_sensitive_mount_2nd_container.json",
     {"Container With A hostPath Mount Created"}),  # a hostPath volume of any container
    ("create_nginx_pod_privileged.json", set()),  # privileged, but no capabilities requested
    ("delete_secret.json", {"Kubernetes Secrets Modified or Deleted"}),
    ("create_kube_system_secret.json", {"Kubernetes Secrets Modified or Deleted"}),
    ("create_serviceaccount.json", {"New Kubernetes Service Account Created"}),
    ("delete_serviceaccount.json", set()),
    ("attach_cluster_admin_role.json", {"Kubernetes Rolebinding Modification"}),
    ("delete_clusterrolebinding.json", {"Kubernetes Rolebinding Modification"}),
    ("create_clusterrole.json", set()),  # a role, not a binding
    ("delete_deployment.json", {"Deployment Deleted From Kubernetes Cluster"}),
    ("create_deployment.json", set()),
    ("delete_configmap.json", set()),
])
def test_falcos_kubernetes_audit_events_raise_the_rules_they_describe(trace: str,
                                                                      rules: set[str]) -> None:
    detector = detector_of(RULES / "application" / "kubernetes")
    decoder, events = K8sAuditDecoder(), []
    for number, line in enumerate((TRACES / trace).read_text().splitlines(), 1):
        if line.strip():
            events += decoder.decode(line, f"{trace}:{number}")
    alerts = detector.match(events)
    assert {alert.rule for alert in alerts} == rules
    assert len(alerts) == len(rules)
    authors = {rule["title"]: rule["author"] for rule in (
        yaml.safe_load(path.read_text()) for path in (RULES / "application").rglob("*.yml"))}
    for alert in alerts:
        assert alert.source == "k8s_audit" and alert.output_fields["sigma.rule_set"] == RULE_SET
        assert alert.output_fields["sigma.author"] == authors[alert.rule]
        assert alert.output_fields["sigma.field.verb"] in ("create", "delete")


def test_zircolites_kubernetes_log_raises_what_zircolite_raised(tmp_path: Path) -> None:
    """Zircolite v3.7.0 with SigmaHQ's rules/application/kubernetes on k8s_200k.jsonl matched
    158 events across 5 rules (ZIRCOLITE_SOURCE.txt). The log is regenerated by its seeded
    generator (138 MB is too big to keep) and checked against the reference's hash. Events
    are built as the k8s audit source builds them (decode_audit_event) from each line."""
    log = tmp_path / "k8s_200k.jsonl"
    subprocess.run([sys.executable, str(DATA / "k8s_audit" / "zircolite_gen_k8s.py"), "200000",
                    str(log)], check=True, timeout=120)
    data = log.read_bytes()
    assert hashlib.sha256(data).hexdigest() == \
        "08c5155007412fc14015e6de80cb99ed32b71c1ef788e708eddc74abcf6a03d4"
    detector = detector_of(RULES / "application" / "kubernetes")
    alerts = []
    batch: list[Event] = []
    for number, line in enumerate(data.splitlines(), 1):
        batch.append(decode_audit_event(orjson.loads(line), f"k8s_200k.jsonl:{number}"))
        if len(batch) == 512:
            alerts += detector.match(batch)
            batch = []
    alerts += detector.match(batch)
    assert Counter(alert.rule for alert in alerts) == {
        "Kubernetes Events Deleted": 32, "Creation Of Pod In System Namespace": 13,
        "Potential Remote Command Execution In Pod Container": 47,
        "New Kubernetes Service Account Created": 34, "Kubernetes Secrets Enumeration": 32}


# -- kernel events ---------------------------------------------------------------------------

def kernel_event(evt_type: str, fields: dict[str, object], rawres: int = 0) -> Event:
    """A syscall exit as the kernel sensor delivers it (sources/ebpf/decode.py, arguments.py)."""
    return {"evt.type": evt_type, "evt.source": "syscall", "evt.dir": "<",
            "evt.time": 1_700_000_000_000_000_000, "evt.rawres": rawres,
            "evt.res": "SUCCESS" if rawres >= 0 else "ENOENT", "evt.failed": rawres < 0,
            "proc.pid": 4242, "proc.ppid": 4200, "user.uid": 0, "user.name": "root",
            "container.id": "c0ffee000001", **fields}


def test_exec_events_meet_the_process_creation_rules() -> None:
    detector = detector_of(RULES / "linux" / "process_creation")
    getcap = kernel_event("execve", {"proc.exepath": "/usr/sbin/getcap",
                                       "proc.cmdline": "getcap -r /", "proc.name": "getcap",
                                       "proc.cwd": "/root/", "proc.pexepath": "/bin/bash"})
    [alert] = detector.match([getcap])
    assert alert.rule == "Capabilities Discovery - Linux" and alert.source == "syscall"
    assert alert.container_id == "c0ffee000001" and alert.priority is Priority.NOTICE
    assert alert.output_fields["proc.cmdline"] == "getcap -r /"
    assert alert.output_fields["proc.exepath"] == "/usr/sbin/getcap"
    assert detector.match([{**getcap, "evt.rawres": -2, "evt.res": "ENOENT"}]) == []
    assert detector.match([{**getcap, "evt.type": "openat"}]) == []
    assert detector.match([{**getcap, "evt.source": "auditd"}]) == []


def test_current_directory_is_compared_without_falcos_trailing_slash() -> None:
    detector = detector_of(RULES / "linux" / "process_creation")
    omigod = kernel_event("execve", {
        "proc.exepath": "/bin/sh", "proc.cmdline": "sh -c /bin/sh -c id", "user.name": "root",
        "user.loginuid": 0, "proc.cwd": "/var/opt/microsoft/scx/tmp/"})
    assert "OMIGOD SCX RunAsProvider ExecuteShellCommand" in {
        alert.rule for alert in detector.match([omigod])}


def test_file_writes_renames_and_links_meet_the_file_event_rules() -> None:
    detector = detector_of(RULES / "linux" / "file_event")
    cron = kernel_event("openat", {"fd.name": "/etc/cron.d/backdoor",
                                   "evt.arg.flags": "O_TRUNC|O_CREAT|O_WRONLY",
                                   "evt.is_open_write": True, "proc.exepath": "/bin/cp"}, 3)
    assert [a.rule for a in detector.match([cron])] == ["New Cron File Created"]
    read_only = {**cron, "evt.arg.flags": "O_RDONLY", "evt.is_open_write": False}
    assert detector.match([read_only]) == []
    assert detector.match([{**cron, "evt.rawres": -13, "evt.res": "EACCES"}]) == []
    renamed = kernel_event("renameat2", {"fs.path.source": "/tmp/x",
                                         "fs.path.target": "/etc/doas.conf"})
    assert [a.rule for a in detector.match([renamed])] == ["Linux Doas Conf File Creation"]
    dpkg = kernel_event("openat", {"fd.name": "/etc/sudoers.d/README.dpkg-new",
                                   "evt.arg.flags": "O_CREAT|O_WRONLY",
                                   "proc.exepath": "/usr/bin/dpkg"}, 4)
    assert detector.match([dpkg]) == []  # the rule's own filter_main_dpkg
    assert [a.rule for a in detector.match([{**dpkg, "proc.exepath": "/bin/sh"}])] == \
        ["Persistence Via Sudoers.d Files"]


def test_connections_meet_the_network_connection_rules() -> None:
    detector = detector_of(RULES / "linux" / "network_connection")
    callback = kernel_event("connect", {
        "fd.sockfamily": "ip", "fd.type": "ipv4", "fd.l4proto": "tcp", "fd.sip": "198.51.100.7",
        "fd.sport": 4444, "fd.cip": "10.0.0.5", "fd.cport": 40000,
        "fd.name": "10.0.0.5:40000->198.51.100.7:4444", "proc.exepath": "/tmp/agent"},
        -115)  # a non-blocking connect: EINPROGRESS
    assert [a.rule for a in detector.match([callback])] == [
        "Potentially Suspicious Malware Callback Communication - Linux"]
    assert detector.match([{**callback, "fd.sip": "10.1.2.3"}]) == []  # filter: private range
    accepted = {**callback, "evt.type": "accept4", "evt.rawres": 5}
    assert detector.match([accepted]) == []  # Initiated: 'true' only for connect
    shell = {**callback, "proc.exepath": "/bin/bash", "fd.sport": 443}
    assert [a.rule for a in detector.match([shell])] == ["Linux Reverse Shell Indicator"]
    assert detector.match([{**shell, "fd.sip": "127.0.0.1"}]) == []


def test_the_detector_says_which_kernel_events_its_rules_need() -> None:
    kernel = detector_of(RULES / "linux" / "process_creation", RULES / "linux" / "file_event")
    assert {"execve", "execveat", "openat", "creat", "renameat2"} <= \
        kernel.required_event_types()
    assert "connect" not in kernel.required_event_types()
    assert detector_of(RULES / "linux" / "auditd").required_event_types() == frozenset()


# -- syslog ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("line", "fires"), [
    # the examples in lnx_privileged_user_creation.yml's own comments
    ("Dec 21 16:42:19 testserver useradd[1337]: new user: name=butter1, UID=1000, GID=0, "
     "home=/root, shell=/bin/bash", True),
    ("Dec 21 17:13:54 testserver useradd[1337]: new user: name=john, UID=0, GID=0, "
     "home=/home/john, shell=/bin/bash", True),
    ("Dec 21 17:24:40 testserver useradd[1337]: new user: name=butter3, UID=1000, GID=10, "
     "home=/home/butter3, shell=/bin/bash", True),
    ("Dec 21 17:30:22 testserver useradd[1337]: new user: name=butter4, UID=1000, GID=27, "
     "home=/home/butter4, shell=/bin/bash", True),
    ("Dec 21 17:31:00 testserver useradd[1337]: new user: name=bob, UID=1001, GID=1001, "
     "home=/home/bob, shell=/bin/bash", False),
])
def test_syslog_lines_meet_the_builtin_keyword_rules(line: str, fires: bool) -> None:
    detector = detector_of(RULES / "linux" / "builtin" / "lnx_privileged_user_creation.yml")
    alerts = detector.match([decode_syslog_line(line, "auth")])
    assert [alert.rule for alert in alerts] == (["Privileged User Has Been Created"] if fires
                                                else [])
    for alert in alerts:
        assert alert.source == "syslog" and alert.output_fields["log.program"] == "useradd"
        assert alert.output_fields["sigma.author"] == "Pawel Mazur"


def test_a_services_rules_meet_only_its_lines() -> None:
    detector = detector_of(RULES / "linux" / "builtin" / "sshd")
    line = "Mar  3 10:00:01 web1 sshd[812]: Corrupted MAC on input. [preauth]"
    assert [a.rule for a in detector.match([decode_syslog_line(line)])] == \
        ["Suspicious OpenSSH Daemon Error"]
    assert detector.match([decode_syslog_line(line.replace("sshd[812]", "cron[9]"))]) == []
    configured = decode_syslog_line(line.replace("sshd[812]", "dropbear[9]"), "sshd")
    assert len(detector.match([configured])) == 1  # log.service set by configuration


def test_sudo_rules_read_sudos_key_value_pairs() -> None:
    """CVE-2019-14287: `sudo -u#-1` runs as root; sudo logs USER=#-1."""
    detector = detector_of(SIGMA_RULES_DIR / "rules-emerging-threats" / "2019" / "Exploits" /
                           "CVE-2019-14287" / "lnx_sudo_exploit_cve_2019_14287.yml")
    line = ("Oct 14 10:00:00 web1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=#-1 ; "
            "COMMAND=/usr/bin/id")
    [alert] = detector.match([decode_syslog_line(line)])
    assert alert.rule == "Sudo Privilege Escalation CVE-2019-14287 - Builtin"
    assert alert.priority is Priority.CRITICAL and alert.output_fields["sigma.field.USER"] == "#-1"
    assert str(alert.output_fields["log.message"]).endswith("COMMAND=/usr/bin/id")
    assert detector.match([decode_syslog_line(line.replace("#-1", "root"))]) == []
