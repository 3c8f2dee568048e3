"""Events written by rule authors (JSON objects of Falco field names, one a line) turned into
runwatch's representation, so `runwatch rules test` feeds rules what sources would.

`proc.aname[2]: sshd` becomes item 1 of the `proc.aname` list (item 0 is the parent),
`proc.aname[0]` is `proc.name`, `proc.env[HOME]` one `HOME=...` entry of `proc.env`,
`container.label[app]` one entry of the `container.label` dict; numbers and booleans written
as strings are converted by the field's type. A Kubernetes audit event is its audit object under
`k8s_audit.object` (its `ka.*` and `jevt.*` fields are read from there).
"""

from __future__ import annotations

from runwatch.event import FIELDS, Event, FieldType, resolve_field
from runwatch.rules.falco.json_fields import OBJECT_KEY
from runwatch.rules.falco.k8saudit import PREFIXES as AUDIT_PREFIXES

_ANCESTOR_SELF = {"proc.aname": "proc.name", "proc.apid": "proc.pid", "proc.aexe": "proc.exe",
                  "proc.aexepath": "proc.exepath", "proc.acmdline": "proc.cmdline"}
_NUMERIC = (FieldType.INT, FieldType.PORT, FieldType.RELTIME, FieldType.ABSTIME)


class EventInputError(Exception):
    """An input event that cannot be read; the message names the key."""


def normalize_event(raw: dict[str, object]) -> Event:
    """An author's event in runwatch's representation; raises EventInputError on a bad key."""
    event: Event = {}
    indexed: list[tuple[str, int, object]] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise EventInputError(f"keys must be field names, got {key!r}")
        if key in ("evt.source", "source"):
            event["evt.source"] = value
            continue
        if key == OBJECT_KEY:
            if not isinstance(value, dict):
                raise EventInputError(f"'{key}' holds the audit Event object")
            event[key] = value
            event.setdefault("evt.source", "k8s_audit")
            continue
        if key.startswith(AUDIT_PREFIXES):
            raise EventInputError(f"'{key}' is read from the audit object: give the audit Event "
                                  f"under '{OBJECT_KEY}'")
        resolved = resolve_field(key)
        if resolved is None:
            raise EventInputError(f"unknown field '{key}'")
        field, arg = resolved
        name = field.name
        if name in ("evt.arg", "evt.rawarg"):
            if "[" in key:
                raise EventInputError(f"'{key}': give arguments by name (evt.arg.flags)")
            event[f"evt.arg.{arg}"] = value
        elif arg is None:
            event[name] = _coerce(name, value, field.type, field.is_list)
        elif name in _ANCESTOR_SELF or field.type is FieldType.LIST:
            if not arg.isdigit():
                raise EventInputError(f"'{key}': expected a number in brackets")
            indexed.append((name, int(arg), value))
        elif name == "proc.env":
            env = event.setdefault("proc.env", [])
            assert isinstance(env, list)
            env.append(f"{arg}={value}")
        elif name in ("container.label", "k8s.pod.label"):
            labels = event.setdefault(name, {})
            assert isinstance(labels, dict)
            labels[arg] = value
        else:
            raise EventInputError(f"'{key}': give {name} without an argument")
    for name, index, value in sorted(indexed, key=lambda entry: entry[1]):
        if name in _ANCESTOR_SELF:
            if index == 0:
                own = _ANCESTOR_SELF[name]
                event[own] = _coerce(own, value, FIELDS[own].type, False)
                continue
            index -= 1
        values = event.setdefault(name, [])
        if not isinstance(values, list):
            raise EventInputError(f"'{name}' is given both as a list and by index")
        while len(values) <= index:
            values.append(None)
        values[index] = _coerce(name, value, FIELDS[name].type, False)
    return event


def _coerce(name: str, value: object, value_type: FieldType, is_list: bool) -> object:
    if is_list:
        if not isinstance(value, list):
            raise EventInputError(f"'{name}' holds a list of values (or give {name}[N] keys)")
        return [_coerce(name, v, value_type, False) for v in value]
    if value is None:
        return None
    if value_type in _NUMERIC and isinstance(value, str):
        try:
            return int(value, 0) if value.lower().startswith(("0x", "-0x")) else int(value)
        except ValueError:
            raise EventInputError(f"'{name}' is a number, got {value!r}") from None
    if value_type in _NUMERIC and isinstance(value, float) and value.is_integer():
        return int(value)
    if value_type is FieldType.BOOL and isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise EventInputError(f"'{name}' is true or false, got {value!r}")
    if value_type is FieldType.STRING and isinstance(value, (int, float)) \
            and not isinstance(value, bool):
        return str(value)
    return value
