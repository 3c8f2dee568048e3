"""What the dashboard's templates show, computed from alerts: times, priority styles, the
process ancestry, and the fields worth reading first."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from runwatch.priority import Priority

PRIORITY_CLASSES = {p: p.name.lower() for p in Priority}
# Grouped as people triage them: the first group is paged on, the last rarely read.
SEVERITY_GROUPS: list[tuple[str, tuple[Priority, ...]]] = [
    ("Critical and above", (Priority.EMERGENCY, Priority.ALERT, Priority.CRITICAL)),
    ("Error", (Priority.ERROR,)),
    ("Warning", (Priority.WARNING,)),
    ("Notice and below", (Priority.NOTICE, Priority.INFORMATIONAL, Priority.DEBUG)),
]
_ANAME_INDEX = re.compile(r"^proc\.aname\[(\d+)\]$")
_CONTAINER_PREFIXES = ("container.", "k8s.")


def clock(time_ns: int | None) -> str:
    """'2024-05-01 12:00:03 UTC'."""
    if not time_ns:
        return ""
    return datetime.fromtimestamp(time_ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def axis_label(time_ns: int, bucket_ns: int) -> str:
    """A chart label: '12:30' within a day's buckets, '05-01 12:00' for hours, '05-01' for days."""
    moment = datetime.fromtimestamp(time_ns / 1e9, UTC)
    if bucket_ns >= 86_400 * 10**9:
        return moment.strftime("%m-%d")
    if bucket_ns >= 3 * 3600 * 10**9:
        return moment.strftime("%m-%d %H:%M")
    return moment.strftime("%H:%M")


def ago(time_ns: int | None, now_ns: int | None = None) -> str:
    """'12s ago', '5m ago', '3h ago', '2d ago'."""
    if not time_ns:
        return ""
    seconds = max(0, ((time.time_ns() if now_ns is None else now_ns) - time_ns) // 10**9)
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def priority_class(priority: Priority | str | None) -> str:
    """The CSS class of a priority: 'critical', 'warning', ...; 'none' when unknown."""
    if priority is None:
        return "none"
    if isinstance(priority, str):
        try:
            priority = Priority.parse(priority)
        except ValueError:
            return "none"
    return PRIORITY_CLASSES[priority]


@dataclass(frozen=True, slots=True)
class ProcessStep:
    """One process in an alert's ancestry, oldest first; the last is the one that acted."""

    name: str
    detail: str = ""
    pid: object = None


def ancestry(fields: dict[str, object]) -> list[ProcessStep]:
    """The process chain an alert's fields tell: ancestors (proc.aname[N] or the proc.aname list),
    the parent (proc.pname, proc.pcmdline) and the process itself (proc.name, proc.cmdline)."""
    ancestors: dict[int, str] = {}
    listed = fields.get("proc.aname")
    if isinstance(listed, list):  # the enricher's list: [parent, grandparent, ...]
        ancestors = {i + 1: str(name) for i, name in enumerate(listed) if name}
    for key, value in fields.items():
        match = _ANAME_INDEX.match(key)
        if match and value:
            ancestors[int(match.group(1))] = str(value)
    if fields.get("proc.pname"):
        ancestors[1] = str(fields["proc.pname"])
    steps = [ProcessStep(ancestors[level]) for level in sorted(ancestors, reverse=True) if level > 1]
    if 1 in ancestors:
        steps.append(ProcessStep(ancestors[1], _text(fields.get("proc.pcmdline")),
                                 fields.get("proc.ppid")))
    if fields.get("proc.name") or fields.get("proc.exepath"):
        steps.append(ProcessStep(str(fields.get("proc.name") or fields.get("proc.exepath")),
                                 _text(fields.get("proc.cmdline") or fields.get("proc.exepath")),
                                 fields.get("proc.pid")))
    return steps


def container_fields(fields: dict[str, object]) -> dict[str, object]:
    """The container.* and k8s.* fields of an alert."""
    return {k: v for k, v in fields.items() if k.startswith(_CONTAINER_PREFIXES) and v is not None}


def shown(value: object) -> str:
    """A field value as Falco prints it: `<NA>` for absent, lists joined."""
    if value is None:
        return "<NA>"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={shown(v)}" for k, v in value.items())
    return str(value)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def event_summary(event: dict[str, object]) -> str:
    """One line saying what an event is about, whatever its source: the log message, the audit
    action, or the process and what it touched."""
    source = event.get("evt.source") or "syscall"
    if "log.message" in event:
        program = event.get("log.program")
        return f"{program}: {event['log.message']}" if program else str(event["log.message"])
    if source == "k8s_audit":
        audit = event.get("k8s_audit.object")
        if isinstance(audit, dict):
            target, user = audit.get("objectRef"), audit.get("user")
            target = target if isinstance(target, dict) else {}
            user = user if isinstance(user, dict) else {}
            where = "/".join(str(target[k]) for k in ("namespace", "resource", "name", "subresource")
                             if target.get(k))
            return f"{user.get('username', '?')} {audit.get('verb', '?')} {where}".strip()
    parts = [str(event["proc.cmdline"]) if event.get("proc.cmdline") else str(event.get("proc.name", ""))]
    for key in ("fd.name", "evt.arg.path", "evt.arg.name"):
        if event.get(key):
            parts.append(f"→ {event[key]}")
            break
    return " ".join(part for part in parts if part) or str(event.get("audit.type", ""))
