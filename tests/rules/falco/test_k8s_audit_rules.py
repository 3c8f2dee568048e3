"""Falco's Kubernetes audit ruleset loads unmodified and raises what Falco raises on real audit
events: Falco's own regression cases (tests/data/k8s_audit/falco_k8s_audit_tests.yaml), run with
the rule files they name and the trace files they read.

Of the 66 cases, 62 run and pass; the 4 in NOT_RUN cannot, for the reason given there. The cases
were written in 2023; the rulesets runwatch ships are newer, and where that shows it is said here:
RENAMED maps rules split since (4 cases), and expected_load_errors() names what today's engine
rejects in the files 9 cases name (Falco would refuse to start; runwatch keeps the good rules).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from runwatch.event import Event
from runwatch.priority import Priority
from runwatch.rules.falco import DEFAULT_RULES_FILE, FalcoDetector, load_rules, load_rules_texts
from runwatch.rules.falco.event_input import EventInputError, normalize_event
from runwatch.rules.falco.json_fields import OBJECT_KEY as READ_KEY
from runwatch.rules.falco.output import make_reader
from runwatch.rules.falco.parser import FieldRef
from runwatch.rules.falco.ruleset import K8S_AUDIT_RULES_FILE, KNOWN_SOURCES, LoadResult
from runwatch.rules.falco.runtime import FieldList
from runwatch.sources.logs.base import LogLineError
from runwatch.sources.logs.k8s_audit import OBJECT_KEY, K8sAuditDecoder

DATA = Path(__file__).resolve().parents[2] / "data" / "k8s_audit"
TRACES = DATA / "trace_files" / "k8s_audit"
ANCHOR_SHA256 = "fa53280e337db6edaeb44cf49fbd1be4349f3c48e3cd0017c2575097df901a1e"
"""k8s_audit_rules.yaml of falcosecurity/plugins 43ec9491 (k8saudit 0.18.0), as the anchor has it."""


class _MuxLoader(yaml.SafeLoader):
    """Avocado's `!mux` tag marks a mapping of variants; here it is a plain mapping."""


