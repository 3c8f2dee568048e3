"""A workload's profile as the detector holds it, and the records the store keeps of it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import msgspec

from runwatch.graph.map import Edge
from runwatch.profiles.model import Item, Kind, Mode, Profile
from runwatch.profiles.workload import Workload


class Origin(enum.StrEnum):
    """How an item came into a profile: learned, accepted by an admin, or seen from a new
    image version and waiting in its diff."""

    LEARNED = "learned"
    ACCEPTED = "accepted"
    IMAGE_DIFF = "image_diff"


class ImageChange(msgspec.Struct, kw_only=True):
    """A new image version of a workload: what it did that the profile lacks is collected until
    `until_ns`, then shown as a diff to accept or reject."""

    previous: str
    current: str
    started_ns: int
    until_ns: int
    reported: bool = False


class StoredItem(msgspec.Struct, frozen=True, kw_only=True):
    workload: str
    kind: Kind
    item: Item
    origin: Origin
    first_ns: int


class WorkloadRecord(msgspec.Struct, kw_only=True):
    """One profile's row: identity, mode and times. `revision` grows with every change made from
    outside the daemon (mode, accepted items), so the daemon knows to re-read it."""

    workload: str
    image_repository: str
    deployment: str
    mode: Mode
    created_ns: int
    updated_ns: int
    mode_changed_ns: int
    revision: int = 0
    namespace: str = ""
    selector: dict[str, str] = msgspec.field(default_factory=dict)
    images: list[str] = msgspec.field(default_factory=list)
    image_change: ImageChange | None = None


class StoredProfile(msgspec.Struct, kw_only=True):
    record: WorkloadRecord
    items: list[StoredItem]


@dataclass
class WorkloadState:
    """The detector's live view of one workload."""

    workload: Workload
    record: WorkloadRecord
    profile: Profile
    image_diff: set[tuple[Kind, Item]] = field(default_factory=set)

    @property
    def mode(self) -> Mode:
        return self.record.mode


@dataclass
class ProfileChanges:
    """What the detector learned since the last store write."""

    records: dict[str, WorkloadRecord] = field(default_factory=dict)
    modes: dict[str, tuple[Mode, int]] = field(default_factory=dict)  # own changes, with the
    # revision they were decided on: the store applies one only if nobody changed it meanwhile
    added: list[StoredItem] = field(default_factory=list)
    removed: list[tuple[str, Kind, Item]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.records or self.modes or self.added or self.removed or self.edges)
