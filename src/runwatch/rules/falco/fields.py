"""How a field reference in a rule reads an event: one Python expression per reference.

Values are held as `runwatch.event` describes: ancestors are lists whose item 0 is the parent
(`proc.aname[1]`), so `proc.aname[0]` is the process itself (`proc.name`); fields listed in
`DERIVED_FIELDS` read several others and match any of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from runwatch.event import DERIVED_FIELDS, FIELDS, Field, FieldArg, FieldType, resolve_field, \
    suggest_field
from runwatch.rules.falco import json_fields, k8saudit
from runwatch.rules.falco.parser import FieldRef
from runwatch.rules.falco.runtime import glob_regex

Multiplicity = Literal["one", "any", "list"]
"""one: a single value; any: candidates, a check holds when it holds for one of them (ancestors
without an index, fd.ip); list: a list field (fd.types), only `in`, `intersects`, `exists`."""

_K8S_AUDIT_ALSO = frozenset({"evt.time", "evt.rawtime", "evt.source", "evt.hostname", "evt.num",
                             "k8s.ns.name", "k8s.pod.name"})
"""Fields other than ka.*/jevt.*/json.* that k8s_audit events carry (Falco's plugin events have
the evt.* ones; runwatch adds k8s.ns.name and k8s.pod.name from the audit object)."""

_ANCESTOR_SELF = {"proc.aname": "proc.name", "proc.apid": "proc.pid", "proc.aexe": "proc.exe",
                  "proc.aexepath": "proc.exepath", "proc.acmdline": "proc.cmdline"}


class FieldError(Exception):
    """A field reference that does not resolve; the message is for the rule's author."""


@dataclass(frozen=True, slots=True)
class Access:
    """A resolved field reference: the expression reading it (`g` is the event's `get`)."""

    text: str
    field: Field
    code: str
    value_type: FieldType
    multiplicity: Multiplicity
    keys: tuple[str, ...]
    is_dynamic: bool = False
    constants: tuple[tuple[str, object], ...] = ()


def resolve_access(ref: FieldRef) -> Access:
    """Resolve `proc.aname[2]`, `evt.arg.flags`, `fd.net`... or raise FieldError."""
    text = ref.text
    resolved = resolve_field(text)
    if resolved is None:
        raise FieldError(_unknown(ref))
    field, arg = resolved
    name = field.name
    if name.startswith(k8saudit.PREFIXES):
        return _k8s_audit_access(text, field, arg)
    if name in ("evt.arg", "evt.rawarg"):
        if ref.arg is not None:
            raise FieldError(f"{text}: arguments by position are not supported; use "
                             f"{name}.NAME (evt.arg.flags)")
        key = f"evt.arg.{arg}"
        return Access(text, field, f"g({key!r})", FieldType.STRING, "one", (key,), True)
    if name in DERIVED_FIELDS:
        keys = DERIVED_FIELDS[name]
        value_type = field.type
        if len(keys) == 1:
            return Access(text, field, f"g({keys[0]!r})", value_type, "one", keys)
        reads = ", ".join(f"g({k!r})" for k in keys)
        return Access(text, field, f"_rt.present({reads})", value_type, "any", keys)
    if name in _ANCESTOR_SELF:
        if arg is None:
            return Access(text, field, f"g({name!r})", field.type, "any", (name,))
        index = _index(ref, arg)
        if index == 0:
            own = _ANCESTOR_SELF[name]
            return Access(text, field, f"g({own!r})", field.type, "one", (own,))
        return Access(text, field, f"_rt.item(g({name!r}), {index - 1})", field.type, "one",
                      (name,))
    if name == "proc.args" and arg is not None:
        index = _index(ref, arg)
        return Access(text, field, f"_rt.argument(g('proc.args'), g('proc.exe'), {index})",
                      FieldType.STRING, "one", ("proc.args", "proc.exe"))
    if name == "proc.env":
        if arg is None:
            return Access(text, field, "_rt.joined(g('proc.env'))", FieldType.STRING, "one",
                          (name,))
        return Access(text, field, f"_rt.env_value(g('proc.env'), {arg!r})", FieldType.STRING,
                      "one", (name,))
    if name in ("container.label", "k8s.pod.label"):
        return Access(text, field, f"_rt.label(g({name!r}), {arg!r})", FieldType.STRING, "one",
                      (name,))
    if name in ("container.mount.dest", "container.mount.source"):
        function = "mount_dest" if name.endswith("dest") else "mount_source"
        constant = "_mount_" + re.sub(r"\W", lambda m: f"_{ord(m.group(0)):x}", arg or "")
        pattern = re.compile(glob_regex(arg or ""), re.DOTALL)
        return Access(text, field, f"_rt.{function}(g('container.mounts'), {constant})",
                      FieldType.STRING, "one", ("container.mounts",),
                      constants=((constant, pattern),))
    if field.type is FieldType.LIST:
        if arg is None:
            return Access(text, field, f"g({name!r})", FieldType.STRING, "list", (name,))
        return Access(text, field, f"_rt.item(g({name!r}), {_index(ref, arg)})",
                      FieldType.STRING, "one", (name,))
    if arg is not None:
        raise FieldError(f"{text}: {name} takes no argument")
    return Access(text, field, f"g({name!r})", field.type, "one", (name,))


def is_available(name: str, source: str) -> bool:
    """Whether rules of `source` may use field `name`, as Falco allows only the fields of a
    source's own extractors: a k8s_audit rule cannot test proc.name, nor a syscall rule ka.verb."""
    base = name.partition("[")[0]
    is_audit_field = base.startswith(k8saudit.PREFIXES)
    if source == "k8s_audit":
        return is_audit_field or base in _K8S_AUDIT_ALSO
    return not is_audit_field


def _k8s_audit_access(text: str, field: Field, arg: str | None) -> Access:
    """ka.*, jevt.*, json.*: a reader of the audit object, held as a constant of the generated
    code under a name only this reference text maps to."""
    try:
        read = k8saudit.reader(field.name, arg)
    except ValueError as err:
        raise FieldError(f"{text}: {err}") from None
    constant = "_ka_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group(0)):06x}", text)
    return Access(text, field, f"{constant}(g)", FieldType.STRING,
                  "list" if field.is_list else "one", (json_fields.OBJECT_KEY,),
                  constants=((constant, read),))


def _index(ref: FieldRef, arg: str) -> int:
    if not arg.isdigit():
        raise FieldError(f"{ref.text}: expected a number in brackets ({ref.name}[2])")
    return int(arg)


def _unknown(ref: FieldRef) -> str:
    base = FIELDS.get(ref.name)
    if base is not None and base.arg is FieldArg.REQUIRED and ref.arg is None:
        return f"field '{ref.name}' needs an argument in brackets ({ref.name}[...])"
    if base is not None and base.arg is FieldArg.NONE and ref.arg is not None:
        return f"field '{ref.name}' takes no argument, got {ref.text!r}"
    suggestion = suggest_field(ref.name)
    hint = f" (did you mean '{suggestion}'?)" if suggestion else ""
    return f"unknown field '{ref.text}'{hint}"
