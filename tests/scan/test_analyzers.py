"""Analyzers on real files: this machine's dpkg database against dpkg-query, and the formats'
corners (statuses, Source fields, distroless status.d, egg-info files, os-release quoting, apk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.scan.image import ANALYZERS, ApkAnalyzer, DpkgAnalyzer, OSReleaseAnalyzer, PythonAnalyzer
from runwatch.scan.image import OSRelease, analyze_image
from tests.support.debian_images import dpkg_query

HOST_STATUS = Path("/var/lib/dpkg/status")


def test_the_registry_names_each_analyzer_by_its_own_name() -> None:
    assert {name: analyzer.name for name, analyzer in ANALYZERS.items()} == {
        name: name for name in ANALYZERS}
    assert set(ANALYZERS) == {"os-release", "dpkg", "apk", "python"}


def test_this_machines_dpkg_status_reads_as_dpkg_query_lists_it() -> None:
    result = DpkgAnalyzer().analyze({"/var/lib/dpkg/status": HOST_STATUS.read_bytes()})
    found = {(p.name, p.version, p.source_name, p.source_version, p.arch) for p in result.packages}
    expected = dpkg_query()
    assert len(expected) > 50
    assert found == expected
    assert result.problems == ()


STATUS = b"""\
Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b13
Source: bash (5.2.15-2)

Package: held
Status: hold ok installed
Architecture: all
Version: 1.0-1

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: broken
Status: install reinstreq half-installed
Architecture: amd64
Version: 1.0-1

Package: unpacked
Status: install ok unpacked
Architecture: amd64
Version: 1.0-1

