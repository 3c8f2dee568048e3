"""Selecting containers by name and image globs and exact labels, for thresholds and response policies."""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase


def container_matches(name_glob: str, image_glob: str, labels: Mapping[str, str],
                      name: str | None, image: str | None, actual_labels: Mapping[str, str]) -> bool:
    """True when the name and image match their globs and every wanted label has its value.

    A glob of '*' matches anything, even an unknown name or image; any other glob needs a value.
    """
    if name_glob != "*" and (name is None or not fnmatchcase(name, name_glob)):
        return False
    if image_glob != "*" and (image is None or not fnmatchcase(image, image_glob)):
        return False
    return all(actual_labels.get(key) == value for key, value in labels.items())
