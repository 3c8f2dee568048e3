"""Scan one image: its OS and packages, the advisories that affect them, as one report.

`scan_image` is what the CLI and the daemon call; it reads the image once and never touches
the network (the advisories are a local directory, loaded once with `load_osv_database`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runwatch.scan.image import ANALYZERS, OSRelease, Package, analyze_image
from runwatch.scan.sbom import build_sbom, package_url
from runwatch.scan.vulns import OsvDatabase, Severity, VulnFinding, detect_vulnerabilities


@dataclass(frozen=True, slots=True)
class ScanReport:
    """What one image holds and which known vulnerabilities affect it."""

    source: str  # what was read: a rootfs directory, an archive
    name: str  # the image name given, the archive's tag, or the source path
    id: str | None  # the image config's digest ("sha256:..."); None for a rootfs
    kind: str  # "rootfs", "docker-archive", "oci-layout"
    os: OSRelease | None
    packages: tuple[Package, ...]
    findings: tuple[VulnFinding, ...]
    problems: tuple[str, ...]  # files or packages that could not be read or matched, and why
    advisories: int  # how many advisories the database held: 0 means nothing was matched

    def at_or_above(self, severity: Severity) -> tuple[VulnFinding, ...]:
        """Findings rated `severity` or worse (the `--fail-on` gate)."""
        return tuple(f for f in self.findings if f.severity.rank >= severity.rank)

    def to_json(self) -> dict[str, object]:
        """The report as plain JSON values (for `--format json` and the store)."""
        os_release = None if self.os is None else {
            "id": self.os.id, "version_id": self.os.version_id,
            "version_codename": self.os.version_codename, "pretty_name": self.os.pretty_name}
        return {
            "image": {"name": self.name, "id": self.id, "kind": self.kind, "source": self.source},
            "os": os_release,
            "packages": [{"type": p.type, "name": p.name, "version": p.version,
                          "source_name": p.source_name, "source_version": p.source_version,
                          "arch": p.arch, "path": p.path, "purl": package_url(p, self.os).to_string()}
                         for p in self.packages],
            "findings": [{"id": f.id, "aliases": list(f.aliases), "package": f.package.name,
                          "source_package": f.package.source_name, "ecosystem": f.ecosystem,
                          "installed_version": f.installed_version, "fixed_version": f.fixed_version,
                          "severity": str(f.severity), "cvss_score": f.cvss_score,
                          "summary": f.summary, "path": f.package.path}
                         for f in self.findings],
            "problems": list(self.problems),
            "advisories": self.advisories,
        }

    def to_cyclonedx(self) -> str:
        """A CycloneDX 1.5 JSON SBOM of the image's packages."""
        return build_sbom(self.name, self.id, self.os, self.packages)


def scan_image(source: Path, database: OsvDatabase, name: str | None = None) -> ScanReport:
    """Scan the image at `source` (rootfs directory, docker-archive/OCI archive or layout).

    `name` is how the image is known (an engine's image name); else the archive's own tag, else
    the path. Raises ScanError if the image cannot be read; advisory problems are in the report.
    """
    analysis = analyze_image(source, ANALYZERS)
    detection = detect_vulnerabilities(analysis.packages, analysis.os, database)
    contents = analysis.contents
    return ScanReport(source=str(source), name=name or contents.name or str(source), id=contents.id,
                      kind=contents.kind, os=analysis.os, packages=analysis.packages,
                      findings=detection.findings,
                      problems=(*analysis.problems, *detection.problems),
                      advisories=len(database.records))
