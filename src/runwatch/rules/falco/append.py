"""Falco's `append_output`: extra text and fields added to the alerts of chosen rules.

Rulesets rarely name the container in their outputs (Falco 0.41 dropped `%container.info`), yet the
person reading an alert needs it. As in falco.yaml, each entry picks rules by source, tags (all of
them) and name, appends `extra_output` to the text with a space, and adds `extra_fields` (field
names, or `{name: constant}`) to the JSON alert's `output_fields` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from runwatch.config import AppendOutputConfig
from runwatch.errors import ConfigError
from runwatch.event import Event
from runwatch.rules.falco.fields import FieldError
from runwatch.rules.falco.output import OutputError, OutputTemplate, Reader, make_reader, parse_output
from runwatch.rules.falco.parser import FieldRef
from runwatch.rules.falco.ruleset import Rule


@dataclass(frozen=True, slots=True)
class AppendEntry:
    source: str
    tags: frozenset[str]
    rule: str
    extra_output: OutputTemplate | None
    extra_fields: tuple[tuple[str, Reader | str], ...]

    def applies_to(self, rule: Rule) -> bool:
        return (not self.source or rule.source == self.source) and self.tags <= set(rule.tags) \
            and (not self.rule or rule.name == self.rule)

    def add_to(self, output: str, fields: dict[str, object], event: Event) -> str:
        """The output with this entry's text appended; `fields` gains its fields."""
        for name, value in self.extra_fields:
            fields[name] = value if isinstance(value, str) else value(event)
        if self.extra_output is None:
            return output
        text, values = self.extra_output.render(event)
        fields.update(values)
        return f"{output} {text}" if output else text


def compile_append_output(entries: Sequence[AppendOutputConfig]) -> tuple[AppendEntry, ...]:
    """Check and compile the config's entries; an unknown field is a ConfigError naming where."""
    compiled = []
    for index, entry in enumerate(entries):
        where = f"rules.append_output[{index}]"
        try:
            template = parse_output(entry.extra_output) if entry.extra_output.strip() else None
        except OutputError as err:
            raise ConfigError(f"{where}.extra_output: {err.message}") from err
        extra: list[tuple[str, Reader | str]] = []
        for item in entry.extra_fields:
            if isinstance(item, dict):
                extra.extend((str(name), str(value)) for name, value in item.items())
                continue
            name, _, arg = item.partition("[")
            try:
                extra.append((item, make_reader(FieldRef(name, arg[:-1] if arg else None, 0))))
            except FieldError as err:
                raise ConfigError(f"{where}.extra_fields: {err}") from err
        compiled.append(AppendEntry(entry.match.source, frozenset(entry.match.tags), entry.match.rule,
                                    template, tuple(extra)))
    return tuple(compiled)
