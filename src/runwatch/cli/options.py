"""Options shared by several commands, declared once."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from runwatch.config import Config, find_config_path, load_config

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", "-c", help="Config file (default: $RUNWATCH_CONFIG, ./runwatch.yaml, "
                           "/etc/runwatch/runwatch.yaml).", dir_okay=False)]
DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="Directory of the store and state (config: data_dir).", file_okay=False)]


def read_config(config_path: Path | None, overrides: dict[str, object] | None = None) -> Config:
    """The config from the file, environment and flag overrides."""
    return load_config(find_config_path(config_path, os.environ), os.environ, overrides)
