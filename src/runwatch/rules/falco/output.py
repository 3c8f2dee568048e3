"""Output templates: `%field` and `%field[arg]` rendered from an event, apart from matching.

As Falco's formatter: an absent field prints `<NA>` in the text and is `null` among the JSON
alert's `output_fields`, which keep each value's type (numbers stay numbers).
`%container.info` (kept in old rulesets) renders as nothing, as Falco 0.41 does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from runwatch.event import Event
from runwatch.rules.falco import runtime
from runwatch.rules.falco.fields import FieldError, resolve_access
from runwatch.rules.falco.parser import FieldRef

Reader = Callable[[Event], object]

_TOKEN = re.compile(r"%([A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)(\[[^\]\s]*\])?")
_LEGACY_EMPTY = {"container.info"}


class OutputError(Exception):
    """An output template names a field that does not exist; `position` is its offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class OutputTemplate:
    """A parsed template: literal text and field readers, in order."""

    text: str
    parts: tuple[str | tuple[str, Reader], ...]
    fields: tuple[str, ...]

    def render(self, event: Event) -> tuple[str, dict[str, object]]:
        """The alert text and its typed `output_fields`."""
        out: list[str] = []
        values: dict[str, object] = {}
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            name, read = part
            value = read(event)
            values[name] = _json_value(value)
            out.append(format_value(value))
        return "".join(out), values


def format_value(value: object) -> str:
    """A value as Falco prints it in text: `<NA>` when absent, booleans lower-case."""
    if value is None:
        return "<NA>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, runtime.FieldList):
        return "(" + ",".join(value) + ")"
    if isinstance(value, (list, tuple)):
        return ",".join(format_value(v) for v in value)
    return str(value)


def _json_value(value: object) -> object:
    if isinstance(value, (tuple, runtime.FieldList)):
        return list(value)
    return value


def make_reader(ref: FieldRef) -> Reader:
    """A function reading one field reference from an event (the same code rules use)."""
    access = resolve_access(ref)
    namespace: dict[str, object] = {"_rt": runtime, **dict(access.constants)}
    function: Reader = eval(f"lambda e: (lambda g: {access.code})(e.get)", namespace)  # noqa: S307
    return function


def parse_output(text: str) -> OutputTemplate:
    """Parse a template; raises OutputError naming the first unknown field."""
    parts: list[str | tuple[str, Reader]] = []
    fields: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() < position:
            continue
        parts.append(text[position:match.start()])
        name, arg = match.group(1), match.group(2)
        reader, used = _resolve_token(name, arg, match.start())
        if reader is None:
            position = match.end()
            continue
        parts.append((used, reader))
        fields.append(used)
        consumed = match.start() + 1 + len(used)
        position = consumed
    parts.append(text[position:])
    return OutputTemplate(text, tuple(p for p in parts if p != ""), tuple(fields))


def _resolve_token(name: str, arg: str | None, position: int) -> tuple[Reader | None, str]:
    """The longest known field at this `%`: in `%user.name.` the field is user.name."""
    if name in _LEGACY_EMPTY and arg is None:
        return None, ""
    first_error: FieldError | None = None
    candidate, candidate_arg = name, (arg[1:-1] if arg else None)
    while "." in candidate:
        ref = FieldRef(candidate, candidate_arg, position)
        try:
            return make_reader(ref), ref.text
        except FieldError as err:
            first_error = first_error or err
        candidate, candidate_arg = candidate.rpartition(".")[0], None
    raise OutputError(f"output: {first_error}", position)
