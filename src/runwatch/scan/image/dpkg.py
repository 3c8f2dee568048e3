"""Debian packages (Debian, Ubuntu and their derivatives) from dpkg's database.

/var/lib/dpkg/status holds one deb822 stanza per package (dpkg's lib/dpkg/parse.c; deb-control(5));
distroless images keep one stanza per file in /var/lib/dpkg/status.d/. A package counts when
its Status is `<want> ok installed` (want `install` or `hold`: a held package is installed too);
half-installed, config-files and deinstalled ones do not. As dpkg-query's ${source:Package} and
${source:Version} do (lib/dpkg/pkg-format.c), a missing Source is the package itself, and a
Source without "(version)" has the package's own version: "Source: glibc (2.36-9+deb12u4)".
The *.md5sums files list what each package installed, so a Python package dpkg installed is
not mistaken for one pip installed (as trivy does).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from debian.deb822 import Deb822

from runwatch.scan.image.base import Analysis, Package

_STATUS = "/var/lib/dpkg/status"
_STATUS_DIR = "/var/lib/dpkg/status.d"
_INFO_DIR = "/var/lib/dpkg/info"
_FIELDS = ["Package", "Status", "Version", "Source", "Architecture"]
_SOURCE = re.compile(r"^\s*(?P<name>\S+)(?:\s*\((?P<version>[^)]+)\))?\s*$")


class DpkgAnalyzer:
    """Finds installed Debian packages with their source package and version."""

    name = "dpkg"
    version = 1

    def required(self, path: str) -> bool:
        if path == _STATUS:
            return True
        directory = posixpath.dirname(path)
        if directory == _STATUS_DIR:
            return True
        return directory == _INFO_DIR and path.endswith(".md5sums")

    def analyze(self, files: Mapping[str, bytes]) -> Analysis:
        packages: list[Package] = []
        problems: list[str] = []
        owned: set[str] = set()
        for path in sorted(files):
            if path.endswith(".md5sums"):
                owned.update(_md5sums_paths(files[path]))
            elif path == _STATUS or posixpath.dirname(path) == _STATUS_DIR:
                found, bad = parse_dpkg_status(files[path], path)
                packages.extend(found)
                problems.extend(bad)
        return Analysis(packages=tuple(packages), owned_files=frozenset(owned), problems=tuple(problems))


def parse_dpkg_status(data: bytes, path: str) -> tuple[list[Package], list[str]]:
    """The installed packages in one status file, and a problem for each stanza that cannot be used."""
    packages: list[Package] = []
    problems: list[str] = []
    for stanza in Deb822.iter_paragraphs(data.splitlines(keepends=True), fields=_FIELDS,
                                         use_apt_pkg=False, encoding="utf-8"):
        name, status, version = stanza.get("Package"), stanza.get("Status", ""), stanza.get("Version")
        want, _, state = (status.split() + ["", "", ""])[:3]
        if state != "installed" or want not in ("install", "hold"):
            continue
        if not name or not version:
            problems.append(f"{path}: package {name or '?'}: installed without a "
                            f"{'Version' if name else 'Package'} field")
            continue
        source_name, source_version = name, version
        if source := stanza.get("Source"):
            match = _SOURCE.match(source)
            if match is None:
                problems.append(f"{path}: package {name}: unreadable Source field {source!r}")
            else:
                source_name = match["name"]
                source_version = match["version"] or version
        packages.append(Package(type="deb", name=name, version=version, source_name=source_name,
                                source_version=source_version, arch=stanza.get("Architecture"),
                                path=path))
    return packages, problems


def _md5sums_paths(data: bytes) -> list[str]:
    # "<md5>  <path without leading slash>" per line (deb-md5sums(5)).
    paths = []
    for line in data.decode("utf-8", "replace").splitlines():
        _, sep, path = line.partition("  ")
        if sep:
            paths.append("/" + path)
    return paths
