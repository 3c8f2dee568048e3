"""`runwatch respond`: the response decisions taken on alerts, and undoing them."""

from __future__ import annotations

import os
from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from runwatch.alerts.model import format_time
from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.errors import RunwatchError
from runwatch.respond.actions import UNDOABLE
from runwatch.respond.base import ResponseStatus
from runwatch.respond.desk import ResponseDesk
from runwatch.sources.runtime.client import find_engine_socket
from runwatch.store.sql import open_store

respond_app = typer.Typer(no_args_is_help=True, help="Show and undo automated responses.")

_STATUS_STYLES = {ResponseStatus.DONE: "bold red", ResponseStatus.FAILED: "red",
                  ResponseStatus.DRY_RUN: "yellow", ResponseStatus.SKIPPED: "dim",
                  ResponseStatus.UNDONE: "green"}


@respond_app.command("list")
def list_responses(
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
    alert: Annotated[str | None, typer.Option(help="Only decisions about this alert id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List response decisions, newest first: done, dry run, skipped (and why), failed (and why)."""
    config = read_config(config_path, {} if data_dir is None else {"data_dir": str(data_dir)})
    store = open_store(config.resolved_store_url)
    try:
        found = store.list_responses(alert_id=alert, limit=limit)
    finally:
        store.close()
    if as_json:
        for record in found:
            typer.echo(msgspec.json.encode(record).decode())
        return
    table = Table("id", "time", "status", "action", "container", "policy", "reason", box=None,
                  show_edge=False)
    for record in found:
        style = _STATUS_STYLES[record.status]
        table.add_row(record.id, format_time(record.time_ns)[:23], f"[{style}]{record.status}[/{style}]",
                      record.action, record.container_name or record.container_id or "",
                      record.policy, record.reason)
    Console(highlight=False).print(table)


@respond_app.command()
def undo(
    response_id: Annotated[str, typer.Argument(help="The id shown by `runwatch respond list`.")],
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Undo a response: unpause, reconnect the networks of an isolated container, start a stopped one."""
    config = read_config(config_path, {} if data_dir is None else {"data_dir": str(data_dir)})
    store = open_store(config.resolved_store_url)
    desk = ResponseDesk(store, find_engine_socket(config.sources.runtime.socket, os.environ),
                        config.sources.runtime.timeout_s)
    try:
        record = desk.undo(response_id)
    finally:
        store.close()
    if record is None:
        raise RunwatchError(f"no response with id {response_id}")
    typer.echo(f"{UNDOABLE[record.action]} {record.container_name or record.container_id}")