Package: noversion
Status: install ok installed
Architecture: amd64
"""


def test_only_installed_packages_count_with_their_source_and_its_version() -> None:
    result = DpkgAnalyzer().analyze({"/var/lib/dpkg/status": STATUS})
    assert [(p.name, p.version, p.source_name, p.source_version, p.arch) for p in result.packages] == [
        ("libc6", "2.36-9+deb12u4", "glibc", "2.36-9+deb12u4", "amd64"),
        ("bash", "5.2.15-2+b13", "bash", "5.2.15-2", "amd64"),
        ("held", "1.0-1", "held", "1.0-1", "all"),
    ]
    assert result.problems == ("/var/lib/dpkg/status: package noversion: installed without a "
                               "Version field",)


def test_distroless_status_d_files_and_md5sums_are_read() -> None:
    analyzer = DpkgAnalyzer()
    files = {
        "/var/lib/dpkg/status.d/base": b"Package: base-files\nStatus: install ok installed\n"
                                       b"Version: 12.4+deb12u5\nArchitecture: amd64\n",
        "/var/lib/dpkg/status.d/tzdata": b"Package: tzdata\nVersion: 2024a-0+deb12u1\n"
                                         b"Architecture: all\nStatus: install ok installed\n",
        "/var/lib/dpkg/status.d/tzdata.md5sums": b"0123456789abcdef0123456789abcdef  usr/share/zoneinfo/UTC\n",
    }
    assert all(analyzer.required(path) for path in files)
    assert not analyzer.required("/var/lib/dpkg/info/bash.list")
    result = analyzer.analyze(files)
    assert sorted(p.name for p in result.packages) == ["base-files", "tzdata"]
    assert result.owned_files == frozenset({"/usr/share/zoneinfo/UTC"})


def test_python_metadata_in_dist_info_egg_info_directories_and_egg_info_files() -> None:
    analyzer = PythonAnalyzer()
    files = {
        "/usr/local/lib/python3.11/site-packages/Jinja2-3.1.2.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\n\nA very fast template engine.\n",
        "/app/PyYAML.egg-info/PKG-INFO": b"Metadata-Version: 1.1\nName: PyYAML\nVersion: 5.3.1\n",
        "/usr/lib/python3/dist-packages/zope.interface-5.5.2.egg-info":
            b"Metadata-Version: 2.1\nName: zope.interface\nVersion: 5.5.2\n",
        "/app/broken.dist-info/METADATA": b"Metadata-Version: 2.1\nName: broken\n",
    }
    assert all(analyzer.required(path) for path in files)
    assert not analyzer.required("/app/METADATA") and not analyzer.required("/app/x.dist-info/RECORD")
    result = analyzer.analyze(files)
    assert sorted((p.name, p.version) for p in result.packages) == [
        ("jinja2", "3.1.2"), ("pyyaml", "5.3.1"), ("zope-interface", "5.5.2")]
    assert result.problems == ("/app/broken.dist-info/METADATA: no Version in the metadata",)


def test_a_python_package_dpkg_installed_is_not_also_a_pypi_package(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    dist = root / "usr/lib/python3/dist-packages/PyYAML-6.0.dist-info"
    pip = root / "usr/local/lib/python3.11/dist-packages/requests-2.30.0.dist-info"
    for directory in (dist, pip, root / "var/lib/dpkg/info", root / "etc"):
        directory.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n")
    (pip / "METADATA").write_text("Metadata-Version: 2.1\nName: requests\nVersion: 2.30.0\n")
    (root / "var/lib/dpkg/status").write_text(
        "Package: python3-yaml\nStatus: install ok installed\nArchitecture: amd64\n"
        "Source: pyyaml\nVersion: 6.0-3+b2\n")
    (root / "var/lib/dpkg/info/python3-yaml.md5sums").write_text(
        "d41d8cd98f00b204e9800998ecf8427e  usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA\n")
    (root / "etc/os-release").write_text('ID=debian\nVERSION_ID="12"\n')
    analysis = analyze_image(root, ANALYZERS)
    assert sorted((p.type, p.name) for p in analysis.packages) == [
        ("deb", "python3-yaml"), ("pypi", "requests")]


@pytest.mark.parametrize(("text", "expected"), [
    (b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
     b'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n',
     OSRelease("debian", "12", "bookworm", "12 (bookworm)", "Debian GNU/Linux 12 (bookworm)")),
    (b'NAME="Ubuntu"\nVERSION="22.04.3 LTS (Jammy Jellyfish)"\nID=ubuntu\nID_LIKE=debian\n'
     b'PRETTY_NAME="Ubuntu 22.04.3 LTS"\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n',
     OSRelease("ubuntu", "22.04", "jammy", "22.04.3 LTS (Jammy Jellyfish)", "Ubuntu 22.04.3 LTS")),
    (b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME='Alpine \\\"edge\\\"'\n",
     OSRelease("alpine", "3.19.1", None, None, "Alpine \\\"edge\\\"")),
    (b'# a comment\nPRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n',
     OSRelease("debian", None, None, None, "Debian GNU/Linux trixie/sid")),
])
def test_os_release_values_are_unquoted_as_a_shell_would(text: bytes, expected: OSRelease) -> None:
    assert OSReleaseAnalyzer().analyze({"/etc/os-release": text}).os == expected


def test_etc_os_release_wins_over_usr_lib_and_a_bad_line_is_named() -> None:
    result = OSReleaseAnalyzer().analyze({
        "/usr/lib/os-release": b"ID=debian\n",
        "/etc/os-release": b'ID=ubuntu\nVERSION_ID="22.04\nnot a line\n',
    })
    assert result.os is not None and result.os.id == "ubuntu" and result.os.version_id is None
    assert result.problems == ("/etc/os-release:2: VERSION_ID: No closing quotation",
                               "/etc/os-release:3: expected KEY=value, got 'not a line'")


def test_apk_installed_database_names_origin_packages() -> None:
    installed = (b"C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383152\no:musl\n\n"
                 b"C:Q1def=\nP:libcrypto3\nV:3.1.4-r5\nA:x86_64\no:openssl\n\n"
                 b"P:nover\nA:x86_64\n\n")
    result = ApkAnalyzer().analyze({"/lib/apk/db/installed": installed})
    assert [(p.name, p.version, p.source_name, p.arch) for p in result.packages] == [
        ("musl", "1.2.4_git20230717-r4", "musl", "x86_64"),
        ("libcrypto3", "3.1.4-r5", "openssl", "x86_64")]
    assert result.problems == ("/lib/apk/db/installed: record 3: no V line",)
