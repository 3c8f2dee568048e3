"""Container metadata on every event: name, image, labels, privileged, mounts, Kubernetes pod.

The inventory (kept by the runtime source) answers from memory. A process can run in a container
before the engine announces it, so `prefetch` inspects unknown containers once, in a thread, before
the batch is enriched; a failed lookup is not retried per event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from runwatch.enrich.container_id import HOST
from runwatch.event import Event
from runwatch.inventory import ContainerRecord, Inventory

LookupContainer = Callable[[str], ContainerRecord | None]


class ContainerMetaEnricher:
    """Copies a container's `container.*` and `k8s.*` fields onto each of its events."""

    name = "container_meta"
    fields = frozenset({"container.full_id", "container.name", "container.image",
                        "container.image.id", "container.image.repository", "container.image.tag",
                        "container.image.digest", "container.privileged", "container.mounts",
                        "container.type", "container.label", "container.start_ts",
                        "container.mount.dest", "container.mount.source", "k8s.pod.name",
                        "k8s.ns.name", "k8s.pod.uid", "k8s.pod.label"})
    """The fields it adds (rules using fields nothing provides are reported at load)."""

    def __init__(self, inventory: Inventory, lookup: LookupContainer | None = None) -> None:
        self.inventory = inventory
        self.lookup = lookup

    async def prefetch(self, batch: list[Event]) -> None:
        """Look up, all at once and off the event loop, the containers the inventory lacks."""
        if self.lookup is None:
            return
        unknown = {cid for event in batch
                   if isinstance(cid := event.get("container.id"), str) and cid != HOST
                   and "container.image" not in event and self.inventory.get(cid) is None}
        if unknown:
            await asyncio.gather(*(asyncio.to_thread(self.lookup, cid) for cid in unknown))

    def enrich(self, batch: list[Event]) -> None:
        for event in batch:
            cid = event.get("container.id")
            if not isinstance(cid, str) or cid == HOST or "container.image" in event:
                continue
            record = self.inventory.get(cid)
            if record is not None:
                for key, value in record.falco_fields().items():
                    event.setdefault(key, value)
