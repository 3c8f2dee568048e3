"""Profiles exported as policies: KubeArmor policies and NetworkPolicies of the right shape, valid
against KubeArmor's CRD and Kubernetes' schemas, and Falco rules that runwatch's own Falco loader accepts and that fire only on deviations."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from runwatch.errors import ProfileError
from runwatch.profiles import admin
from runwatch.rules.falco.detector import FalcoDetector
from runwatch.rules.falco.ruleset import load_rules_texts
from runwatch.store.sql import SqlStore
from tests.support.profiles import ADDRESSES, CLIENT, WEB, benign_events, connection, run_in

DATA = Path(__file__).parents[1] / "data"


def test_networkpolicy_allows_exactly_the_connections_seen(learned_store: SqlStore) -> None:
    web = yaml.safe_load(admin.export_profile(learned_store.profiles, WEB, "networkpolicy"))
    assert web["apiVersion"] == "networking.k8s.io/v1" and web["kind"] == "NetworkPolicy"
    assert web["metadata"] == {"name": "runwatch-shop-web-localhost-shop", "namespace": "shop"}
    assert web["spec"]["podSelector"] == {"matchLabels": {"app": "web"}}
    assert web["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert web["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}],
                                       "ports": [{"protocol": "TCP", "port": 8080}]}]
    assert web["spec"]["egress"] == []
    client = yaml.safe_load(admin.export_profile(learned_store.profiles, CLIENT, "networkpolicy"))
    assert client["spec"]["egress"] == [
        {"to": [{"ipBlock": {"cidr": "93.184.216.34/32"}}], "ports": [{"protocol": "TCP", "port": 443}]},
        {"to": [{"podSelector": {"matchLabels": {"app": "web"}}}],
         "ports": [{"protocol": "TCP", "port": 8080}]}]


def test_networkpolicies_are_valid_against_the_kubernetes_schema(learned_store: SqlStore) -> None:
    for workload in (WEB, CLIENT):
        policy = yaml.safe_load(admin.export_profile(learned_store.profiles, workload, "networkpolicy"))
        kubernetes_validate.validate(policy, "1.34", strict=True)
    policy["spec"]["egress"][0]["ports"][0]["protocol"] = 6
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(policy, "1.34", strict=True)


def test_kubearmor_policy_allows_programs_files_and_protocols(learned_store: SqlStore) -> None:
    policy = yaml.safe_load(admin.export_profile(learned_store.profiles, WEB, "kubearmor"))
    assert policy["apiVersion"] == "security.kubearmor.com/v1" and policy["kind"] == "KubeArmorPolicy"
    spec = policy["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "web"}} and spec["action"] == "Allow"
    assert spec["process"] == {"matchPaths": [{"path": "/usr/sbin/httpd"}]}
    assert {"path": "/etc/httpd.conf", "readOnly": True} in spec["file"]["matchPaths"]
    assert {"path": "/var/log/httpd/access.log", "readOnly": False} in spec["file"]["matchPaths"]
    assert spec["file"]["matchDirectories"] == [{"dir": "/var/cache/httpd/", "readOnly": False}]
    assert spec["network"] == {"matchProtocols": [{"protocol": "tcp"}]}
    assert spec["capabilities"] == {"matchCapabilities": [{"capability": "net_bind_service"}]}


def test_kubearmor_policies_are_valid_against_kubearmors_own_crd(learned_store: SqlStore) -> None:
    crd = yaml.safe_load((DATA / "kubearmor" / "KubeArmorPolicy.yaml").read_text())
    validator = jsonschema.Draft4Validator(crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"])
    for workload in (WEB, CLIENT):
        validator.validate(yaml.safe_load(admin.export_profile(learned_store.profiles, workload,
                                                               "kubearmor")))
    with pytest.raises(jsonschema.ValidationError, match="'Permit' is not one of"):
        validator.validate({"spec": {"action": "Permit"}})


def test_falco_rules_load_in_runwatch_and_fire_only_on_deviations(learned_store: SqlStore) -> None:
    text = admin.export_profile(learned_store.profiles, WEB, "falco")
    result = load_rules_texts([("web-profile.yaml", text)])
    assert result.is_ok, result.errors
    assert len(result.ruleset.rules) == 5
    falco = FalcoDetector(result.ruleset, "test-host")
    normal = [e for e in benign_events() if e["container.label"] == {"app": "web"}]  # type: ignore[comparison-overlap]
    for event in normal:
        event["evt.dir"], event["evt.res"], event["fd.typechar"] = "<", "SUCCESS", "f"
    assert falco.match(normal) == []
    shell = run_in("web", "/bin/sh")
    shell.update({"evt.dir": "<", "evt.res": "SUCCESS"})
    beacon = connection("connect", "web", ADDRESSES["web"], "203.0.113.9", 4444)
    beacon["evt.dir"] = "<"
    other_workload = run_in("worker", "/bin/sh")
    other_workload.update({"evt.dir": "<", "evt.res": "SUCCESS"})
    alerts = falco.match([shell, beacon, other_workload])
    assert [a.rule for a in alerts] == [f"Profile {WEB}: unexpected process",
                                        f"Profile {WEB}: unexpected outbound connection"]
    assert "/bin/sh" in alerts[0].output


def test_unknown_workloads_and_formats_are_named(learned_store: SqlStore) -> None:
    with pytest.raises(ProfileError, match=r"unknown export format 'pdf' \(expected one of: kubearmor, "):
        admin.export_profile(learned_store.profiles, WEB, "pdf")
    with pytest.raises(ProfileError, match=r"no profile for workload 'nope' \(known: shop/client@"):
        admin.export_profile(learned_store.profiles, "nope", "falco")
