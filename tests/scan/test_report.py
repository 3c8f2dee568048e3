"""scan_image end to end on a small rootfs: the report, its JSON, the CycloneDX SBOM checked against
CycloneDX's own 1.5 JSON schema, and the `runwatch scan image` command with its CI gate."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7

from runwatch.scan import ScanReport, Severity, load_osv_database, scan_image
from runwatch.scan.vulns import OsvDatabase

OSV = Path(__file__).resolve().parents[1] / "data" / "osv"
SCHEMAS = files("cyclonedx.schema") / "_res"  # as cyclonedx-python-lib ships them


def validate_cyclonedx_1_5(document: object) -> None:
    """Raise unless `document` is valid against CycloneDX's bom-1.5 JSON schema."""
    resources = [(f"http://cyclonedx.org/schema/{name}",
                  DRAFT7.create_resource(json.loads((SCHEMAS / name).read_text())))
                 for name in ("spdx.SNAPSHOT.schema.json", "jsf-0.82.SNAPSHOT.schema.json")]
    schema = json.loads((SCHEMAS / "bom-1.5.SNAPSHOT.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema, registry=Registry().with_resources(resources))
    validator.validate(document)


def write_rootfs(root: Path) -> Path:
    """A small Debian 12 rootfs: two dpkg packages and a virtualenv with vulnerable libraries."""
    site = root / "opt/venv/lib/python3.11/site-packages"
    for directory in (root / "usr/lib", root / "etc", root / "var/lib/dpkg", site):
        directory.mkdir(parents=True, exist_ok=True)
    (root / "usr/lib/os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'
        "VERSION_CODENAME=bookworm\n")
    (root / "etc/os-release").symlink_to("../usr/lib/os-release")
    (root / "var/lib/dpkg/status").write_text(
        "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\n"
        "Version: 2.36-9+deb12u4\n\nPackage: bash\nStatus: install ok installed\n"
        "Architecture: amd64\nVersion: 5.2.15-2+b7\nSource: bash (5.2.15-2)\n")
    for name, version in (("PyYAML", "5.3.1"), ("urllib3", "2.0.5"), ("requests", "2.32.3")):
        (site / f"{name}-{version}.dist-info").mkdir()
        (site / f"{name}-{version}.dist-info/METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


@pytest.fixture
def report(tmp_path: Path) -> ScanReport:
    return scan_image(write_rootfs(tmp_path / "rootfs"), load_osv_database(OSV))


def test_a_scan_reports_os_packages_and_findings_worst_first(report: ScanReport) -> None:
    assert report.kind == "rootfs" and report.id is None and report.name.endswith("rootfs")
    assert report.os is not None and (report.os.id, report.os.version_id) == ("debian", "12")
    assert sorted((p.type, p.name, p.version) for p in report.packages) == [
        ("deb", "bash", "5.2.15-2+b7"), ("deb", "libc6", "2.36-9+deb12u4"),
        ("pypi", "pyyaml", "5.3.1"), ("pypi", "requests", "2.32.3"), ("pypi", "urllib3", "2.0.5")]
    assert [(f.id, f.package.name, f.severity) for f in report.findings] == [
        ("GHSA-8q59-q68h-6hv4", "pyyaml", Severity.CRITICAL),
        ("GHSA-34jh-p97f-mpxf", "urllib3", Severity.MEDIUM),
        ("GHSA-g4mx-q9vg-27p4", "urllib3", Severity.MEDIUM),
        ("GHSA-v845-jxx5-vc9f", "urllib3", Severity.MEDIUM)]
    assert report.problems == () and report.advisories == 10
    assert [f.id for f in report.at_or_above(Severity.HIGH)] == ["GHSA-8q59-q68h-6hv4"]
    assert len(report.at_or_above(Severity.UNKNOWN)) == 4


def test_the_json_report_carries_what_a_script_needs(report: ScanReport) -> None:
    data = json.loads(json.dumps(report.to_json()))
    assert data["os"]["version_codename"] == "bookworm"
    bash = next(p for p in data["packages"] if p["name"] == "bash")
    assert bash["purl"] == "pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=bookworm"
    assert (bash["source_name"], bash["source_version"]) == ("bash", "5.2.15-2")
    worst = data["findings"][0]
    assert {k: worst[k] for k in ("id", "aliases", "package", "installed_version", "fixed_version",
                                  "severity", "cvss_score", "summary")} == {
        "id": "GHSA-8q59-q68h-6hv4", "aliases": ["CVE-2020-14343"], "package": "pyyaml",
        "installed_version": "5.3.1", "fixed_version": "5.4", "severity": "critical",
        "cvss_score": 9.8, "summary": "Improper Input Validation in PyYAML"}


def test_the_sbom_is_valid_cyclonedx_1_5_listing_every_package(report: ScanReport) -> None:
    sbom = json.loads(report.to_cyclonedx())
    validate_cyclonedx_1_5(sbom)
    assert (sbom["bomFormat"], sbom["specVersion"]) == ("CycloneDX", "1.5")
    assert sbom["metadata"]["component"]["type"] == "container"
    purls = sorted(c["purl"] for c in sbom["components"] if "purl" in c)
    assert purls == ["pkg:deb/debian/bash@5.2.15-2%2Bb7?arch=amd64&distro=bookworm",
                     "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=bookworm",
                     "pkg:pypi/pyyaml@5.3.1", "pkg:pypi/requests@2.32.3", "pkg:pypi/urllib3@2.0.5"]
    os_component = next(c for c in sbom["components"] if c["type"] == "operating-system")
    assert (os_component["name"], os_component["version"]) == ("debian", "12")
    libc6 = next(c for c in sbom["components"] if c["name"] == "libc6")
    assert {p["name"]: p["value"] for p in libc6["properties"]}["runwatch:source_name"] == "glibc"


def test_the_schema_check_itself_rejects_a_broken_sbom(report: ScanReport) -> None:
    sbom = json.loads(report.to_cyclonedx())
    sbom["components"][0]["type"] = "not-a-type"
    with pytest.raises(jsonschema.ValidationError):
        validate_cyclonedx_1_5(sbom)


def test_without_advisories_packages_are_listed_and_nothing_is_matched(tmp_path: Path) -> None:
    report = scan_image(write_rootfs(tmp_path / "rootfs"), OsvDatabase(), name="app:1")
    assert report.name == "app:1" and len(report.packages) == 5 and report.findings == ()


def runwatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runwatch", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_command_gates_ci_on_the_worst_severity(tmp_path: Path) -> None:
    root = str(write_rootfs(tmp_path / "rootfs"))
    table = runwatch("scan", "image", root, "--osv-dir", str(OSV))
    assert table.returncode == 0, table.stderr
    assert "GHSA-8q59-q68h-6hv4" in table.stdout and "CVE-2020-14343" in table.stdout
    assert "4 vulnerabilities among 10 advisories: critical 1, high 0, medium 3" in table.stdout
    failing = runwatch("scan", "image", root, "--osv-dir", str(OSV), "--fail-on", "critical")
    assert failing.returncode == 1 and "1 vulnerability rated critical or worse" in failing.stderr
    assert failing.stdout == table.stdout
    urllib3_only = tmp_path / "urllib3-advisories"
    urllib3_only.mkdir()
    for record in ("GHSA-v845-jxx5-vc9f", "GHSA-g4mx-q9vg-27p4", "GHSA-34jh-p97f-mpxf"):
        shutil.copy(OSV / "pypi" / f"{record}.json", urllib3_only)
    high = runwatch("scan", "image", root, "--osv-dir", str(urllib3_only), "--fail-on", "high",
                    "--format", "json")
    assert high.returncode == 0, high.stderr
    assert sorted(f["id"] for f in json.loads(high.stdout)["findings"]) == [
        "GHSA-34jh-p97f-mpxf", "GHSA-g4mx-q9vg-27p4", "GHSA-v845-jxx5-vc9f"]
    medium = runwatch("scan", "image", root, "--osv-dir", str(urllib3_only), "--fail-on", "medium")
    assert medium.returncode == 1 and "3 vulnerabilities rated medium or worse" in medium.stderr
    sbom = runwatch("scan", "image", root, "--format", "cyclonedx")
    assert sbom.returncode == 0
    validate_cyclonedx_1_5(json.loads(sbom.stdout))


def test_the_command_names_what_it_cannot_scan(tmp_path: Path) -> None:
    not_tar = tmp_path / "image.tar"
    not_tar.write_text("hello")
    result = runwatch("scan", "image", str(not_tar))
    assert result.returncode == 1
    assert " ".join(result.stderr.split()) == (  # one line, however the terminal wraps it
        f"error: {not_tar}: not a readable image archive (damaged, truncated, or not a tar): "
        "truncated header")
    gate = runwatch("scan", "image", str(tmp_path), "--fail-on", "high")
    assert gate.returncode == 2 and "needs --osv-dir" in gate.stderr
