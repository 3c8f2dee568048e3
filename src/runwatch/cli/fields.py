"""`runwatch fields`: the fields events carry, for rule and output authors."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from runwatch.event import FIELDS, FieldArg


def fields(
    prefix: Annotated[str | None, typer.Argument(help="Only fields starting with this: proc., fd.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List every event field with its type and meaning (Falco's names)."""
    chosen = [f for f in FIELDS.values() if prefix is None or f.name.startswith(prefix)]
    if as_json:
        typer.echo(orjson.dumps([{"name": f.name, "type": f.type.value, "arg": f.arg.value,
                                  "description": f.description} for f in chosen]).decode())
        return
    table = Table("field", "type", "description", box=None, show_edge=False)
    for field in chosen:
        suffix = {FieldArg.NONE: "", FieldArg.OPTIONAL: "[N]?", FieldArg.REQUIRED: "[X]"}[field.arg]
        table.add_row(field.name + suffix, field.type.value, field.description)
    Console(highlight=False).print(table)
