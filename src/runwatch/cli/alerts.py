"""`runwatch alerts`: list stored alerts, newest first."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from runwatch.alerts.model import Priority, format_time
from runwatch.alerts.outputs.stdout import PRIORITY_STYLES
from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.errors import ConfigError
from runwatch.store.base import AlertQuery
from runwatch.store.sql import open_store

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now_ns: int | None = None) -> int:
    """'15m', '2h', '7d' before now, or an ISO 8601 time, as ns since the epoch."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    match = _DURATION.match(text.strip())
    if match:
        return now_ns - int(float(match.group(1)) * _UNIT_S[match.group(2)] * 1e9)
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1e9)
    except ValueError:
        raise ConfigError(f"--since: expected a duration such as 15m, 2h, 7d or an ISO time, "
                          f"got {text!r}") from None


def alerts(
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
    since: Annotated[str | None, typer.Option(help="Only alerts newer than this: 15m, 2h, 7d, "
                                                   "or an ISO time.")] = None,
    priority: Annotated[str | None, typer.Option(help="Only alerts at least this severe: "
                                                      "critical, warning, notice, ...")] = None,
    rule: Annotated[str | None, typer.Option(help="Only alerts of this rule (exact name).")] = None,
    container: Annotated[str | None, typer.Option(help="Only alerts of this container id.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many alerts.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Falco JSON lines instead of a table.")] = False,
) -> None:
    """List stored alerts, newest first, filtered by time, priority, rule or container."""
    overrides: dict[str, object] = {} if data_dir is None else {"data_dir": str(data_dir)}
    config = read_config(config_path, overrides)
    try:
        min_priority = Priority.parse(priority) if priority else None
    except ValueError as err:
        raise ConfigError(f"--priority: {err}") from None
    query = AlertQuery(since_ns=parse_since(since) if since else None, min_priority=min_priority,
                       rule=rule, container_id=container, limit=limit)
    store = open_store(config.resolved_store_url)
    try:
        found = store.list_alerts(query)
    finally:
        store.close()
    console = Console(highlight=False)
    if as_json:
        for alert in found:
            typer.echo(orjson.dumps(alert.to_falco_json()).decode())
        return
    table = Table("time", "priority", "rule", "container", "output", box=None, show_edge=False)
    for alert in found:
        style = PRIORITY_STYLES[alert.priority]
        table.add_row(format_time(alert.time_ns)[:23], f"[{style}]{alert.priority.label}[/{style}]",
                      alert.rule, alert.container_id or "", alert.output)
    console.print(table)
    console.print(f"[dim]{len(found)} alert(s)[/dim]")
