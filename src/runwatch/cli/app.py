"""The `runwatch` command: one Typer app, its global options, and error handling.

Only this package prints to the terminal; a RunwatchError becomes one line on stderr and exit 1
(with the traceback under --debug).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console

from runwatch import __version__
from runwatch.cli.alerts import alerts
from runwatch.cli.config import config_app
from runwatch.cli.containers import containers
from runwatch.cli.fields import fields
from runwatch.cli.profile import profile_app
from runwatch.cli.respond import respond_app
from runwatch.cli.rules import rules_app
from runwatch.cli.run import run
from runwatch.cli.scan import scan_app
from runwatch.cli.token import token_app
from runwatch.errors import RunwatchError

err_console = Console(stderr=True, highlight=False)

app = typer.Typer(name="runwatch", no_args_is_help=True, add_completion=False,
                  rich_markup_mode="rich",
                  help="Continuous security monitoring for containers.")
app.command()(run)
app.command()(alerts)
app.command()(fields)
app.command()(containers)
app.add_typer(config_app, name="config")
app.add_typer(rules_app, name="rules")
app.add_typer(respond_app, name="respond")
app.add_typer(profile_app, name="profile")
app.add_typer(token_app, name="token")
app.add_typer(scan_app, name="scan")

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runwatch {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """Continuous security monitoring for containers."""
    _state["debug"] = debug


def main() -> None:
    """Entry point of the console script."""
    try:
        exit_code = app(standalone_mode=False)  # a command's typer.Exit(code) comes back as its code
        if isinstance(exit_code, int) and exit_code:
            sys.exit(exit_code)
    except RunwatchError as err:
        if _state["debug"]:
            logging.getLogger(__name__).exception("runwatch failed")
        err_console.print(f"[bold red]error:[/bold red] {err}", markup=True, highlight=False)
        sys.exit(1)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except typer.TyperException as err:  # typer's usage errors (a bad option value) land here too
        show = getattr(err, "show", None)
        if callable(show):
            show()
        else:
            err_console.print(f"[bold red]error:[/bold red] {err.format_message()}", markup=True)
        sys.exit(err.exit_code)
    except Exception as err:  # click's usage errors arrive here in non-standalone mode
        from click import ClickException
        if isinstance(err, ClickException):
            err.show()
            sys.exit(err.exit_code)
        raise
