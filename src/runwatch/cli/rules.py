"""`runwatch rules`: check Falco rules files, list their rules, and test them against events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from runwatch.errors import Location, RuleError
from runwatch.rules.falco import DEFAULT_RULES_FILE, FalcoDetector, LoadResult, load_rules
from runwatch.rules.falco.event_input import EventInputError, normalize_event

rules_app = typer.Typer(no_args_is_help=True, help="Check, list and test Falco rules files.")

FilesArgument = Annotated[list[Path], typer.Argument(
    help="Falco rules files, loaded in order (later files override earlier ones).",
    exists=True, dir_okay=False)]
MatchingOption = Annotated[str, typer.Option(
    "--rule-matching", help="first: an event raises at most one alert (Falco's default); "
                            "all: one per matching rule.")]


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _matching(value: str) -> Literal["first", "all"]:
    if value == "first":
        return "first"
    if value == "all":
        return "all"
    raise typer.BadParameter(f"expected first or all, got {value!r}", param_hint="--rule-matching")


def _report(result: LoadResult, console: Console, show_warnings: bool = True) -> None:
    for error in result.errors:
        console.print(f"[bold red]error:[/bold red] {escape(str(error))}")
    if show_warnings:
        for warning in result.warnings:
            console.print(f"[yellow]warning:[/yellow] {escape(str(warning))}")


@rules_app.command()
def validate(
    files: FilesArgument,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print warnings.")] = False,
) -> None:
    """Load rules files as the daemon would; print counts, or every error with file and line."""
    result = load_rules(files)
    console = _err()
    _report(result, console, show_warnings=not quiet)
    summary = (f"{result.rule_count} rules, {result.macro_count} macros, {result.list_count} "
               f"lists; {len(result.errors)} errors, {len(result.warnings)} warnings")
    if result.errors:
        raise RuleError(f"invalid rules: {summary}")
    typer.echo(f"ok: {summary}")


@rules_app.command(name="list")
def list_rules(
    files: Annotated[list[Path] | None, typer.Argument(
        help="Falco rules files (default: Falco's stable ruleset shipped with runwatch).",
        exists=True, dir_okay=False)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List the rules: name, priority, source, enabled, event types and tags."""
    result = load_rules(files or [DEFAULT_RULES_FILE])
    _report(result, _err(), show_warnings=False)
    if result.errors:
        raise RuleError(f"invalid rules: {len(result.errors)} errors")
    rules = result.ruleset.rules
    if as_json:
        for rule in rules:
            types = sorted(rule.event_types.names)
            typer.echo(orjson.dumps({
                "rule": rule.name, "priority": rule.priority.label, "source": rule.source,
                "enabled": rule.enabled, "tags": list(rule.tags),
                "event_types": None if rule.event_types.is_complement else types,
                "file": rule.location.path, "line": rule.location.line}).decode())
        return
    table = Table("rule", "priority", "enabled", "event types", "tags", box=None, show_edge=False)
    for rule in rules:
        shown = "all" if rule.event_types.is_complement else \
            ",".join(sorted(rule.event_types.names))
        table.add_row(escape(rule.name), rule.priority.label, "yes" if rule.enabled else "no",
                      shown, escape(",".join(rule.tags)))
    Console(highlight=False, soft_wrap=True).print(table)


@rules_app.command()
def test(
    rules: Annotated[list[Path], typer.Option(
        "--rules", "-r", help="Falco rules file; repeat for several, loaded in order.",
        exists=True, dir_okay=False)],
    events: Annotated[Path, typer.Option(
        "--events", "-e", help="JSON lines: one event a line, Falco field names to values "
                               "(proc.aname[2] style keys for indexed fields).",
        exists=True, dir_okay=False)],
    rule_matching: MatchingOption = "first",
    hostname: Annotated[str, typer.Option(help="Hostname for events without evt.hostname.")]
    = "runwatch-test",
) -> None:
    """Print the alerts each event raises, in event order, as Falco JSON lines."""
    result = load_rules(rules, _matching(rule_matching))
    console = _err()
    _report(result, console, show_warnings=False)
    if result.errors:
        raise RuleError(f"invalid rules: {len(result.errors)} errors")
    detector = FalcoDetector(result.ruleset, hostname)
    bad_lines = 0
    with events.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                raw = orjson.loads(line)
                if not isinstance(raw, dict):
                    raise EventInputError("expected a JSON object of field names to values")
                event = normalize_event(raw)
            except (orjson.JSONDecodeError, EventInputError) as err:
                console.print(f"[bold red]error:[/bold red] {escape(str(events))}:{number}: "
                              f"{escape(str(err))}")
                bad_lines += 1
                continue
            for alert in detector.match([event]):
                body = alert.to_falco_json()
                body["event_line"] = number
                typer.echo(orjson.dumps(body).decode())
    if bad_lines:
        raise RuleError(f"{bad_lines} event lines could not be read", Location(str(events)))
