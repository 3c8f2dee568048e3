"""Run analyzers over an image: read the files they ask for once, give each its own, merge results."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runwatch.scan.image.base import Analyzer, OSRelease, Package
from runwatch.scan.image.contents import ImageContents, read_image_contents


@dataclass(frozen=True, slots=True)
class ImageAnalysis:
    """An image's OS and packages, and the problems met reading them (`path: what is wrong`)."""

    contents: ImageContents
    os: OSRelease | None
    packages: tuple[Package, ...]
    problems: tuple[str, ...]


def analyze_image(source: Path, analyzers: Mapping[str, Analyzer]) -> ImageAnalysis:
    """Read the image at `source` (rootfs, archive or OCI layout) and run every analyzer on it."""
    chosen = tuple(analyzers.values())
    contents = read_image_contents(source, lambda path: any(a.required(path) for a in chosen))
    problems = list(contents.problems)
    os_release: OSRelease | None = None
    packages: list[Package] = []
    owned: set[str] = set()
    for analyzer in chosen:
        files = {path: data for path, data in contents.files.items() if analyzer.required(path)}
        result = analyzer.analyze(files)
        os_release = os_release or result.os
        packages.extend(result.packages)
        owned.update(result.owned_files)
        problems.extend(result.problems)
    # A Python distribution an OS package installed is that package's: its advisories are the
    # distribution's (which backports fixes), not PyPI's.
    kept = [p for p in packages if p.type != "pypi" or p.path not in owned]
    return ImageAnalysis(contents=contents, os=os_release, packages=tuple(kept),
                         problems=tuple(problems))
