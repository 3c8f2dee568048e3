"""Real Debian images: a bookworm minbase rootfs built by debootstrap, the same imported into podman
and saved (docker-archive and OCI), and an image podman builds on it in layers. What the scanner
finds is what dpkg and the file system inside the image say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runwatch.scan import load_osv_database, scan_image
from runwatch.scan.image import ANALYZERS, analyze_image
from tests.support.debian_images import (DebianImage, dpkg_query, layered_image, minbase_image,
                                         minbase_rootfs, read_anchor)
from tests.support.podman import podman

__all__ = ["layered_image", "minbase_image", "minbase_rootfs"]  # fixtures used here

OSV = Path(__file__).resolve().parents[1] / "data" / "osv"

pytestmark = pytest.mark.integration


def deb_rows(source: Path) -> set[tuple[str, str, str, str, str]]:
    analysis = analyze_image(source, ANALYZERS)
    return {(p.name, p.version, p.source_name, p.source_version, p.arch or "")
            for p in analysis.packages if p.type == "deb"}


def test_the_minbase_rootfs_has_the_88_packages_dpkg_lists(minbase_rootfs: Path) -> None:
    analysis = analyze_image(minbase_rootfs, ANALYZERS)
    assert analysis.os is not None
    assert (analysis.os.id, analysis.os.version_id, analysis.os.version_codename) == (
        "debian", "12", "bookworm")
    assert analysis.problems == ()
    found = deb_rows(minbase_rootfs)
    assert {row[0] for row in found} == {row[0] for row in read_anchor()}  # the anchor's 88 names
    assert len(found) == 88
    assert found == dpkg_query(minbase_rootfs / "var/lib/dpkg")  # versions, sources, arch: dpkg's


def test_a_podman_image_of_the_rootfs_scans_the_same_from_its_archives(
        minbase_rootfs: Path, minbase_image: DebianImage) -> None:
    expected = deb_rows(minbase_rootfs)
    image_id = podman("image", "inspect", "--format", "{{.Id}}", minbase_image.name).stdout.strip()
    for archive, kind in ((minbase_image.docker_archive, "docker-archive"),
                          (minbase_image.oci_archive, "oci-layout")):
        report = scan_image(archive, load_osv_database(OSV))
        assert (report.kind, report.id, report.name) == (kind, f"sha256:{image_id}", minbase_image.name)
        assert {(p.name, p.version, p.source_name, p.source_version, p.arch or "")
                for p in report.packages} == expected
        assert report.os is not None and report.os.version_codename == "bookworm"
        # No advisory here is for Debian 12: DSA-3029-1 is wheezy's.
        assert report.findings == () and report.problems == ()


def in_container(image: str, *command: str) -> str:
    return podman("run", "--rm", "--network=none", image, *command, timeout_s=120).stdout


def test_a_layered_image_reads_as_its_containers_see_it(layered_image: DebianImage) -> None:
    report = scan_image(layered_image.docker_archive, load_osv_database(OSV))
    assert report.problems == ()
    installed = set()
    for line in in_container(layered_image.name, "dpkg-query", "-W", "-f",
                             "${db:Status-Abbrev}\t${Package}\t${Version}\t${source:Package}\n").splitlines():
        status, name, version, source = line.split("\t")
        if status.strip() == "ii":
            installed.add((name, version, source))
    assert "e2fsprogs" not in {name for name, _, _ in installed}  # purged in the last layer
    assert {(p.name, p.version, p.source_name) for p in report.packages if p.type == "deb"} == installed
    metadata = in_container(layered_image.name, "find", "/", "-xdev", "(", "-path", "*.dist-info/METADATA",
                            "-o", "-path", "*.egg-info/PKG-INFO", ")").split()
    assert sorted(p.path for p in report.packages if p.type == "pypi") == sorted(metadata)
    # Jinja2 went with an opaque directory, requests with a whiteout; urllib3 and PyYAML remain.
    assert sorted((p.name, p.version) for p in report.packages if p.type == "pypi") == [
        ("pyyaml", "5.3.1"), ("urllib3", "1.26.16")]
    assert [(f.id, f.package.name, f.fixed_version) for f in report.findings] == [
        ("GHSA-8q59-q68h-6hv4", "pyyaml", "5.4"),
        ("GHSA-34jh-p97f-mpxf", "urllib3", "1.26.19"),
        ("GHSA-g4mx-q9vg-27p4", "urllib3", "1.26.18"),
        ("GHSA-v845-jxx5-vc9f", "urllib3", "1.26.17")]
    oci = scan_image(layered_image.oci_archive, load_osv_database(OSV))
    assert (oci.packages, oci.findings) == (report.packages, report.findings)


def test_the_command_scans_an_image_by_its_name_in_podmans_store(layered_image: DebianImage) -> None:
    result = subprocess.run([sys.executable, "-m", "runwatch", "scan", "image", layered_image.name,
                             "--osv-dir", str(OSV), "--format", "json", "--fail-on", "critical"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # PyYAML 5.3.1: CVE-2020-14343, critical
    data = json.loads(result.stdout)
    assert data["image"]["name"] == layered_image.name
    assert data["image"]["source"] == f"podman:{layered_image.name}"
    assert len(data["findings"]) == 4 and data["findings"][0]["severity"] == "critical"
