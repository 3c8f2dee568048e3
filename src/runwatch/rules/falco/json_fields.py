"""The json plugin's fields (`jevt.*`, `json.*`) of Kubernetes audit events, and the JSON
walking the k8saudit plugin's fields share: both plugins read the event with fastjson, whose
ways (an array indexed by a decimal key, non-strings as compact JSON) Falco's rules rely on
(falcosecurity/plugins: plugins/json/pkg/json/json.go of json 0.7.4).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

Getter = Callable[[str], object]
"""An event's `get`."""
Reader = Callable[[Getter], object]
"""Reads one field (with its argument) from an event's getter."""
Value = object
"""A parsed JSON value, or MISSING."""

OBJECT_KEY = "k8s_audit.object"
"""The event key holding the parsed audit object (a dict)."""


class Missing:
    """A key that is not there (Go's nil *fastjson.Value), unlike JSON null (Python None)."""


MISSING = Missing()


class Absent(Exception):
    """The plugins' ErrExtractNotAvailable / ErrExtractWrongType: the field has no value."""


class ObjectReader:
    """Reads one field from an event's audit object, remembering its answer for the last object:
    an event's rules read the same fields again and again (most start with jevt.value[/stage]);
    audit objects are not changed once decoded. `ka.*` fields need an object with an `auditID`,
    as the k8saudit plugin has it."""

    __slots__ = ("_extract", "_needs_audit_id", "_last")

    def __init__(self, extract: Callable[[dict[str, Value]], object], needs_audit_id: bool) -> None:
        self._extract = extract
        self._needs_audit_id = needs_audit_id
        self._last: tuple[object, object] = (MISSING, None)

    def __call__(self, g: Getter) -> object:
        obj = g(OBJECT_KEY)
        last = self._last
        if last[0] is obj:  # the reference held in _last keeps obj's id from being reused
            return last[1]
        value = None
        if isinstance(obj, dict) and (not self._needs_audit_id or "auditID" in obj):
            try:
                value = self._extract(obj)
            except Absent:
                value = None
        self._last = (obj, value)  # one assignment: a reader shared by threads stays coherent
        return value

JSON_FIELDS = frozenset({"jevt.value", "jevt.obj", "jevt.rawtime",
                          "json.value", "json.obj", "json.rawtime"})


def json_reader(name: str, arg: str | None) -> Reader:
    """The reader of jevt.value[/pointer], jevt.obj, jevt.rawtime (and json.*, the same);
    ValueError when the argument is missing or not taken."""
    kind = name.partition(".")[2]
    if kind != "value" and arg is not None:
        raise ValueError(f"{name} takes no argument")
    if kind == "obj":
        return ObjectReader(lambda obj: json.dumps(obj, indent=2, ensure_ascii=False), False)
    if kind == "rawtime":
        return _rawtime
    if arg is None:
        raise ValueError(f"{name} needs a JSON pointer in brackets ({name}[/stage])")
    keys = _pointer(arg)
    return ObjectReader(lambda obj: _pointed(obj, keys), False)


def _rawtime(g: Getter) -> str | None:
    """The event's time in ns as a decimal string (the json plugin's field is a string)."""
    when = g("evt.time")
    if not isinstance(g(OBJECT_KEY), dict) or not isinstance(when, int) or isinstance(when, bool):
        return None
    return str(when)


def _pointer(pointer: str) -> tuple[str, ...]:
    """RFC 6901 as the json plugin reads it: one leading '/' dropped, `~1` -> '/', `~0` -> '~'."""
    body = pointer[1:] if pointer.startswith("/") else pointer
    return tuple(part.replace("~1", "/").replace("~0", "~") for part in body.split("/"))


def _pointed(obj: Value, keys: tuple[str, ...]) -> str | None:
    value = obj
    for key in keys:
        value = child_of(value, key)
        if value is MISSING:
            return None
    return text(value)


def child_of(value: Value, key: str) -> Value:
    """fastjson's Get(key): an object's member, or an array's item when key is a number."""
    if isinstance(value, dict):
        return value.get(key, MISSING)
    if isinstance(value, list) and re.fullmatch(r"[+-]?[0-9]+", key):
        index = int(key)
        return value[index] if 0 <= index < len(value) else MISSING
    return MISSING


def text(value: Value) -> str:
    """jsonValueAsString: a JSON string as is, any other value as its compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def get(obj: Value, *keys: str) -> Value:
    """fastjson's Get(keys...): follow keys, MISSING as soon as one is not there."""
    for key in keys:
        obj = child_of(obj, key)
        if obj is MISSING:
            break
    return obj
