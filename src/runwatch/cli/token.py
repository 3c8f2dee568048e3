"""`runwatch token`: make, list and revoke the API and dashboard tokens.

`create` prints only the token, so `TOKEN=$(runwatch token create --role viewer)` works; the
store keeps its SHA-256, so it can never be shown again.
"""

from __future__ import annotations

import time
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from runwatch.alerts.model import format_time
from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.errors import RunwatchError
from runwatch.store.sql import SqlStore, open_store
from runwatch.web.tokens import Role, create_token

token_app = typer.Typer(no_args_is_help=True, help="Make, list and revoke API and dashboard tokens.")


def _open(config_path: ConfigOption, data_dir: DataDirOption) -> SqlStore:
    config = read_config(config_path, {} if data_dir is None else {"data_dir": str(data_dir)})
    return open_store(config.resolved_store_url)


@token_app.command()
def create(
    role: Annotated[Role, typer.Option(help="viewer reads; admin also acknowledges alerts, "
                                            "switches rules and undoes responses; ingest only sends "
                                            "events (the Kubernetes audit webhook).")],
    name: Annotated[str, typer.Option(help="Who or what holds it; shown in `token list` and in "
                                           "the activity of alerts it changes.")] = "",
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Make a token and print it: the only time it is shown."""
    if len(name) > 128:
        raise RunwatchError(f"--name: at most 128 characters, got {len(name)}")
    store = _open(config_path, data_dir)
    try:
        token, _ = create_token(store.auth, role, name.strip() or f"{role} token")
    finally:
        store.close()
    typer.echo(token)


@token_app.command("list")
def list_tokens(
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List tokens (never their secrets): id, name, role, when made, last used, revoked."""
    store = _open(config_path, data_dir)
    try:
        records = store.auth.list_tokens()
    finally:
        store.close()
    if as_json:
        for record in records:
            typer.echo(orjson.dumps({
                "id": record.id, "name": record.name, "role": record.role,
                "created_ns": record.created_ns, "last_used_ns": record.last_used_ns,
                "revoked_ns": record.revoked_ns}).decode())
        return
    table = Table("id", "name", "role", "created", "last used", "state", box=None, show_edge=False)
    for record in records:
        state = "[dim]revoked[/dim]" if record.revoked_ns else "[green]active[/green]"
        table.add_row(record.id, escape(record.name), record.role, format_time(record.created_ns)[:19],
                      format_time(record.last_used_ns)[:19] if record.last_used_ns else "never", state)
    Console(highlight=False).print(table)


@token_app.command()
def revoke(
    token_id: Annotated[str, typer.Argument(help="The id shown by `runwatch token list` (the 8 "
                                                 "hex digits after rwt_).")],
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Revoke a token: it and the dashboard sessions it opened stop working at once."""
    store = _open(config_path, data_dir)
    try:
        record = store.auth.revoke_token(token_id.strip(), time.time_ns())
    finally:
        store.close()
    if record is None:
        raise RunwatchError(f"no token with id {token_id!r} (see `runwatch token list`)")
    typer.echo(f"revoked {record.id} ({record.name})")
