"""Installed Python distributions, from their core metadata files wherever they lie in the image.

Wheels install `NAME-VERSION.dist-info/METADATA`; setuptools' eggs `NAME.egg-info/PKG-INFO`, or a
single file `NAME.egg-info` in the same format (as Debian's python3-* packages often ship).
packaging reads the metadata (core metadata spec, RFC 822 headers); names are normalised per
PEP 503 ("PyYAML" -> "pyyaml"), which is how PyPI advisories are matched.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

from packaging.metadata import parse_email
from packaging.utils import canonicalize_name

from runwatch.scan.image.base import Analysis, Package


class PythonAnalyzer:
    """Finds Python distributions (pip, wheels, eggs) by their metadata files."""

    name = "python"
    version = 1

    def required(self, path: str) -> bool:
        if path.endswith("/METADATA"):
            return posixpath.dirname(path).endswith(".dist-info")
        if path.endswith("/PKG-INFO"):
            return posixpath.dirname(path).endswith(".egg-info")
        return path.endswith(".egg-info")

    def analyze(self, files: Mapping[str, bytes]) -> Analysis:
        packages: list[Package] = []
        problems: list[str] = []
        for path in sorted(files):
            raw, _ = parse_email(files[path])
            name, version = raw.get("name"), raw.get("version")
            if not name or not version:
                problems.append(f"{path}: no {'Name' if not name else 'Version'} in the metadata")
                continue
            normalised = canonicalize_name(name)
            packages.append(Package(type="pypi", name=normalised, version=version,
                                    source_name=normalised, source_version=version, arch=None,
                                    path=path))
        return Analysis(packages=tuple(packages), problems=tuple(problems))
