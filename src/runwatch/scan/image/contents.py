"""Read the files analyzers need from an image, wherever it is: a rootfs directory, a saved archive,
or an OCI layout directory."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from runwatch.errors import ScanError
from runwatch.scan.image.archive import is_image_layout, read_saved_image
from runwatch.scan.image.layers import FileTree, image_path


@dataclass(frozen=True, slots=True)
class ImageContents:
    """An image's required files (absolute image path to bytes) and what is known of the image."""

    source: str  # the path read
    kind: str  # "rootfs", "docker-archive" or "oci-layout"
    id: str | None  # the image config's digest; None for a rootfs
    name: str | None  # a repository tag, if the archive names one
    architecture: str | None
    layers: int  # 0 for a rootfs
    files: Mapping[str, bytes]
    problems: tuple[str, ...]


def read_image_contents(source: Path, required: Callable[[str], bool]) -> ImageContents:
    """Read every file `required` accepts from the image at `source`; ScanError if it cannot be read."""
    if not source.exists():
        raise ScanError(f"{source}: no such file or directory")
    tree = FileTree(required)
    if source.is_dir() and not is_image_layout(source):
        _walk_rootfs(source, tree)
        return ImageContents(source=str(source), kind="rootfs", id=None, name=None, architecture=None,
                             layers=0, files=tree.files(), problems=tuple(tree.problems))
    saved = read_saved_image(source, tree)
    return ImageContents(source=str(source), kind=saved.kind, id=saved.id, name=saved.name,
                         architecture=saved.architecture, layers=saved.layers, files=tree.files(),
                         problems=tuple(tree.problems))


def _walk_rootfs(root: Path, tree: FileTree) -> None:
    """Walk a root file system without following links out of it (they are resolved in the image)."""
    pending = [str(root)]
    prefix = len(str(root))
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as err:
            tree.problems.append(f"{directory}: cannot be listed: {err.strerror}")
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
                continue
            path = image_path(entry.path[prefix:])
            if not tree.required(path):
                continue
            try:
                if entry.is_symlink():
                    tree.add_link(path, os.readlink(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    tree.add_file(path, Path(entry.path).read_bytes())
            except OSError as err:
                tree.problems.append(f"{entry.path}: cannot be read: {err.strerror}")
