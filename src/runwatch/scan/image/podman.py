"""An image in podman's store, saved to an archive the scanner reads (`podman save`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from runwatch.errors import ScanError

_TIMEOUT_S = 600.0  # saving a multi-gigabyte image takes minutes


def save_image(name: str, directory: Path) -> Path:
    """Save the image `name` (a name, tag or id) as a docker-archive in `directory`; its path.

    docker-archive rather than oci-archive: podman writes its layers uncompressed, so reading them
    costs no decompression.
    """
    if shutil.which("podman") is None:
        raise ScanError(f"{name}: not a file or directory, and podman is not installed to look it up")
    archive = directory / "image.tar"
    try:
        result = subprocess.run(["podman", "save", "--format", "docker-archive", "-o", str(archive),
                                 name], capture_output=True, text=True, timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        raise ScanError(f"{name}: podman save took longer than {_TIMEOUT_S:.0f} s") from err
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise ScanError(f"{name}: not a file or directory, nor an image podman can save: {message}")
    return archive
