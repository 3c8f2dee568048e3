"""Falco's own alerts (its JSON output, as `http_output` POSTs it or Falcosidekick receives it) read
into runwatch alerts, so a team that already runs Falco sensors gets runwatch's repeat folding,
outputs, store, responses and dashboard for them."""

from __future__ import annotations

from runwatch.alerts.model import Alert
from runwatch.priority import Priority
from runwatch.times import parse_rfc3339_ns


class FalcoAlertError(ValueError):
    """A Falco alert that cannot be read; the message names the key and `where`."""


def alert_from_falco_json(obj: object, where: str) -> Alert:
    """The alert for one Falco JSON alert (`rule`, `priority`, `output` required; `time`,
    `source`, `hostname`, `tags`, `output_fields` as Falco writes them)."""
    if not isinstance(obj, dict):
        raise FalcoAlertError(f"{where}: expected a Falco alert (a JSON object), got "
                              f"{type(obj).__name__}")
    for key in ("rule", "priority", "output"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise FalcoAlertError(f"{where}.{key}: missing or not a string")
    try:
        priority = Priority.parse(obj["priority"])
    except ValueError as err:
        raise FalcoAlertError(f"{where}.priority: {err}") from None
    fields = obj.get("output_fields", {})
    tags = obj.get("tags", [])
    if not isinstance(fields, dict):
        raise FalcoAlertError(f"{where}.output_fields: expected an object")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise FalcoAlertError(f"{where}.tags: expected a list of strings")
    time_ns = None
    if isinstance(obj.get("time"), str):
        time_ns = parse_rfc3339_ns(obj["time"])
        if time_ns is None:
            raise FalcoAlertError(f"{where}.time: {obj['time']!r} is not an RFC 3339 time")
    container = fields.get("container.id")
    return Alert.create(rule=obj["rule"], priority=priority, output=obj["output"],
                        source=str(obj.get("source") or "syscall"),
                        hostname=str(obj.get("hostname") or ""), output_fields=fields, tags=tags,
                        container_id=container if isinstance(container, str) and container
                        and container != "host" else None, time_ns=time_ns)
