"""Every error runwatch raises on purpose, so callers catch one family and the CLI prints one line.

    RunwatchError
     ├── ConfigError     a config file, environment variable or flag is wrong
     ├── RuleError       a rules file cannot be read or compiled
     ├── SourceError     a source cannot start (not root, binary missing, no BTF)
     ├── OutputError     an output cannot be built (bad path, bad URL)
     ├── StoreError      the store cannot be opened or queried
     ├── ProfileError    a profile, mode, item or export asked for does not exist
     └── ScanError       an image or SBOM cannot be scanned
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where in an input file something was found; printed as `path:line: item`."""

    path: str
    line: int | None = None
    item: str | None = None

    def __str__(self) -> str:
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        return text if self.item is None else f"{text}: {self.item}"


class RunwatchError(Exception):
    """Base of every error runwatch raises about its input or environment."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class ConfigError(RunwatchError):
    """A configuration value is unknown, of the wrong type or out of range."""


class RuleError(RunwatchError):
    """A rules file is malformed or refers to something that does not exist."""


class SourceError(RunwatchError):
    """A source cannot start or has stopped for a reason the user must fix."""


class OutputError(RunwatchError):
    """An output cannot be built from its configuration."""


class StoreError(RunwatchError):
    """The store cannot be opened, written or queried."""


class ProfileError(RunwatchError):
    """A behaviour profile request names an unknown workload, mode, item kind or export format."""


class ScanError(RunwatchError):
    """An image, archive or SBOM cannot be read."""