def _mux(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    return loader.construct_mapping(node, deep=True)


_MuxLoader.add_constructor("!mux", _mux)
CASES: dict[str, dict[str, Any]] = yaml.load(
    (DATA / "falco_k8s_audit_tests.yaml").read_text(), Loader=_MuxLoader)["trace_files"]

NOT_RUN = {
    name: "trust_nginx_container.yaml appends nginx to falco_sensitive_mount_images and "
          "falco_hostnetwork_images; the k8s audit ruleset renamed its lists to k8s_audit_* "
          "(falcosecurity/plugins 2c4a2757, 0879a813, 24e9f229, 2024-03), so those appends are "
          "load errors (Falco refuses to start) and nginx is no longer trusted: the rule the case "
          "expects to stay quiet fires (test_not_run_cases_fail_for_the_reason_given)"
    for name in ("create_privileged_trusted_pod", "create_sensitive_mount_trusted_pod",
                 "create_hostnetwork_trusted_pod", "compat_engine_v4_create_hostnetwork_trusted_pod")
}
RENAMED = {
    # falcosecurity/plugins 472fd1fc (2024-05) split the RBAC activity rules by object
    "K8s Role/Clusterrole Created": "K8s ClusterRole Created",
    "K8s Role/Clusterrole Deleted": "K8s ClusterRole Deleted",
    "K8s Role/Clusterrolebinding Created": "K8s ClusterRoleBinding Created",
    "K8s Role/Clusterrolebinding Deleted": "K8s ClusterRoleBinding Deleted",
}
RUN = sorted(set(CASES) - set(NOT_RUN))


def rules_files(case: dict[str, Any]) -> list[Path]:
    """The case's rules files: BUILD_DIR ones are those runwatch ships, ./rules/ ones copied."""
    paths = []
    for name in case["rules_file"]:
        if name.endswith("/falcosecurity-rules-falco/falco_rules.yaml"):
            paths.append(DEFAULT_RULES_FILE)
        elif name.endswith("/k8saudit-rules/k8s_audit_rules.yaml"):
            paths.append(K8S_AUDIT_RULES_FILE)
        else:
            assert name.startswith("./rules/"), name
            paths.append(DATA / name)
    return paths


def trace_file(case: dict[str, Any]) -> Path:
    match = re.search(r"open_params=trace_files/k8s_audit/(\S+)", case["addl_cmdline_opts"])
    assert match is not None
    return TRACES / match[1]


def expected_load_errors(case: dict[str, Any]) -> list[str]:
    """What today's engine (Falco's and runwatch's) rejects in the files a case names."""
    names = " ".join(case["rules_file"])
    errors = []
    if "trust_nginx_container.yaml" in names:
        # the lists were renamed (see NOT_RUN); falco_privileged_images still exists in
        # falco_rules.yaml, so only these two appends fail
        errors += ["list 'falco_sensitive_mount_images' has 'append' but no list",
                   "list 'falco_hostnetwork_images' has 'append' but no list"]
    if "engine_v4_k8s_audit_rules.yaml" in names:
        # `ka.req.role.rules.resources contains "pods/exec"`: libsinsp refuses operators other
        # than in/intersects/exists on list fields since falcosecurity/libs 6f774a41 (2024-05)
        errors += ["rule 'ClusterRole With Pod Exec Created': condition: operator 'contains' is "
                   "not supported on list field ka.req.role.rules.resources"]
    return errors


def read_trace(path: Path) -> tuple[list[Event], list[LogLineError]]:
    """A trace file as Falco's k8saudit plugin reads one: a JSON payload per non-empty line."""
    decoder = K8sAuditDecoder()
    events: list[Event] = []
    errors: list[LogLineError] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            events += decoder.decode(line, f"{path}:{number}")
        except LogLineError as err:
            errors.append(err)
    assert decoder.dropped_items == 0
    return events, errors


@functools.cache
def _load(paths: tuple[Path, ...], rule_matching: str) -> LoadResult:
    return load_rules(paths, "first" if rule_matching == "first" else "all")


def load_case(case: dict[str, Any], rule_matching: str) -> LoadResult:
    result = _load(tuple(rules_files(case)), rule_matching)
    messages = [str(error) for error in result.errors]
    wanted = expected_load_errors(case)
    assert len(messages) == len(wanted), messages
    for text in wanted:
        assert any(text in message for message in messages), (text, messages)
    return result


def test_every_case_is_run_or_listed_with_a_reason() -> None:
    assert len(CASES) == 66
    assert set(NOT_RUN) <= set(CASES)
    assert len(RUN) == 62


@pytest.mark.parametrize("name", RUN)
def test_falco_case_raises_exactly_the_expected_rules(name: str) -> None:
    """With Falco's default rule_matching (first), exactly the rules and counts the case
    expects; with `all`, the expected counts of the rules the case names, as Falco's test
    harness checks them (other rules may then fire too)."""
    case = CASES[name]
    expected = Counter({RENAMED.get(rule, rule): count
                        for entry in case.get("detect_counts", []) for rule, count in entry.items()})
    events, errors = read_trace(trace_file(case))
    if "stderr_contains" in case:  # fal_01_003: {"kind": 0}
        assert [str(e).split(": ", 1)[0] for e in errors] == [f"{trace_file(case)}:1"]
        assert case["stderr_contains"] in str(errors[0])
    else:
        assert errors == [] and events
    first = FalcoDetector(load_case(case, "first").ruleset, "test").match(events)
    raised = Counter(alert.rule for alert in first)
    assert raised == (expected if case["detect"] else Counter()), raised
    if case["detect"]:
        level = Priority.parse(case["detect_level"])
        assert any(alert.priority is level for alert in first)
    every = FalcoDetector(load_case(case, "all").ruleset, "test").match(events)
    counted = Counter(alert.rule for alert in every)
    assert {rule: counted[rule] for rule in expected} == dict(expected)
    assert case["detect"] or not every


@pytest.mark.parametrize("name", sorted(NOT_RUN))
def test_not_run_cases_fail_for_the_reason_given(name: str) -> None:
    case = CASES[name]
    result = load_case(case, "first")
    assert not case["detect"]
    events, _ = read_trace(trace_file(case))
    raised = {alert.rule for alert in FalcoDetector(result.ruleset, "t").match(events)}
    assert raised & {"Create Privileged Pod", "Create Sensitive Mount Pod", "Create HostNetwork Pod"}


def test_the_shipped_ruleset_is_falcos_unmodified_and_loads_without_warnings() -> None:
    assert hashlib.sha256(K8S_AUDIT_RULES_FILE.read_bytes()).hexdigest() == ANCHOR_SHA256
    result = load_rules([K8S_AUDIT_RULES_FILE])
    assert result.errors == [] and result.warnings == []  # required_*_versions accepted
    assert (result.rule_count, result.macro_count, result.list_count) == (48, 45, 18)
    assert len(result.ruleset.rules) == 48
    assert {rule.source for rule in result.ruleset.rules} == {"k8s_audit"}
    assert "k8s_audit" in KNOWN_SOURCES


def test_syscall_rules_keep_their_event_type_index_next_to_k8s_audit_rules() -> None:
    alone = load_rules([DEFAULT_RULES_FILE]).ruleset
    both = load_rules([DEFAULT_RULES_FILE, K8S_AUDIT_RULES_FILE]).ruleset
    assert both.required_event_types() == alone.required_event_types()
    assert both.rules_for_every_event_type() == alone.rules_for_every_event_type()
    assert both.generated_source["syscall"] == alone.generated_source["syscall"]
    assert both.required_event_types("k8s_audit") == frozenset()


K8S_AND_SYSCALL = """
- rule: shell
  desc: d
  condition: evt.type = execve and proc.name = bash
  output: shell %proc.name
  priority: warning
- rule: exec into pod
  desc: d
  condition: ka.target.subresource = exec
  output: exec %ka.target.name
  priority: notice
  source: k8s_audit
"""


def test_an_event_meets_only_the_rules_of_its_source() -> None:
    ruleset = load_rules_texts([("r.yaml", K8S_AND_SYSCALL)], "all").ruleset
    detector = FalcoDetector(ruleset, "t")
    audit = read_trace(TRACES / "exec_pod.json")[0][0]
    # an audit event that also looks like an execve of bash meets no syscall rule
    assert [a.rule for a in detector.match([{**audit, "evt.type": "execve", "proc.name": "bash"}])] \
        == ["exec into pod"]
    # a syscall event carrying an audit object meets no k8s_audit rule
    assert [a.rule for a in detector.match([{**audit, "evt.source": "syscall", "evt.type": "execve",
                                             "proc.name": "bash"}])] == ["shell"]


@pytest.mark.parametrize(("source", "condition", "output", "message"), [
    ("k8s_audit", "proc.name = bash", "o", "field 'proc.name' is not available for source k8s_audit"),
    ("k8s_audit", "ka.verb = create", "%fd.name", "output: field 'fd.name' is not available"),
    ("syscall", "evt.type = open and ka.verb = get", "o",
     "field 'ka.verb' is only available for source k8s_audit"),
    ("k8s_audit", "ka.req.pod.containers.image[01] exists", "o", "without leading zeros"),
    ("k8s_audit", "ka.req.role.rules.verbs = get", "o", "operator '=' is not supported on list"),
    ("k8s_audit", "jevt.value exists", "o", "jevt.value"),
])
def test_fields_of_another_source_or_misused_are_load_errors(source: str, condition: str,
                                                            output: str, message: str) -> None:
    text = (f"- rule: r\n  desc: d\n  condition: {condition}\n  output: \"{output}\"\n"
            f"  priority: info\n  source: {source}\n")
    errors = [str(error) for error in load_rules_texts([("f.yaml", text)]).errors]
    assert len(errors) == 1 and message in errors[0] and "f.yaml:" in errors[0], errors


# fields, read as Falco's k8saudit and json plugins extract them

def event_of(trace: str) -> Event:
    events, errors = read_trace(TRACES / trace)
    assert not errors
    return events[0]


def read(event: Event, field: str) -> object:
    name, _, arg = field.partition("[")
    return make_reader(FieldRef(name, arg[:-1] if arg else None, 0))(event)


def test_plain_fields_are_the_objects_values_and_numbers_read_as_json_text() -> None:
    event = event_of("create_nginx_pod_privileged.json")
    obj = event[OBJECT_KEY]
    assert isinstance(obj, dict)
    assert read(event, "ka.user.name") == obj["user"]["username"]
    assert read(event, "ka.verb") == "create" and read(event, "ka.target.resource") == "pods"
    assert read(event, "ka.response.code") == str(obj["responseStatus"]["code"]) == "201"
    assert read(event, "ka.resp.name") == obj["responseObject"]["metadata"]["name"]
    assert read(event, "ka.target.pod.name") == read(event, "ka.resp.name")
    assert read(event, "ka.target.subresource") is None  # absent, not ""
    assert read(event, "ka.req.pod.host_network") is None
    assert read(event, "jevt.rawtime") == str(event["evt.time"])
    assert read(event, "jevt.value[/stage]") == "ResponseComplete"
    assert read(event, "jevt.value[/responseStatus]") == json.dumps(
        obj["responseStatus"], separators=(",", ":"))
    assert read(event, "jevt.value[/requestObject/spec/containers/0/name]") == "nginx"
    assert read(event, "jevt.value[/requestObject/spec/containers/9/name]") is None
    assert json.loads(str(read(event, "jevt.obj"))) == obj
    assert str(read(event, "jevt.obj")).startswith('{\n  "')


def test_json_pointer_unescapes_tilde_one_then_tilde_zero() -> None:
    event = event_of("create_nginx_pod_unprivileged.json")
    decision = event[OBJECT_KEY]["annotations"]["authorization.k8s.io/decision"]  # type: ignore[index]
    assert read(event, "jevt.value[/annotations/authorization.k8s.io~1decision]") == decision
    altered = {**event, OBJECT_KEY: {**event[OBJECT_KEY], "a/~b": 7}}  # type: ignore[dict-item]
    assert read(altered, "jevt.value[/a~1~0b]") == "7"


def test_list_fields_per_container_and_indexed_by_container() -> None:
    event = event_of("create_nginx_pod_privileged_2nd_container.json")
    spec = event[OBJECT_KEY]["requestObject"]["spec"]  # type: ignore[index]
    images = [container["image"] for container in spec["containers"]]
    assert read(event, "ka.req.pod.containers.image") == images == ["nginx", "mysql:latest"]
    assert isinstance(read(event, "ka.req.pod.containers.image"), FieldList)
    assert read(event, "ka.req.pod.containers.image.repository") == ["nginx", "mysql"]
    assert read(event, "ka.req.pod.containers.image[1]") == ["mysql:latest"]
    assert read(event, "ka.req.pod.containers.image[2]") is None
    privileged = [str(c.get("securityContext", {}).get("privileged")).lower()
                  for c in spec["containers"] if "privileged" in c.get("securityContext", {})]
    assert read(event, "ka.req.pod.containers.privileged") == privileged
    assert "true" in privileged
    assert read(event, "ka.req.container.privileged") == "true"
    assert read(event, "ka.req.container.image") == "nginx"
    assert read(event, "ka.req.pod.initContainers.image") is None
    # the plugin reads spec.runAsUser, not the security context, and defaults to 0
    assert read(event, "ka.req.pod.containers.eff_run_as_user") == ["0", "0"]


def test_role_rules_binding_subjects_and_uri_parameters() -> None:
    role = event_of("create_cluster_role_wildcard_verbs.json")
    rules = role[OBJECT_KEY]["requestObject"]["rules"]  # type: ignore[index]
    assert read(role, "ka.req.role.rules.verbs") == [v for r in rules for v in r.get("verbs", [])]
    assert read(role, "ka.req.role.rules.verbs[0]") == rules[0]["verbs"]
    assert read(role, "ka.req.role.rules") == [json.dumps(r, separators=(",", ":")) for r in rules]
    binding = event_of("attach_cluster_admin_role.json")
    subjects = binding[OBJECT_KEY]["requestObject"]["subjects"]  # type: ignore[index]
    assert read(binding, "ka.req.binding.role") == "cluster-admin"
    assert read(binding, "ka.req.binding.subjects.user_names") == \
        [s["name"] for s in subjects if s["kind"] == "User"]
    assert read(binding, "ka.req.binding.subjects.group_names") is None  # empty is absent
    execution = event_of("exec_pod.json")
    assert "command=bash" in str(read(execution, "ka.uri"))
    assert read(execution, "ka.uri.param[command]") == "bash"
    assert read(execution, "ka.uri.param[nothing]") is None


def test_deprecated_hostpath_looks_at_the_first_volume_only_as_the_plugin_does() -> None:
    event = event_of("create_nginx_pod_sensitive_mount.json")
    assert read(event, "ka.req.volume.hostpath[/etc]") == "true"
    assert read(event, "ka.req.volume.hostpath[/e*]") == "true"
    assert read(event, "ka.req.volume.hostpath[/proc]") == "false"
    volumes = event[OBJECT_KEY]["requestObject"]["spec"]["volumes"]  # type: ignore[index]
    moved = {**event, OBJECT_KEY: {**event[OBJECT_KEY], "requestObject": {  # type: ignore[dict-item]
        "spec": {"volumes": [{"name": "x", "emptyDir": {}}, *volumes]}}}}
    assert read(moved, "ka.req.volume.hostpath[/etc]") is None
    assert read(moved, "ka.req.pod.volumes.hostpath") == ["/etc"]
    assert read(moved, "ka.req.pod.volumes.volume_type") == ["emptyDir", "hostPath"]


def test_ka_fields_are_absent_without_audit_id_and_on_other_sources() -> None:
    event = event_of("create_service.json")
    without = {**event, OBJECT_KEY: {k: v for k, v in event[OBJECT_KEY].items()  # type: ignore[attr-defined]
                                     if k != "auditID"}}
    assert read(without, "ka.verb") is None and read(without, "jevt.value[/verb]") == "create"
    assert read({"evt.source": "syscall", "evt.time": 1}, "jevt.rawtime") is None
    assert READ_KEY == OBJECT_KEY == "k8s_audit.object"


def test_outputs_render_lists_in_parentheses_and_absent_fields_as_na() -> None:
    ruleset = load_rules([K8S_AUDIT_RULES_FILE]).ruleset
    event = event_of("create_nginx_pod_sensitive_mount.json")
    obj = event[OBJECT_KEY]
    assert isinstance(obj, dict)
    alerts = FalcoDetector(ruleset, "t").match([event])
    assert [a.rule for a in alerts] == ["Create Sensitive Mount Pod"]
    volumes = json.dumps(obj["requestObject"]["spec"]["volumes"], separators=(",", ":"))
    assert alerts[0].output == (
        f"Pod started with sensitive mount (user={obj['user']['username']} "
        f"pod={obj['responseObject']['metadata']['name']} ns=default resource=pods "
        f"images=(nginx) volumes={volumes})")
    assert alerts[0].output_fields["ka.req.pod.containers.image"] == ["nginx"]
    assert type(alerts[0].output_fields["ka.req.pod.containers.image"]) is list
    role = FalcoDetector(ruleset, "t").match([event_of("delete_cluster_role_kube_aggregator.json")])
    assert "ns=<NA> action=delete" in role[0].output
    assert role[0].output_fields["ka.target.namespace"] is None


def test_rule_authors_give_an_audit_event_as_its_object() -> None:
    obj = json.loads((TRACES / "exec_pod.json").read_text())
    event = normalize_event({"k8s_audit.object": obj, "evt.time": 1})
    assert event["evt.source"] == "k8s_audit" and event[OBJECT_KEY] is obj
    ruleset = load_rules([K8S_AUDIT_RULES_FILE]).ruleset
    assert [a.rule for a in FalcoDetector(ruleset, "t").match([event])] == ["Attach/Exec Pod"]
    with pytest.raises(EventInputError, match="'ka.verb' is read from the audit object"):
        normalize_event({"ka.verb": "create"})


def test_every_rule_output_renders_on_every_real_event() -> None:
    ruleset = load_rules([K8S_AUDIT_RULES_FILE]).ruleset
    events = [event for path in sorted(TRACES.glob("*.json")) for event in read_trace(path)[0]]
    assert len(events) == 51  # 46 files, one of 6 lines
    for rule in ruleset.rules:
        for event in events:
            text, fields = rule.output.render(event)
            assert set(fields) == set(rule.output.fields), rule.name
            assert all(value is None or isinstance(value, str) or
                       (type(value) is list and all(isinstance(v, str) for v in value))
                       for value in fields.values()), (rule.name, fields)
            assert ("<NA>" in text) == (None in fields.values()), (rule.name, text)
