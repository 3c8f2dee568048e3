"""The distribution an image is built on, from os-release(5): /etc/os-release, else /usr/lib/os-release.

The format: one `KEY=value` a line, '#' comments, values quoted and escaped as in the shell
(`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`); shlex reads them as a POSIX shell would.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from runwatch.scan.image.base import Analysis, OSRelease

_PATHS = ("/etc/os-release", "/usr/lib/os-release")  # in os-release(5)'s order of precedence


def parse_os_release(text: str, where: str = "os-release") -> tuple[dict[str, str], list[str]]:
    """The file's variables, and a problem for each line that is not `KEY=value`."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        if not sep or not key.isidentifier():
            problems.append(f"{where}:{number}: expected KEY=value, got {line[:60]!r}")
            continue
        try:
            values[key] = " ".join(shlex.split(raw, comments=False, posix=True))
        except ValueError as err:  # an unclosed quote
            problems.append(f"{where}:{number}: {key}: {err}")
    return values, problems


class OSReleaseAnalyzer:
    """Finds the image's distribution (ID, VERSION_ID, VERSION_CODENAME)."""

    name = "os-release"
    version = 1

    def required(self, path: str) -> bool:
        return path in _PATHS

    def analyze(self, files: Mapping[str, bytes]) -> Analysis:
        for path in _PATHS:
            if path in files:
                values, problems = parse_os_release(files[path].decode("utf-8", "replace"), path)
                if "ID" not in values:
                    return Analysis(problems=(*problems, f"{path}: no ID"))
                return Analysis(os=OSRelease(
                    id=values["ID"], version_id=values.get("VERSION_ID"),
                    version_codename=values.get("VERSION_CODENAME"), version=values.get("VERSION"),
                    pretty_name=values.get("PRETTY_NAME")), problems=tuple(problems))
        return Analysis()
