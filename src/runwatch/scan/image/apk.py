"""Alpine packages from apk's database, /lib/apk/db/installed.

The format (Alpine wiki, "Apk spec", Installed database): one record per package, records split
by a blank line, one `X:value` a line: P name, V version, A architecture, o origin (the source
package, which Alpine's advisories name). Every package there is installed.
"""

from __future__ import annotations

from collections.abc import Mapping

from runwatch.scan.image.base import Analysis, Package

_INSTALLED = "/lib/apk/db/installed"


class ApkAnalyzer:
    """Finds installed Alpine packages and their origin (source) package."""

    name = "apk"
    version = 1

    def required(self, path: str) -> bool:
        return path == _INSTALLED

    def analyze(self, files: Mapping[str, bytes]) -> Analysis:
        if _INSTALLED not in files:
            return Analysis()
        packages: list[Package] = []
        problems: list[str] = []
        text = files[_INSTALLED].decode("utf-8", "replace")
        for number, record in enumerate(text.split("\n\n"), start=1):
            fields: dict[str, str] = {}
            for line in record.splitlines():
                key, sep, value = line.partition(":")
                if sep and len(key) == 1 and key not in fields:
                    fields[key] = value
            if not fields:
                continue
            name, version = fields.get("P"), fields.get("V")
            if not name or not version:
                problems.append(f"{_INSTALLED}: record {number}: no {'P' if not name else 'V'} line")
                continue
            packages.append(Package(type="apk", name=name, version=version,
                                    source_name=fields.get("o") or name, source_version=version,
                                    arch=fields.get("A"), path=_INSTALLED))
        return Analysis(packages=tuple(packages), problems=tuple(problems))
