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

JSON_FIELDS = frozenset({"jevt.value", "jevt.obj", "jevt.rawtime",
                          "json.value", "json.obj", "json.rawtime"})


def json_reader(name: str, arg: str | None) -> Reader:
    """The reader of jevt.value[/pointer], jevt.obj, jevt.rawtime (and json.*, the same);
    ValueError when the argument is missing or not taken."""
    kind = name.partition(".")[2]
    if kind != "value" and arg is not None:
        raise ValueError(f"{name} takes no argument")
    if kind == "obj":
        return lambda g: _with_object(g, lambda obj: json.dumps(obj, indent=2,
                                                                 ensure_ascii=False))
    if kind == "rawtime":
        return lambda g: _with_object(g, lambda obj: _rawtime(g))
    if arg is None:
        raise ValueError(f"{name} needs a JSON pointer in brackets ({name}[/stage])")
    keys = _pointer(arg)
    return lambda g: _with_object(g, lambda obj: _pointed(obj, keys))


def _with_object(g: Getter, extract: Callable[[dict[str, Value]], object]) -> object:
    obj = g(OBJECT_KEY)
    return extract(obj) if isinstance(obj, dict) else None


def _rawtime(g: Getter) -> str | None:
    """The event's time in ns as a decimal string: the json plugin returns a string field."""
    when = g("evt.time")
    return str(when) if isinstance(when, int) and not isinstance(when, bool) else None


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
