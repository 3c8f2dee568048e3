"""Kubernetes audit events (real ones, captured by Falco's authors from minikube) into runwatch
events: one per audit Event, from a file line, an EventList or an array; bad items named and
counted, good ones kept."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from runwatch.sources.logs.base import LogLineError
from runwatch.sources.logs.k8s_audit import OBJECT_KEY, PROVIDED_FIELDS, K8sAuditDecoder, \
    decode_audit_event, decode_audit_json, decode_audit_payload

TRACES = Path(__file__).resolve().parents[2] / "data" / "k8s_audit" / "trace_files" / "k8s_audit"
MALFORMED = TRACES / "fal_01_003.json"
GOOD = sorted(path for path in TRACES.glob("*.json") if path != MALFORMED)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def objects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stamp_ns(stamp: str) -> int:
    """Nanoseconds of an RFC 3339 stamp, computed apart from the decoder (microsecond stamps)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return (moment - EPOCH) // (datetime.resolution) * 1000


def test_every_real_trace_line_is_one_event_with_time_and_the_whole_object() -> None:
    versions = set()
    for path in GOOD:
        decoder = K8sAuditDecoder()
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        for number, line in enumerate(lines, start=1):
            events = decoder.decode(line, f"{path}:{number}")
            assert len(events) == 1, path
            event, obj = events[0], json.loads(line)
            assert event["evt.source"] == "k8s_audit"
            assert event[OBJECT_KEY] == obj
            assert event["evt.time"] == stamp_ns(obj["stageTimestamp"])
            versions.add(obj.get("apiVersion"))
        assert decoder.dropped_items == 0
    assert len(GOOD) == 46
    assert versions == {"audit.k8s.io/v1", "audit.k8s.io/v1beta1", None}  # some omit it


def test_the_object_is_kept_as_given_under_its_key() -> None:
    obj = objects(TRACES / "create_deployment.json")[0]
    event = decode_audit_event(obj)
    assert event["k8s_audit.object"] is obj
    assert set(event) == {"evt.source", "evt.time", "k8s_audit.object", "k8s.ns.name"}


def test_namespace_and_pod_come_from_the_object_reference() -> None:
    execution = objects(TRACES / "exec_pod.json")[0]
    event = decode_audit_event(execution)
    assert (event["k8s.ns.name"], event["k8s.pod.name"]) == (
        execution["objectRef"]["namespace"], execution["objectRef"]["name"])
    created = objects(TRACES / "create_pod_kube_system_namespace.json")[0]
    assert "name" not in created["objectRef"]  # the server named the pod: its response says how
    event = decode_audit_event(created)
    assert (event["k8s.ns.name"], event["k8s.pod.name"]) == (
        "kube-system", created["responseObject"]["metadata"]["name"])
    role = decode_audit_event(objects(TRACES / "create_clusterrole.json")[0])
    assert "k8s.ns.name" not in role and "k8s.pod.name" not in role
    secret = decode_audit_event(objects(TRACES / "create_secret.json")[0])
    assert secret["k8s.ns.name"] == "default" and "k8s.pod.name" not in secret


def test_the_malformed_trace_file_is_an_error_naming_the_file_and_line() -> None:
    line = MALFORMED.read_text()
    with pytest.raises(LogLineError) as caught:
        K8sAuditDecoder().decode(line, f"{MALFORMED}:1")
    assert str(caught.value).startswith(f"{MALFORMED}:1: data not recognized as a k8s audit event")
    assert caught.value.where == f"{MALFORMED}:1" and "kind 0" in caught.value.reason


