"""`runwatch run`: monitor this host until interrupted."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from rich.console import Console

from runwatch import __version__
from runwatch.cli.logs import configure_logging
from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.config import Config
from runwatch.daemon import Daemon, Pipeline, build_pipeline
from runwatch.web.tokens import create_first_admin_token


def run(
    config_path: ConfigOption = None,
    rules: Annotated[list[Path] | None, typer.Option(
        "--rules", "-r", help="Falco rules file; repeat for several, loaded in order "
                              "(config: rules.files).", dir_okay=False)] = None,
    data_dir: DataDirOption = None,
    listen: Annotated[str | None, typer.Option(
        help="host:port of the HTTP server for /healthz and /metrics (config: listen).")] = None,
    json_output: Annotated[Path | None, typer.Option(
        "--json-output", help="Also append alerts as Falco JSON lines to this file "
                              "(config: outputs.file).", dir_okay=False)] = None,
    log_json: Annotated[bool | None, typer.Option(
        "--log-json/--log-text", help="Log as JSON lines or text (default: text on a terminal).",
        show_default=False)] = None,
) -> None:
    """Monitor this host: detect threats, print and store alerts, serve the dashboard and API.

    The very first start (no token was ever made) creates an admin token and prints it once.
    """
    overrides: dict[str, object] = {}
    if rules:
        overrides["rules.files"] = [str(path) for path in rules]
    if data_dir is not None:
        overrides["data_dir"] = str(data_dir)
    if listen is not None:
        overrides["listen"] = listen
    if json_output is not None:
        overrides["outputs.file.enabled"] = True
        overrides["outputs.file.path"] = str(json_output)
    config = read_config(config_path, overrides)
    configure_logging(config.log_level, log_json)
    pipeline = build_pipeline(config)
    _print_banner(config, pipeline, create_first_admin_token(pipeline.store.auth))
    asyncio.run(_run_daemon(config, pipeline))


async def _run_daemon(config: Config, pipeline: Pipeline) -> None:
    await Daemon(config, pipeline).run()


def _print_banner(config: Config, pipeline: Pipeline, first_token: str | None) -> None:
    """What runs, where, and what it cannot see, before the first alert; on the first start, the
    admin token (shown this once: the store keeps only its hash)."""
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    console.print(f"[bold]runwatch {__version__}[/bold] monitoring [bold]{config.resolved_hostname}"
                  f"[/bold]{'' if os.geteuid() == 0 else ' (not root)'}")
    for source in pipeline.sources:
        console.print(f"  source [cyan]{source.name}[/cyan]")
        for limitation in source.status.limitations:
            console.print(f"    [yellow]cannot see:[/yellow] {limitation}")
    if not pipeline.sources:
        console.print("  [red]no source is enabled: nothing will be seen[/red]")
    console.print(f"  detectors: {', '.join(d.name for d in pipeline.detectors) or 'none'}")
    console.print(f"  outputs: {', '.join(w.name for w in pipeline.outputs) or 'none'}")
    console.print(f"  store: {make_url(config.resolved_store_url).render_as_string(hide_password=True)}")
    console.print(f"  dashboard: http://{config.listen}/  api: http://{config.listen}/api  "
                  f"health: http://{config.listen}/healthz  metrics: http://{config.listen}/metrics")
    if first_token is not None:
        console.print(f"  [bold]first start: admin token (shown only now; sign in with it, make "
                      f"more with `runwatch token create`):[/bold]\n  {first_token}")
    console.print("  Ctrl-C stops (a second Ctrl-C forces)")
