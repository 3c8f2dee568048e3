"""What every policy exporter gets: the profile, and every other profile to name its peers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from runwatch.profiles.generalise import WILDCARD
from runwatch.profiles.model import Item, Kind
from runwatch.profiles.state import Origin, StoredProfile, WorkloadRecord

# Programs run through a file descriptor or /proc/self/exe have no path a policy can allow.
_PATHLESS = ("/proc/self/", "/proc/*/", "/dev/fd/", "memfd:")


@dataclass(frozen=True, slots=True)
class ExportContext:
    """The profile to export and the others by workload name (peers in network policies)."""

    profile: StoredProfile
    others: dict[str, WorkloadRecord]
    sensitive_prefixes: tuple[str, ...] = ("/etc/",)  # where reads were learned (profiles config)

    @property
    def record(self) -> WorkloadRecord:
        return self.profile.record

    def items(self, kind: Kind) -> list[Item]:
        """Learned and accepted items of a kind; an image diff waiting for a decision is left out."""
        return sorted(i.item for i in self.profile.items
                      if i.kind == kind and i.origin != Origin.IMAGE_DIFF)

    def program_paths(self) -> list[str]:
        return sorted({item[0] for item in self.items(Kind.PROCESS)
                       if not item[0].startswith(_PATHLESS)})

    @property
    def slug(self) -> str:
        """A DNS-1123 name for the workload: `web@localhost/app` -> `web-localhost-app`."""
        text = re.sub(r"[^a-z0-9]+", "-", self.record.workload.lower()).strip("-")
        return text[:63].rstrip("-") or "workload"


Exporter = Callable[[ExportContext], str]


def is_pattern(path: str) -> bool:
    return WILDCARD in path