def test_an_event_list_keeps_its_good_items_and_names_the_bad_ones() -> None:
    first, second = objects(TRACES / "create_secret.json")[0], objects(TRACES / "delete_secret.json")[0]
    no_time = {k: v for k, v in copy.deepcopy(second).items()
               if k not in ("stageTimestamp", "requestReceivedTimestamp")}
    bad_time = {**copy.deepcopy(first), "stageTimestamp": "yesterday"}
    payload = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
               "items": [{k: v for k, v in first.items() if k not in ("kind", "apiVersion")},
                         no_time, "junk", bad_time, second]}
    result = decode_audit_payload(payload, "POST /api/k8s-audit")
    assert [e["k8s_audit.object"]["auditID"] for e in result.events] == [  # type: ignore[index]
        first["auditID"], second["auditID"]]
    assert [str(error) for error in result.errors] == [
        "POST /api/k8s-audit: items[1]: missing stageTimestamp and requestReceivedTimestamp",
        "POST /api/k8s-audit: items[2]: expected an audit Event (a JSON object), got a string",
        "POST /api/k8s-audit: items[3]: stageTimestamp 'yesterday' is not an RFC 3339 time "
        "(2018-10-26T09:51:20.713631Z)"]


def test_an_array_of_events_and_lists_is_read_as_falcos_plugin_reads_it() -> None:
    first, second = objects(TRACES / "create_service.json")[0], objects(TRACES / "delete_service.json")[0]
    text = json.dumps([first, {"kind": "EventList", "items": [second]}, {"kind": "Pod"}])
    result = decode_audit_json(text, "f:3")
    assert len(result.events) == 2
    assert [str(e) for e in result.errors] == [
        "f:3: [2]: data not recognized as a k8s audit event (kind 'Pod'; expected kind 'Event' "
        "or 'EventList')"]


def test_time_falls_back_to_request_received_and_reads_offsets_and_nanoseconds() -> None:
    obj = objects(TRACES / "create_configmap.json")[0]
    del obj["stageTimestamp"]
    assert decode_audit_event(obj)["evt.time"] == stamp_ns(obj["requestReceivedTimestamp"])
    obj["requestReceivedTimestamp"] = "2018-10-26T11:51:20.123456789+02:00"
    assert decode_audit_event(obj)["evt.time"] == stamp_ns("2018-10-26T09:51:20Z") + 123_456_789


@pytest.mark.parametrize(("change", "message"), [
    ({"apiVersion": "audit.k8s.io/v1alpha1"}, "apiVersion 'audit.k8s.io/v1alpha1' is not supported"),
    ({"kind": "Pod"}, "kind is 'Pod', expected 'Event'"),
    ({"auditID": None}, "missing auditID"),
    ({"stage": ""}, "missing stage"),
    ({"objectRef": "pods"}, "objectRef must be an object, got a string"),
    ({"stageTimestamp": "2018-13-26T09:51:20Z"}, "stageTimestamp '2018-13-26T09:51:20Z' is not"),
])
def test_a_malformed_event_says_what_is_wrong_and_where(change: dict[str, Any], message: str) -> None:
    obj = {**objects(TRACES / "create_configmap.json")[0], **change}
    with pytest.raises(LogLineError) as caught:
        decode_audit_event(obj, "audit.log:7")
    assert str(caught.value) == f"audit.log:7: {caught.value.reason}" and message in str(caught.value)


def test_a_line_that_is_not_json_is_an_error_and_bad_items_are_counted() -> None:
    decoder = K8sAuditDecoder()
    with pytest.raises(LogLineError, match=r"^audit.log:2: not JSON"):
        decoder.decode('{"kind": "Event",', "audit.log:2")
    good = objects(TRACES / "delete_configmap.json")[0]
    line = json.dumps({"kind": "EventList", "items": [good, {}, 3]})
    assert len(decoder.decode(line, "audit.log:3")) == 1
    assert decoder.dropped_items == 2
    assert decoder.decode("  ", "audit.log:4") == [] and decoder.flush(0) == []


def test_provided_fields_name_the_rule_fields_read_from_the_object() -> None:
    assert {"evt.time", "k8s_audit.object", "ka.verb", "ka.req.pod.containers.image",
            "jevt.value", "json.obj", "k8s.pod.name"} <= PROVIDED_FIELDS
    assert "proc.name" not in PROVIDED_FIELDS
