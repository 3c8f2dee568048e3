"""Match an image's packages to OSV advisories, as trivy's detectors do for its own database.

A package is looked up in its ecosystem: "PyPI" for Python distributions; the image's release
for OS packages ("Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.19"). Debian and Ubuntu advisories
name the SOURCE package and its version (a binNMU's "+b1" is the binary's alone), so binary
packages are matched through their source, as osv-scanner and trivy do. A version is affected
when it is listed in `versions` or falls in an ECOSYSTEM range (osv-schema, "Evaluation": events
in version order, introduced opens, fixed closes before, last_affected closes after). SEMVER and
GIT ranges name other orders and are not evaluated.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from runwatch.scan.image.base import OSRelease, Package
from runwatch.scan.vulns.osv import OsvAffected, OsvDatabase, OsvRecord
from runwatch.scan.vulns.severity import Severity, rate, severity_words
from runwatch.scan.vulns.versions import OrderedVersion, VersionError, version_parser

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")


@dataclass(frozen=True, slots=True)
class VulnFinding:
    """A package in the image that an advisory says is vulnerable."""

    id: str  # the advisory: "GHSA-j8r2-6x86-q33q", "USN-6409-1", "DSA-3029-1"
    aliases: tuple[str, ...]  # other ids of the same vulnerability, CVE ids among them
    package: Package
    ecosystem: str
    installed_version: str  # the package's own version (a deb's binary version)
    fixed_version: str | None  # the first fixed version above the installed one, if any
    severity: Severity
    cvss_score: float | None
    summary: str


@dataclass(frozen=True, slots=True)
class Detection:
    """Findings, and what could not be matched and why (`ecosystem: count package(s): reason`)."""

    findings: tuple[VulnFinding, ...]
    problems: tuple[str, ...]


def os_ecosystems(os: OSRelease | None) -> tuple[str, ...]:
    """The OSV ecosystems an OS release's packages are published under; () if none is known."""
    if os is None or not os.version_id:
        return ()
    if os.id == "debian":
        return (f"Debian:{os.version_id.split('.')[0]}",)
    if os.id == "ubuntu":
        lts = ":LTS" if "LTS" in (os.version or "") else ""
        return (f"Ubuntu:{os.version_id}{lts}",)
    if os.id == "alpine":
        return ("Alpine:v" + ".".join(os.version_id.split(".")[:2]),)
    return ()


_OS_PACKAGE_TYPES = {"debian": "deb", "ubuntu": "deb", "alpine": "apk"}


def detect_vulnerabilities(packages: Iterable[Package], os: OSRelease | None,
                           database: OsvDatabase) -> Detection:
    """Every (advisory, package) pair where the package's installed version is affected."""
    findings: list[VulnFinding] = []
    problems: set[str] = set()
    unmatched: Counter[tuple[str, str]] = Counter()
    for package in packages:
        if package.type == "pypi":
            ecosystems: tuple[str, ...] = ("PyPI",)
        elif os is not None and _OS_PACKAGE_TYPES.get(os.id) == package.type:
            ecosystems = os_ecosystems(os)
        else:
            ecosystems = ()
        if not ecosystems:
            release = f"{os.id} {os.version_id or ''}".strip() if os else "no os-release"
            unmatched[(f"{package.type} packages", f"no OSV ecosystem for {release}")] += 1
            continue
        for ecosystem in ecosystems:
            parse = version_parser(ecosystem)
            if parse is None:
                unmatched[(ecosystem, "no version ordering for this ecosystem")] += 1
                continue
            findings.extend(_match(package, ecosystem, parse, database, problems))
    for (ecosystem, reason), count in sorted(unmatched.items()):
        problems.add(f"{ecosystem}: {count} package(s) not matched: {reason}")
    findings.sort(key=lambda f: (-f.severity.rank, f.package.name, f.id))
    return Detection(findings=tuple(findings), problems=tuple(sorted(problems)))


def _match(package: Package, ecosystem: str, parse: Callable[[str], OrderedVersion],
           database: OsvDatabase, problems: set[str]) -> list[VulnFinding]:
    candidates = database.affecting(ecosystem, package.source_name)
    if not candidates:
        return []
    try:
        installed = parse(package.source_version)
    except VersionError as err:
        problems.add(f"{package.path}: {package.name}: {err}")
        return []
    found: dict[str, tuple[OsvRecord, OsvAffected, str | None]] = {}
    for record, affected in candidates:
        try:
            hit, fixed = affected_version(installed, affected, parse)
        except VersionError as err:
            problems.add(f"{record.id}: {err}")
            continue
        if hit and (record.id not in found or found[record.id][2] is None):
            found[record.id] = (record, affected, fixed)
    return [_finding(record, affected, fixed, package, ecosystem)
            for record, affected, fixed in found.values()]


def affected_version(installed: OrderedVersion, affected: OsvAffected,
                     parse: Callable[[str], OrderedVersion]) -> tuple[bool, str | None]:
    """Whether `installed` is affected per this entry, and the first fixed version above it."""
    hit = any(_equal(installed, listed, parse) for listed in affected.versions)
    fixed_above: list[tuple[OrderedVersion, str]] = []
    for version_range in affected.ranges:
        if version_range.type != "ECOSYSTEM":
            continue
        opening: list[tuple[str, OrderedVersion | None, str]] = []  # introduced "0": before all
        ordered: list[tuple[str, OrderedVersion | None, str]] = []
        versions: list[tuple[OrderedVersion, int]] = []
        for event in version_range.events:
            for kind in ("introduced", "fixed", "last_affected"):
                value = getattr(event, kind)
                if value is None:
                    continue
                if kind == "introduced" and value == "0":
                    opening.append((kind, None, value))
                else:
                    versions.append((parse(value), len(ordered)))
                    ordered.append((kind, versions[-1][0], value))
        versions.sort(key=lambda item: item[0])
        ordered = [ordered[position] for _, position in versions]
        in_range = False
        for kind, version, value in (*opening, *ordered):
            if kind == "introduced":
                in_range = in_range or version is None or installed >= version
            elif kind == "fixed" and version is not None:
                if installed >= version:
                    in_range = False
                else:
                    fixed_above.append((version, value))
            elif kind == "last_affected" and version is not None and installed > version:
                in_range = False
        hit = hit or in_range
    fixed = min(fixed_above, key=lambda item: item[0])[1] if hit and fixed_above else None
    return hit, fixed


def _equal(installed: OrderedVersion, listed: str, parse: Callable[[str], OrderedVersion]) -> bool:
    try:
        other = parse(listed)
    except VersionError:
        return False  # a listed version this scheme cannot read cannot be the installed one
    return installed <= other <= installed


def _finding(record: OsvRecord, affected: OsvAffected, fixed: str | None, package: Package,
             ecosystem: str) -> VulnFinding:
    severity, score = rate(
        [(s.type, s.score) for s in (*affected.severity, *record.severity)],
        [*severity_words(affected.ecosystem_specific), *severity_words(affected.database_specific),
         *severity_words(record.database_specific)])
    aliases = list(record.aliases)
    for upstream in record.upstream:  # Ubuntu's notices point at UBUNTU-CVE-2023-4911
        cve = _CVE.search(upstream)
        if cve and cve.group() not in aliases:
            aliases.append(cve.group())
    return VulnFinding(id=record.id, aliases=tuple(aliases), package=package, ecosystem=ecosystem,
                       installed_version=package.version, fixed_version=fixed, severity=severity,
                       cvss_score=score, summary=record.summary)
