"""Version ordering per OSV ecosystem: dpkg's for Debian and Ubuntu, PEP 440 for PyPI.

OSV ranges are in each ecosystem's own order (osv-schema, "Evaluation"). dpkg's algorithm
(epoch, then upstream and revision compared in alternating non-digit and digit runs, '~' before
everything, letters before other characters) is python-debian's `Version`; PEP 440 is
packaging's. Alpine's apk order is a third algorithm, not implemented: apk packages are listed but
not matched, and the report says so.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

from debian.debian_support import Version as DpkgVersion
from packaging.version import InvalidVersion
from packaging.version import Version as Pep440Version


class OrderedVersion(Protocol):
    """A parsed version: ordered against versions of the same scheme."""

    def __lt__(self, other: Any, /) -> bool: ...
    def __le__(self, other: Any, /) -> bool: ...
    def __gt__(self, other: Any, /) -> bool: ...
    def __ge__(self, other: Any, /) -> bool: ...


class VersionError(ValueError):
    """A version string that its ecosystem's scheme cannot read."""


@lru_cache(maxsize=65536)
def parse_dpkg_version(text: str) -> OrderedVersion:
    """A Debian package version ("1:2.38.1-5+deb12u3"), ordered as `dpkg --compare-versions` does."""
    try:
        return DpkgVersion(text)
    except ValueError as err:
        raise VersionError(f"not a dpkg version: {text!r}") from err


@lru_cache(maxsize=65536)
def parse_pep440_version(text: str) -> OrderedVersion:
    """A Python distribution's version ("2.0.0rc1"), ordered per PEP 440."""
    try:
        return Pep440Version(text)
    except InvalidVersion as err:
        raise VersionError(f"not a PEP 440 version: {text!r}") from err


VERSION_SCHEMES: dict[str, Callable[[str], OrderedVersion]] = {
    "Debian": parse_dpkg_version,
    "Ubuntu": parse_dpkg_version,
    "PyPI": parse_pep440_version,
}
"""Ecosystem name (before any ':release') to the parser of its versions."""


def version_parser(ecosystem: str) -> Callable[[str], OrderedVersion] | None:
    """The parser for an OSV ecosystem ("Debian:12", "Ubuntu:22.04:LTS", "PyPI"), or None."""
    return VERSION_SCHEMES.get(ecosystem.partition(":")[0])
