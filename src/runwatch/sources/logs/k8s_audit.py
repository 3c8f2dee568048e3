"""Kubernetes audit events (audit.k8s.io v1 and v1beta1) into runwatch events: one event per
audit `Event`, from a single Event, an `EventList` as the API server's audit webhook POSTs it,
or a JSON array of either (what Falco's k8saudit plugin reads, pkg/k8saudit/source.go).

An event holds `evt.source` (k8s_audit), `evt.time` (stageTimestamp, else
requestReceivedTimestamp, in ns), the parsed object under `k8s_audit.object`, and
`k8s.ns.name` / `k8s.pod.name` when the object names them. Rules and outputs read the `ka.*` and
`jevt.*` fields from the object when they need them (rules/falco/k8saudit.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import orjson

from runwatch.event import FIELDS, Event
from runwatch.sources.logs.base import LogLineError
from runwatch.times import parse_rfc3339_ns

log = logging.getLogger(__name__)

SOURCE = "k8s_audit"
OBJECT_KEY = "k8s_audit.object"
"""Where the whole parsed audit object is kept (other readers, a Sigma matcher, use it)."""

API_VERSIONS = ("audit.k8s.io/v1", "audit.k8s.io/v1beta1")

PROVIDED_FIELDS = frozenset({"evt.source", "evt.time", OBJECT_KEY, "k8s.ns.name", "k8s.pod.name",
                             *(name for name in FIELDS
                               if name.startswith(("ka.", "jevt.", "json.")))})
"""The fields events of this source carry or serve, for sources declaring their `fields`."""

@dataclass(frozen=True, slots=True)
class AuditPayload:
    """What one payload held: its events, and an error for each item that could not be read
    (an EventList keeps its good items when some are bad)."""

    events: list[Event] = field(default_factory=list)
    errors: list[LogLineError] = field(default_factory=list)


def decode_audit_event(obj: object, where: str = "") -> Event:
    """The event for one audit Event object; LogLineError says what is wrong and `where`."""
    if not isinstance(obj, dict):
        raise LogLineError(f"expected an audit Event (a JSON object), got {_kind_of(obj)}", where)
    kind = obj.get("kind", "Event")  # EventList items usually carry no kind
    if kind != "Event":
        raise LogLineError(f"kind is {kind!r}, expected 'Event'", where)
    _check_api_version(obj, where)
    for key in ("auditID", "stage"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise LogLineError(f"missing {key} (every audit Event has one)", where)
    event: Event = {"evt.source": SOURCE, "evt.time": _event_time_ns(obj, where),
                    OBJECT_KEY: obj}
    reference = obj.get("objectRef")
    if reference is not None and not isinstance(reference, dict):
        raise LogLineError(f"objectRef must be an object, got {_kind_of(reference)}", where)
    if reference:
        _add_kubernetes_names(event, obj, reference)
    return event


def decode_audit_payload(obj: object, where: str = "") -> AuditPayload:
    """The events of an Event, an EventList or a JSON array of them.

    Raises LogLineError when the payload as a whole is not audit data; a bad item of a list is
    an error in the result, and the other items are kept.
    """
    if isinstance(obj, list):
        result = AuditPayload()
        for index, element in enumerate(obj):
            place = _item_where(where, "", index)
            try:
                part = decode_audit_payload(element, place)
            except LogLineError as err:
                result.errors.append(err)
                continue
            result.events.extend(part.events)
            result.errors.extend(part.errors)
        return result
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if not isinstance(obj, dict) or kind not in ("Event", "EventList"):
        got = f"kind {kind!r}" if isinstance(obj, dict) else _kind_of(obj)
        raise LogLineError(f"data not recognized as a k8s audit event ({got}; expected kind "
                           f"'Event' or 'EventList')", where)
    if kind == "Event":
        return AuditPayload([decode_audit_event(obj, where)])
    _check_api_version(obj, where)
    items = obj.get("items")
    if items is None:
        return AuditPayload()  # the API server's webhook never sends this, but it is valid
    if not isinstance(items, list):
        raise LogLineError(f"EventList items must be an array, got {_kind_of(items)}", where)
    result = AuditPayload()
    for index, item in enumerate(items):
        try:
            result.events.append(decode_audit_event(item, _item_where(where, "items", index)))
        except LogLineError as err:
            result.errors.append(err)
    return result


def decode_audit_json(data: str | bytes, where: str = "") -> AuditPayload:
    """Parse one JSON payload (a line of an audit log file, a webhook request body)."""
    try:
        obj = orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise LogLineError(f"not JSON: {err}", where) from None
    return decode_audit_payload(obj, where)


class K8sAuditDecoder:
    """Implements `LineDecoder` for audit log files (the API server's `--audit-log-path`: one
    JSON Event per line). Bad items inside a line are counted in `dropped_items`; the first is
    logged, and the line's good events still come out."""

    def __init__(self) -> None:
        self.dropped_items = 0

    def decode(self, line: str, where: str) -> list[Event]:
        if not line.strip():
            return []
        payload = decode_audit_json(line, where)
        if payload.errors:
            if self.dropped_items == 0:
                log.error("audit event cannot be read", extra={"error": str(payload.errors[0])})
            self.dropped_items += len(payload.errors)
        return payload.events

    def flush(self, now_ns: int) -> list[Event]:
        return []


def _event_time_ns(obj: dict[str, object], where: str) -> int:
    for key in ("stageTimestamp", "requestReceivedTimestamp"):
        if key not in obj:
            continue
        stamp = obj[key]
        time_ns = parse_rfc3339_ns(stamp) if isinstance(stamp, str) else None
        if time_ns is None:
            raise LogLineError(f"{key} {stamp!r} is not an RFC 3339 time "
                               f"(2018-10-26T09:51:20.713631Z)", where)
        return time_ns
    raise LogLineError("missing stageTimestamp and requestReceivedTimestamp", where)


def _add_kubernetes_names(event: Event, obj: dict[str, object],
                          reference: dict[str, object]) -> None:
    """k8s.ns.name is the namespace the request acts in; k8s.pod.name the pod it acts on (for
    a pod the server named, the name in its response, as ka.target.pod.name reads it)."""
    namespace = reference.get("namespace")
    if isinstance(namespace, str) and namespace:
        event["k8s.ns.name"] = namespace
    if reference.get("resource") != "pods":
        return
    name = reference.get("name")
    if not name and not reference.get("subresource"):
        response = obj.get("responseObject")
        metadata = response.get("metadata") if isinstance(response, dict) else None
        name = metadata.get("name") if isinstance(metadata, dict) else None
    if isinstance(name, str) and name:
        event["k8s.pod.name"] = name


def _check_api_version(obj: dict[str, object], where: str) -> None:
    version = obj.get("apiVersion")
    if version is not None and version not in API_VERSIONS:
        raise LogLineError(f"apiVersion {version!r} is not supported (expected "
                           f"{' or '.join(API_VERSIONS)})", where)


def _item_where(where: str, key: str, index: int) -> str:
    place = f"{key}[{index}]"
    return f"{where}: {place}" if where else place


def _kind_of(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
