"""The runwatch command line."""

from runwatch.cli.app import app, main

__all__ = ["app", "main"]
