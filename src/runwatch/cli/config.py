"""`runwatch config`: print the documented defaults, or check a config file."""

from __future__ import annotations

import typer

from runwatch.cli.options import ConfigOption, read_config
from runwatch.config import default_config_text

config_app = typer.Typer(no_args_is_help=True, help="Show or check the configuration.")


@config_app.command()
def defaults() -> None:
    """Print every config key with its default and what it does."""
    typer.echo(default_config_text(), nl=False)


@config_app.command()
def check(config_path: ConfigOption = None) -> None:
    """Check the config (file, environment) and print the effective values as YAML."""
    import msgspec
    import yaml

    config = read_config(config_path)
    typer.echo(yaml.safe_dump(msgspec.to_builtins(config), sort_keys=False), nl=False)
