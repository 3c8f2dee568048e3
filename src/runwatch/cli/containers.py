"""`runwatch containers`: what runs (and ran), with how many alerts each raised."""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.store.sql import open_store


def containers(
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
    show_all: Annotated[bool, typer.Option("--all", "-a", help="Also containers that are gone.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List containers seen by the engine source, with their alert counts."""
    config = read_config(config_path, {} if data_dir is None else {"data_dir": str(data_dir)})
    store = open_store(config.resolved_store_url)
    try:
        found = store.list_containers()
    finally:
        store.close()
    if not show_all:
        found = [c for c in found if c.record.state in ("running", "paused", "created", "restarting")]
    if as_json:
        for item in found:
            typer.echo(orjson.dumps({"id": item.record.id, "name": item.record.name,
                                     "image": item.record.image, "state": item.record.state,
                                     "labels": item.record.labels, "alerts": item.alert_count,
                                     "last_seen_ns": item.last_seen_ns}).decode())
        return
    table = Table("id", "name", "image", "state", "alerts", "last seen", box=None, show_edge=False)
    now = time.time_ns()
    for item in found:
        record = item.record
        alerts = f"[bold red]{item.alert_count}[/bold red]" if item.alert_count else "0"
        table.add_row(record.id, record.name, record.image, record.state, alerts,
                      f"{(now - item.last_seen_ns) / 1e9:.0f}s ago")
    Console(highlight=False).print(table)
