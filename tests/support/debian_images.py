"""Real Debian images for the scanner's tests: a bookworm minbase rootfs made by debootstrap from
Debian's archive (through apt's own mirror configuration), imported into podman, saved as
archives, and a layered image podman builds on it (whiteouts and opaque directories made by podman
itself). Built once per test session."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.podman import podman

# The 88 packages of a bookworm minbase rootfs as dpkg-query lists them (shared/ lies beside the
# checkout, in CI too).
ANCHOR = Path(__file__).resolve().parents[3] / "shared/anchors/bookworm-minbase/dpkg-packages.txt"

# What the layered image adds on top of minbase, in three RUN layers: a venv whose dist-info is
# later removed by replacing the whole directory (podman writes an opaque directory), a directory
# removed whole (a whiteout), and a Debian package purged (status rewritten, md5sums whited out).
LAYERED_CONTAINERFILE = """\
FROM {base}
RUN mkdir -p /opt/venv/lib/python3.11/site-packages/Jinja2-3.1.2.dist-info \\
      /opt/old/requests-2.30.0.dist-info /srv/app/PyYAML.egg-info \\
 && printf 'Metadata-Version: 2.1\\nName: Jinja2\\nVersion: 3.1.2\\n' \\
      > /opt/venv/lib/python3.11/site-packages/Jinja2-3.1.2.dist-info/METADATA \\
 && printf 'Metadata-Version: 2.1\\nName: requests\\nVersion: 2.30.0\\n' \\
      > /opt/old/requests-2.30.0.dist-info/METADATA \\
 && printf 'Metadata-Version: 1.1\\nName: PyYAML\\nVersion: 5.3.1\\n' > /srv/app/PyYAML.egg-info/PKG-INFO
RUN rm -rf /opt/old /opt/venv \\
 && mkdir -p /opt/venv/lib/python3.11/site-packages/urllib3-1.26.16.dist-info \\
 && printf 'Metadata-Version: 2.1\\nName: urllib3\\nVersion: 1.26.16\\n' \\
      > /opt/venv/lib/python3.11/site-packages/urllib3-1.26.16.dist-info/METADATA
RUN dpkg --purge --force-depends e2fsprogs
"""


@dataclass(frozen=True)
class DebianImage:
    """A Debian image in podman's store and as archives on disk."""

    name: str
    docker_archive: Path
    oci_archive: Path


def read_anchor() -> list[tuple[str, str, str, str]]:
    """The anchor's (binary, version, source, source version) lines."""
    rows = []
    for line in ANCHOR.read_text().splitlines():
        if line and not line.startswith("#"):
            binary, version, source, source_version = line.split()
            rows.append((binary, version, source, source_version))
    return rows


def dpkg_query(admindir: Path | None = None) -> set[tuple[str, str, str, str, str]]:
    """What dpkg itself says is installed: (binary, version, source, source version, arch)."""
    args = ["dpkg-query", "-W", "-f", "${db:Status-Abbrev}\t${Package}\t${Version}\t${source:Package}"
            "\t${source:Version}\t${Architecture}\n"]
    if admindir is not None:
        args.insert(1, f"--admindir={admindir}")
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rows = set()
    for line in output.splitlines():
        status, binary, version, source, source_version, arch = line.split("\t")
        if status.strip() in ("ii", "hi"):  # installed (or installed and held)
            rows.add((binary, version, source, source_version, arch))
    return rows


def _debian_mirror() -> str:
    """The Debian archive apt is configured to use (deb822 or one-line sources)."""
    for path in sorted(Path("/etc/apt").glob("sources.list*")) + sorted(
            Path("/etc/apt/sources.list.d").glob("*")):
        if path.is_file():
            found = re.search(r"(?:URIs:|^deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", path.read_text(),
                              re.MULTILINE)
            if found:
                return found.group(1)
    raise AssertionError("no Debian mirror in apt's configuration (/etc/apt/sources.list*)")


@pytest.fixture(scope="session")
def minbase_rootfs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `debootstrap --variant=minbase bookworm` root file system."""
    assert shutil.which("debootstrap"), "debootstrap is not installed (scripts/bootstrap.sh test)"
    rootfs = tmp_path_factory.mktemp("minbase") / "rootfs"
    result = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs),
                             _debian_mirror()], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return rootfs


@pytest.fixture(scope="session")
def minbase_image(minbase_rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DebianImage]:
    """The minbase rootfs as a podman image (`podman import`), saved as docker-archive and OCI."""
    assert shutil.which("podman"), "podman is not installed (scripts/bootstrap.sh test)"
    workdir = tmp_path_factory.mktemp("minbase-image")
    name = f"localhost/runwatch-scan-minbase:{uuid.uuid4().hex[:12]}"
    tarball = workdir / "rootfs.tar"
    subprocess.run(["tar", "-C", str(minbase_rootfs), "-cf", str(tarball), "."], check=True)
    podman("import", str(tarball), name, timeout_s=300)
    tarball.unlink()
    try:
        yield _saved(name, workdir)
    finally:
        podman("rmi", "-f", name, check=False)


@pytest.fixture(scope="session")
def layered_image(minbase_image: DebianImage,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[DebianImage]:
    """An image podman builds on minbase in three layers (see LAYERED_CONTAINERFILE)."""
    workdir = tmp_path_factory.mktemp("layered-image")
    (workdir / "Containerfile").write_text(LAYERED_CONTAINERFILE.format(base=minbase_image.name))
    name = f"localhost/runwatch-scan-layered:{uuid.uuid4().hex[:12]}"
    podman("build", "--network=none", "-q", "-t", name, str(workdir), timeout_s=300)
    try:
        yield _saved(name, workdir)
    finally:
        podman("rmi", "-f", name, check=False)


def _saved(name: str, workdir: Path) -> DebianImage:
    docker_archive, oci_archive = workdir / "docker-archive.tar", workdir / "oci-archive.tar"
    podman("save", "--format", "docker-archive", "-o", str(docker_archive), name, timeout_s=300)
    podman("save", "--format", "oci-archive", "-o", str(oci_archive), name, timeout_s=300)
    return DebianImage(name=name, docker_archive=docker_archive, oci_archive=oci_archive)
