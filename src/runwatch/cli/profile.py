"""`runwatch profile`: the learned behaviour profiles, their modes, deviations to accept,
image diffs, and their export as policies."""

from __future__ import annotations

from typing import Annotated

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from runwatch.alerts.model import format_time
from runwatch.cli.options import ConfigOption, DataDirOption, read_config
from runwatch.config import Config
from runwatch.errors import ProfileError
from runwatch.profiles import admin
from runwatch.profiles.export import EXPORTERS
from runwatch.profiles.model import describe_item
from runwatch.profiles.state import Origin
from runwatch.store.sql import SqlStore, open_store

profile_app = typer.Typer(no_args_is_help=True,
                          help="Behaviour profiles: list, mode, accept, diff, export.")

WorkloadArgument = Annotated[str, typer.Argument(help="The workload, as `runwatch profile list` "
                                                      "names it (web@docker.io/library/nginx).")]


def _open(config_path: ConfigOption, data_dir: DataDirOption) -> tuple[Config, SqlStore]:
    config = read_config(config_path, {} if data_dir is None else {"data_dir": str(data_dir)})
    return config, open_store(config.resolved_store_url)


@profile_app.command("list")
def list_profiles(
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Every workload's profile: mode, items learned (by kind), image diff waiting, last change."""
    _, store = _open(config_path, data_dir)
    try:
        summaries = admin.list_profiles(store.profiles)
    finally:
        store.close()
    if as_json:
        for summary in summaries:
            typer.echo(msgspec.json.encode(summary).decode())
        return
    table = Table("workload", "mode", "items", "by kind", "image diff", "last change", box=None,
                  show_edge=False)
    for s in summaries:
        table.add_row(s.workload, str(s.mode), str(s.items),
                      " ".join(f"{kind}={n}" for kind, n in sorted(s.by_kind.items())),
                      str(s.image_diff or ""), format_time(s.updated_ns)[:19])
    Console(highlight=False).print(table)


@profile_app.command()
def show(
    workload: WorkloadArgument,
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """The items of one profile, kind by kind; image-diff items are marked."""
    _, store = _open(config_path, data_dir)
    try:
        profile = admin.get_profile(store.profiles, workload)
    finally:
        store.close()
    typer.echo(f"{profile.record.workload}  mode={profile.record.mode}")
    for item in profile.items:
        mark = "  (image diff)" if item.origin == Origin.IMAGE_DIFF else \
            "  (accepted)" if item.origin == Origin.ACCEPTED else ""
        typer.echo(f"  {item.kind:<11} {describe_item(item.kind, item.item)}{mark}")


@profile_app.command()
def mode(
    workload: WorkloadArgument,
    new_mode: Annotated[str, typer.Argument(metavar="MODE", help="learn, monitor or protect.")],
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Set a workload's mode; a running daemon follows within profiles.sync_interval_s."""
    _, store = _open(config_path, data_dir)
    try:
        record = admin.set_mode(store.profiles, workload, new_mode)
    finally:
        store.close()
    typer.echo(f"{record.workload}: {record.mode}")


@profile_app.command()
def accept(
    workload: Annotated[str | None, typer.Argument(help="The workload (not with --alert).")] = None,
    kind: Annotated[str | None, typer.Argument(help="Item kind: process, user, file_write, "
                                                    "file_read, outbound, inbound, listen, "
                                                    "capability, syscall.")] = None,
    fields: Annotated[list[str] | None, typer.Argument(help="The item's fields, e.g. "
                                                            "`/usr/bin/curl curl sh` for a process.")] = None,
    alert: Annotated[str | None, typer.Option(help="Accept what this profile alert flagged.")] = None,
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Accept a deviation into a profile: from an alert (--alert ID), or as KIND and fields."""
    _, store = _open(config_path, data_dir)
    try:
        if alert is not None:
            if workload is not None:
                raise ProfileError("give either --alert or WORKLOAD KIND FIELDS..., not both")
            workload, items = admin.accept_alert(store.profiles, store, alert)
        elif workload is None or kind is None or not fields:
            raise ProfileError("accept needs --alert ID, or WORKLOAD KIND FIELDS...")
        else:
            items = admin.accept_items(store.profiles, workload, kind, fields)
    finally:
        store.close()
    for item_kind, item in items:
        typer.echo(f"{workload}: accepted {item_kind} {describe_item(item_kind, item)}")


@profile_app.command()
def forget(
    workload: Annotated[str, typer.Argument(help="The workload.")],
    kind: Annotated[str, typer.Argument(help="Item kind, as `profile show` lists it.")],
    fields: Annotated[list[str], typer.Argument(help="The item's fields, e.g. `/bin/nc nc sh`.")],
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Take one learned item out of a profile; outside learn mode it alerts again."""
    _, store = _open(config_path, data_dir)
    try:
        item_kind, item = admin.forget_item(store.profiles, workload, kind, fields)
    finally:
        store.close()
    typer.echo(f"{workload}: forgot {item_kind} {describe_item(item_kind, item)}")


@profile_app.command()
def diff(
    workload: WorkloadArgument,
    decide: Annotated[str | None, typer.Option(
        "--decide", help="accept (into the profile) or reject (they alert again).")] = None,
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """What a workload's new image version does that its profile lacks; accept or reject it."""
    _, store = _open(config_path, data_dir)
    try:
        if decide is not None:
            if decide not in ("accept", "reject"):
                raise ProfileError(f"--decide: expected accept or reject, got {decide!r}")
            count = admin.resolve_image_diff(store.profiles, workload, decide == "accept")
            typer.echo(f"{workload}: {decide}ed {count} items of the image diff")
            return
        profile = admin.get_profile(store.profiles, workload)
    finally:
        store.close()
    change = profile.record.image_change
    if change is not None:
        typer.echo(f"{workload}: {change.previous} -> {change.current}")
    items = [i for i in profile.items if i.origin == Origin.IMAGE_DIFF]
    if not items:
        typer.echo("no image diff waiting")
    for item in items:
        typer.echo(f"+ {item.kind:<11} {describe_item(item.kind, item.item)}")


@profile_app.command()
def export(
    workload: WorkloadArgument,
    policy_format: Annotated[str, typer.Option(
        "--format", help=f"One of: {', '.join(EXPORTERS)}.")] = "kubearmor",
    config_path: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Print the profile as a policy: KubeArmor, Kubernetes NetworkPolicy, seccomp, Falco rules."""
    config, store = _open(config_path, data_dir)
    try:
        text = admin.export_profile(store.profiles, workload, policy_format,
                                    tuple(config.profiles.sensitive_read_prefixes))
    finally:
        store.close()
    typer.echo(text, nl=not text.endswith("\n"))
