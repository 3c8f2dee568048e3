"""What people do with profiles, for the CLI and the API alike: list, read, change the mode,
accept deviations, forget items learned by mistake, decide on image diffs. Every bad request is
a ProfileError naming what."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from runwatch.errors import ProfileError
from runwatch.profiles.export import EXPORTERS, ExportContext
from runwatch.profiles.model import Item, Kind, Mode, check_item, parse_kind, parse_mode
from runwatch.profiles.state import Origin, StoredProfile, WorkloadRecord
from runwatch.store.base import ProfileStore, StoredAlert


class AlertLookup(Protocol):
    def get_alert(self, alert_id: str) -> StoredAlert | None: ...


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """One line of `runwatch profile list`."""

    workload: str
    mode: Mode
    items: int
    by_kind: dict[str, int]
    image_diff: int
    updated_ns: int
    image: str | None


def summarise(profile: StoredProfile) -> ProfileSummary:
    learned = [i for i in profile.items if i.origin != Origin.IMAGE_DIFF]
    by_kind: dict[str, int] = {}
    for item in learned:
        by_kind[str(item.kind)] = by_kind.get(str(item.kind), 0) + 1
    record = profile.record
    return ProfileSummary(workload=record.workload, mode=record.mode, items=len(learned),
                          by_kind=by_kind, image_diff=len(profile.items) - len(learned),
                          updated_ns=record.updated_ns,
                          image=record.images[-1] if record.images else None)


def list_profiles(store: ProfileStore) -> list[ProfileSummary]:
    return [summarise(profile) for profile in store.load()]


def get_profile(store: ProfileStore, workload: str) -> StoredProfile:
    profile = store.get(workload)
    if profile is None:
        raise ProfileError(_unknown(store, workload))
    return profile


def set_mode(store: ProfileStore, workload: str, mode: str) -> WorkloadRecord:
    """Change a workload's mode; the running daemon follows within its sync interval."""
    try:
        wanted = parse_mode(mode)
    except ValueError as err:
        raise ProfileError(str(err)) from None
    record = store.set_mode(workload, wanted, time.time_ns())
    if record is None:
        raise ProfileError(_unknown(store, workload))
    return record


def accept_items(store: ProfileStore, workload: str, kind: str, fields: list[str]
                 ) -> list[tuple[Kind, Item]]:
    """Accept one item, given as its kind and fields (`process /usr/bin/curl curl sh`)."""
    return _accept(store, workload, [_parse_item(kind, fields)])


def _parse_item(kind: str, fields: list[str]) -> tuple[Kind, Item]:
    try:
        parsed = parse_kind(kind)
        return parsed, check_item(parsed, tuple(fields))
    except ValueError as err:
        raise ProfileError(str(err)) from None


def accept_alert(store: ProfileStore, alerts: AlertLookup, alert_id: str
                 ) -> tuple[str, list[tuple[Kind, Item]]]:
    """Accept what a profile alert flagged into its workload's profile."""
    stored = alerts.get_alert(alert_id)
    if stored is None:
        raise ProfileError(f"no alert with id {alert_id}")
    fields = stored.alert.output_fields
    workload, listed = fields.get("profile.workload"), fields.get("profile.items")
    if not isinstance(workload, str) or not isinstance(listed, list) or not listed:
        raise ProfileError(f"alert {alert_id} ({stored.alert.rule!r}) is not a profile deviation: "
                           f"it names no profile items to accept")
    items: list[tuple[Kind, Item]] = []
    for entry in listed:
        try:
            kind = parse_kind(str(entry[0]))
            items.append((kind, check_item(kind, tuple(str(part) for part in entry[1:]))))
        except (ValueError, IndexError, TypeError) as err:
            raise ProfileError(f"alert {alert_id}: profile.items holds {entry!r}: {err}") from None
    return workload, _accept(store, workload, items)


def _accept(store: ProfileStore, workload: str, items: list[tuple[Kind, Item]]
            ) -> list[tuple[Kind, Item]]:
    if store.accept(workload, items, time.time_ns()) is None:
        raise ProfileError(_unknown(store, workload))
    return items


def forget_item(store: ProfileStore, workload: str, kind: str, fields: list[str]
                ) -> tuple[Kind, Item]:
    """Take one item out of a profile: something learned that should not have been (an attack
    during the learning window, a one-off debugging shell). Outside learn mode it alerts again."""
    parsed, item = _parse_item(kind, fields)
    removed = store.forget(workload, [(parsed, item)], time.time_ns())
    if removed is None:
        raise ProfileError(_unknown(store, workload))
    if removed == 0:
        raise ProfileError(f"{workload!r} has no {parsed} item {' '.join(item)!r} in its profile")
    return parsed, item


def resolve_image_diff(store: ProfileStore, workload: str, accept: bool) -> int:
    """Accept or reject what a new image version did; returns how many items."""
    count = store.resolve_image_diff(workload, accept, time.time_ns())
    if count is None:
        raise ProfileError(_unknown(store, workload))
    return count


def export_profile(store: ProfileStore, workload: str, policy_format: str,
                   sensitive_prefixes: tuple[str, ...] = ("/etc/",)) -> str:
    """The profile as a policy in one of EXPORTERS' formats."""
    exporter = EXPORTERS.get(policy_format)
    if exporter is None:
        raise ProfileError(f"unknown export format {policy_format!r} (expected one of: "
                           f"{', '.join(EXPORTERS)})")
    profiles = {p.record.workload: p for p in store.load()}
    profile = profiles.get(workload)
    if profile is None:
        raise ProfileError(_unknown(store, workload))
    others = {name: p.record for name, p in profiles.items()}
    return exporter(ExportContext(profile, others, sensitive_prefixes))


def _unknown(store: ProfileStore, workload: str) -> str:
    known = [profile.record.workload for profile in store.load()]
    hint = f" (known: {', '.join(known[:10])}{', ...' if len(known) > 10 else ''})" if known \
        else " (no profiles yet: the daemon learns them from running containers)"
    return f"no profile for workload {workload!r}{hint}"
