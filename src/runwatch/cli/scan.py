"""`runwatch scan image`: an image's packages and known vulnerabilities, for people or a CI gate."""

from __future__ import annotations

import dataclasses
import enum
import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from runwatch.errors import ScanError
from runwatch.scan import OsvDatabase, ScanReport, Severity, load_osv_database, save_image, scan_image

scan_app = typer.Typer(no_args_is_help=True,
                       help="Scan container images for packages and known vulnerabilities (OSV).")


class OutputFormat(enum.StrEnum):
    """What `scan image` prints."""

    TABLE = "table"
    JSON = "json"
    CYCLONEDX = "cyclonedx"


_STYLES = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
           Severity.LOW: "cyan", Severity.UNKNOWN: "dim"}


@scan_app.command("image")
def image(
    name_or_path: Annotated[str, typer.Argument(
        metavar="NAME_OR_PATH",
        help="A root file system directory, a saved image (docker-archive or OCI, as a tar or a "
             "directory), or the name of an image in podman's store.")],
    osv_dir: Annotated[Path | None, typer.Option(
        "--osv-dir", file_okay=False,
        help="Directory of OSV advisories (JSON files, zip archives of them). Without it, "
             "packages are listed and nothing is matched.")] = None,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="table for people, json for scripts, cyclonedx for a CycloneDX 1.5 SBOM.")
    ] = OutputFormat.TABLE,
    fail_on: Annotated[Severity | None, typer.Option(
        "--fail-on", help="Exit with code 1 when a vulnerability rated this or worse is found "
                          "(a CI gate); needs --osv-dir.")] = None,
) -> None:
    """Find an image's OS and packages, and the advisories that affect them."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if fail_on is not None and osv_dir is None:
        raise typer.BadParameter("needs --osv-dir: without advisories nothing can be found",
                                 param_hint="--fail-on")
    database = OsvDatabase()
    if osv_dir is not None:
        database = load_osv_database(osv_dir)
        for problem in database.problems:
            err.print(f"[yellow]warning:[/yellow] {escape(problem)}")
        if not database.records:
            raise ScanError(f"{osv_dir}: no OSV advisories found")
    report = _scan(name_or_path, database)
    for problem in report.problems:
        err.print(f"[yellow]warning:[/yellow] {escape(problem)}")
    if output_format is OutputFormat.JSON:
        typer.echo(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode())
    elif output_format is OutputFormat.CYCLONEDX:
        typer.echo(report.to_cyclonedx())
    else:
        out = Console(highlight=False)
        if not out.is_terminal:  # a pipe or a CI log: do not squeeze the table into 80 columns
            out = Console(highlight=False, width=160)
        _print_table(report, out, osv_dir is not None)
    if fail_on is not None and (failing := report.at_or_above(fail_on)):
        err.print(f"{len(failing)} vulnerabilit{'y' if len(failing) == 1 else 'ies'} rated "
                  f"{fail_on} or worse")
        raise typer.Exit(code=1)


def _scan(name_or_path: str, database: OsvDatabase) -> ScanReport:
    path = Path(name_or_path)
    if path.exists():
        return scan_image(path, database)
    with tempfile.TemporaryDirectory(prefix="runwatch-scan-") as workdir:
        report = scan_image(save_image(name_or_path, Path(workdir)), database, name=name_or_path)
    return dataclasses.replace(report, source=f"podman:{name_or_path}")


def _print_table(report: ScanReport, console: Console, matched: bool) -> None:
    os_text = report.os.pretty_name or f"{report.os.id} {report.os.version_id}" if report.os else "unknown OS"
    image_id = f" ({report.id[:19]})" if report.id else ""
    console.print(f"[bold]{escape(report.name)}[/bold]{image_id}: {escape(os_text)}, "
                  f"{len(report.packages)} packages")
    if not matched:
        console.print("no advisories given (--osv-dir): packages were not matched")
        return
    counts = Counter(f.severity for f in report.findings)
    console.print(f"{len(report.findings)} vulnerabilities among {report.advisories} advisories: "
                  + ", ".join(f"{severity} {counts[severity]}" for severity in reversed(Severity)))
    if not report.findings:
        return
    table = Table(show_lines=False)
    for column in ("severity", "id", "CVE", "package", "installed", "fixed"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", overflow="fold", min_width=20)
    for finding in report.findings:
        table.add_row(f"[{_STYLES[finding.severity]}]{finding.severity}[/]", escape(finding.id),
                      escape(" ".join(a for a in finding.aliases if a.startswith("CVE-"))),
                      escape(finding.package.name),
                      escape(finding.installed_version), escape(finding.fixed_version or ""),
                      escape(finding.summary))
    console.print(table)
