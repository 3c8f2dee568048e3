"""What an image holds, as analyzers report it: the OS release, packages, and the seam analyzers fill.

As in trivy's fanal: an analyzer names the files it needs (`required`), gets only those, and
returns what it found (`analyze`); matching packages to advisories is another module's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

PackageType = Literal["deb", "apk", "pypi"]
"""The package URL type (https://github.com/package-url/purl-spec) of each kind of package."""


@dataclass(frozen=True, slots=True)
class OSRelease:
    """The distribution an image is built on, from /etc/os-release (os-release(5))."""

    id: str  # "debian", "ubuntu", "alpine"
    version_id: str | None  # "12", "22.04", "3.19.1"; absent on Debian testing and sid
    version_codename: str | None = None  # "bookworm"
    version: str | None = None  # "22.04.3 LTS (Jammy Jellyfish)": Ubuntu's LTS marker lives here
    pretty_name: str | None = None


@dataclass(frozen=True, slots=True)
class Package:
    """One installed package. OS packages name their source package, which advisories use."""

    type: PackageType
    name: str  # binary package name; a PyPI name normalised per PEP 503
    version: str
    source_name: str  # source package for deb and apk (its "origin"); the name itself for pypi
    source_version: str  # the source's version (no binNMU "+b1"); the version itself for pypi
    arch: str | None
    path: str  # the file it was read from: /var/lib/dpkg/status, a METADATA file


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one analyzer found; `problems` name what it could not read (`path: what is wrong`)."""

    os: OSRelease | None = None
    packages: tuple[Package, ...] = ()
    owned_files: frozenset[str] = frozenset()  # files OS packages installed (from dpkg md5sums)
    problems: tuple[str, ...] = field(default=())


class Analyzer(Protocol):
    """Finds one kind of thing in an image's files. `version` changes when its output would."""

    name: str
    version: int

    def required(self, path: str) -> bool:
        """Whether the absolute path `path` ("/var/lib/dpkg/status") is a file this analyzer reads."""
        ...

    def analyze(self, files: Mapping[str, bytes]) -> Analysis:
        """Read the required files present in the image (absolute path to contents)."""
        ...
