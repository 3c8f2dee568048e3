"""OSV matching on real advisories: GitHub's PyPI records at their range edges, Ubuntu's USN-6409-1
(glibc, a `versions` list, source names) and Debian's DSA-3029-1 (nginx, a binary through its
source); loading a directory with bad files; severities from the records' CVSS vectors."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import msgspec
import pytest

from runwatch.scan.image import OSRelease, Package
from runwatch.scan.vulns import (OsvDatabase, Severity, VulnFinding, database_from_records,
                                 decode_osv_record, detect_vulnerabilities, load_osv_database,
                                 os_ecosystems)
from runwatch.scan.vulns.detect import affected_version
from runwatch.scan.vulns.severity import cvss_base_score, rate
from runwatch.scan.vulns.versions import parse_dpkg_version

OSV = Path(__file__).resolve().parents[1] / "data" / "osv"
DB = load_osv_database(OSV)
BOOKWORM = OSRelease("debian", "12", "bookworm")
WHEEZY = OSRelease("debian", "7", "wheezy")
JAMMY = OSRelease("ubuntu", "22.04", "jammy", "22.04.3 LTS (Jammy Jellyfish)")


def pypi(name: str, version: str) -> Package:
    return Package("pypi", name, version, name, version, None, f"/app/{name}.dist-info/METADATA")


def deb(name: str, version: str, source: str, source_version: str | None = None) -> Package:
    return Package("deb", name, version, source, source_version or version, "amd64",
                   "/var/lib/dpkg/status")


def findings(package: Package, os: OSRelease | None = None, db: OsvDatabase = DB) -> dict[str, VulnFinding]:
    return {f.id: f for f in detect_vulnerabilities([package], os, db).findings}


def test_the_directory_loads_every_record_by_ecosystem() -> None:
    assert len(DB.records) == 10 and DB.problems == []
    assert DB.ecosystems == {"PyPI", "Debian:7", "Ubuntu:22.04:LTS"}


# (advisory, name as installed, affected versions, versions not affected); SOURCE.txt's ranges.
EDGES = [
    ("GHSA-j8r2-6x86-q33q", "requests", ["2.3.0", "2.30.0", "2.31.0rc1"], ["2.2.1", "2.31.0", "2.32.3"]),
    ("GHSA-9wx4-h78v-vm56", "requests", ["0.1", "2.31.0", "2.32.0b1"], ["2.32.0", "2.32.3"]),
    ("GHSA-v845-jxx5-vc9f", "urllib3", ["1.26.16", "2.0.0", "2.0.5"],
     ["1.26.17", "1.26.18", "2.0.0a1", "2.0.6"]),
    ("GHSA-g4mx-q9vg-27p4", "urllib3", ["1.26.17", "2.0.6"], ["1.26.18", "1.26.20", "2.0.7"]),
    ("GHSA-34jh-p97f-mpxf", "urllib3", ["1.26.18", "2.0.0", "2.2.1"], ["1.26.19", "2.2.2", "2.3.0"]),
    ("GHSA-h5c8-rqwp-cp95", "jinja2", ["2.11.3", "3.1.2"], ["3.1.3", "3.1.4"]),
    ("GHSA-h75v-3vvj-5mfj", "jinja2", ["3.1.3"], ["3.1.4", "3.1.6"]),
    ("GHSA-8q59-q68h-6hv4", "pyyaml", ["5.3.1", "5.4b1"], ["5.4", "6.0.1"]),
]


@pytest.mark.parametrize(("advisory", "name", "affected", "safe"), EDGES, ids=[e[0] for e in EDGES])
def test_pypi_advisories_match_affected_versions_and_not_fixed_ones(advisory: str, name: str,
                                                                     affected: list[str],
                                                                     safe: list[str]) -> None:
    for version in affected:
        assert advisory in findings(pypi(name, version)), version
    for version in safe:
        assert advisory not in findings(pypi(name, version)), version


def test_a_finding_names_the_fix_of_the_range_the_version_is_in() -> None:
    found = findings(pypi("urllib3", "2.0.5"))
    assert {k: f.fixed_version for k, f in found.items()} == {
        "GHSA-v845-jxx5-vc9f": "2.0.6", "GHSA-g4mx-q9vg-27p4": "2.0.7", "GHSA-34jh-p97f-mpxf": "2.2.2"}
    old = findings(pypi("urllib3", "1.26.16"))["GHSA-v845-jxx5-vc9f"]
    assert (old.fixed_version, old.aliases, old.installed_version, old.ecosystem) == (
        "1.26.17", ("CVE-2023-43804",), "1.26.16", "PyPI")
    assert old.summary == "`Cookie` HTTP header isn't stripped on cross-origin redirects"


def test_advisory_names_are_normalised_like_installed_ones() -> None:
    # The records say "Jinja2" and "PyYAML"; the metadata analyzer normalises to PEP 503.
    assert set(findings(pypi("jinja2", "3.1.2"))) == {"GHSA-h5c8-rqwp-cp95", "GHSA-h75v-3vvj-5mfj"}
    assert set(findings(pypi("pyyaml", "5.3.1"))) == {"GHSA-8q59-q68h-6hv4"}


GLIBC_LISTED = ["2.34-0ubuntu3", "2.35-0ubuntu1", "2.35-0ubuntu3", "2.35-0ubuntu3.1", "2.35-0ubuntu3.3"]


def test_ubuntu_matches_binary_packages_through_their_source_with_the_lts_ecosystem() -> None:
    assert os_ecosystems(JAMMY) == ("Ubuntu:22.04:LTS",)
    for version in GLIBC_LISTED:
        found = findings(deb("libc6", version, "glibc"), JAMMY)
        assert list(found) == ["USN-6409-1"], version
        assert found["USN-6409-1"].fixed_version == "2.35-0ubuntu3.4"
        assert found["USN-6409-1"].aliases == ("CVE-2023-4527", "CVE-2023-4911")  # from `upstream`
    assert findings(deb("libc6", "2.35-0ubuntu3.4", "glibc"), JAMMY) == {}
    assert findings(deb("libc6", "2.35-0ubuntu3.6", "glibc"), JAMMY) == {}
    # The binary's own name is not the advisory's; another release is another ecosystem.
    assert findings(deb("glibc-tools", "2.35-0ubuntu3.1", "glibc-tools"), JAMMY) == {}
    interim = OSRelease("ubuntu", "22.04", "jammy", "22.04")
    assert findings(deb("libc6", "2.35-0ubuntu3.1", "glibc"), interim) == {}


def test_the_versions_list_alone_decides_when_a_record_has_no_range() -> None:
    record = DB.records["USN-6409-1"]
    listed_only = msgspec.structs.replace(record.affected[0], ranges=())
    for version in GLIBC_LISTED:
        assert affected_version(parse_dpkg_version(version), listed_only, parse_dpkg_version) == (True, None)
    for version in ("2.35-0ubuntu3.2", "2.35-0ubuntu3.4", "2.33-0ubuntu1"):  # not listed
        assert affected_version(parse_dpkg_version(version), listed_only, parse_dpkg_version)[0] is False


def test_debian_matches_the_source_package_and_its_version_not_the_binarys() -> None:
    assert os_ecosystems(WHEEZY) == ("Debian:7",)
    vulnerable = findings(deb("nginx-full", "1.2.1-2.2+wheezy2", "nginx"), WHEEZY)
    assert vulnerable["DSA-3029-1"].fixed_version == "1.2.1-2.2+wheezy3"
    assert vulnerable["DSA-3029-1"].aliases == ("CVE-2014-3616",)
    assert vulnerable["DSA-3029-1"].package.name == "nginx-full"
    assert "DSA-3029-1" in findings(deb("nginx", "1.2.1-2.2", "nginx"), WHEEZY)
    assert findings(deb("nginx-full", "1.2.1-2.2+wheezy3", "nginx"), WHEEZY) == {}
    # A binNMU of the fixed source (binary +b1) is fixed; an older source with a binNMU is not.
    assert findings(deb("nginx-full", "1.2.1-2.2+wheezy3+b1", "nginx", "1.2.1-2.2+wheezy3"), WHEEZY) == {}
    assert "DSA-3029-1" in findings(
        deb("nginx-full", "1.2.1-2.2+wheezy2+b1", "nginx", "1.2.1-2.2+wheezy2"), WHEEZY)
    assert findings(deb("nginx-full", "1.2.1-2.2+wheezy2", "nginx"), BOOKWORM) == {}


def test_packages_without_an_ecosystem_or_an_order_are_reported_not_matched() -> None:
    packages = [deb("musl", "1.2.4-r2", "musl"), pypi("requests", "2.30.0")]
    apk = Package("apk", "musl", "1.2.4-r2", "musl", "1.2.4-r2", "x86_64", "/lib/apk/db/installed")
    detection = detect_vulnerabilities([*packages, apk], OSRelease("alpine", "3.19.1"), DB)
    assert {f.id for f in detection.findings} == {"GHSA-j8r2-6x86-q33q", "GHSA-9wx4-h78v-vm56"}
    assert detection.problems == (
        "Alpine:v3.19: 1 package(s) not matched: no version ordering for this ecosystem",
        "deb packages: 1 package(s) not matched: no OSV ecosystem for alpine 3.19.1")


def test_bad_files_are_named_and_the_rest_load(tmp_path: Path) -> None:
    shutil.copytree(OSV, tmp_path / "db")
    (tmp_path / "db/broken.json").write_text('{"id": "X-1", "affected": [')
    (tmp_path / "db/wrong.json").write_text('{"id": 42}')
    withdrawn = json.loads((OSV / "debian/DSA-3029-1.json").read_text())
    (tmp_path / "db/withdrawn.json").write_text(json.dumps(
        dict(withdrawn, id="DSA-0000-1", withdrawn="2020-01-01T00:00:00Z")))
    with zipfile.ZipFile(tmp_path / "db/all.zip", "w") as archive:
        newer = json.loads((OSV / "pypi/GHSA-h5c8-rqwp-cp95.json").read_text())
        newer["modified"] = "2099-01-01T00:00:00Z"
        newer["affected"][0]["ranges"][0]["events"][1]["fixed"] = "3.1.5"
        archive.writestr("GHSA-h5c8-rqwp-cp95.json", json.dumps(newer))
    db = load_osv_database(tmp_path / "db")
    assert sorted(db.problems) == [
        f"{tmp_path}/db/broken.json: not an OSV record: Input data was truncated",
        f"{tmp_path}/db/wrong.json: not an OSV record: Expected `str`, got `int` - at `$.id`"]
    assert len(db.records) == 10 and db.withdrawn == 1
    # The newer copy of a record (in the zip) replaces the older one everywhere.
    assert findings(pypi("jinja2", "3.1.4"), db=db)["GHSA-h5c8-rqwp-cp95"].fixed_version == "3.1.5"
    assert load_osv_database(tmp_path / "nowhere").problems == [f"{tmp_path}/nowhere: not a directory"]


def test_severity_comes_from_the_cvss_vector_else_the_advisorys_word() -> None:
    rated = {record_id: findings(pypi(name, "0.1"))[record_id]
             for record_id, name in [("GHSA-8q59-q68h-6hv4", "pyyaml"), ("GHSA-v845-jxx5-vc9f", "urllib3"),
                                     ("GHSA-j8r2-6x86-q33q", "requests")]
             if record_id in findings(pypi(name, "0.1"))}
    assert (rated["GHSA-8q59-q68h-6hv4"].severity, rated["GHSA-8q59-q68h-6hv4"].cvss_score) == (
        Severity.CRITICAL, 9.8)  # CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
    assert (rated["GHSA-v845-jxx5-vc9f"].severity, rated["GHSA-v845-jxx5-vc9f"].cvss_score) == (
        Severity.MEDIUM, 5.9)
    ubuntu = findings(deb("libc6", "2.35-0ubuntu3.1", "glibc"), JAMMY)["USN-6409-1"]
    assert (ubuntu.severity, ubuntu.cvss_score) == (Severity.UNKNOWN, None)  # the notice rates nothing
    assert cvss_base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert cvss_base_score("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N") == 9.3
    assert cvss_base_score("CVSS_V3", "CVSS:3.1/AV:N/garbage") is None
    assert rate([("CVSS_V3", "garbage")], [None, "MODERATE"]) == (Severity.MEDIUM, None)
    assert rate([("Ubuntu", "negligible")]) == (Severity.LOW, None)
    assert rate([], ["not yet assigned"]) == (Severity.UNKNOWN, None)
    assert rate([("CVSS_V2", "AV:N/AC:L/Au:N/C:C/I:C/A:C")]) == (Severity.HIGH, 10.0)  # v2 has no critical


def test_records_decode_and_index_without_files() -> None:
    record = decode_osv_record((OSV / "debian/DSA-3029-1.json").read_bytes(), "DSA-3029-1.json")
    db = database_from_records([record])
    assert [r.id for r, _ in db.affecting("Debian:7", "nginx")] == ["DSA-3029-1"]
    assert db.affecting("Debian:12", "nginx") == ()
