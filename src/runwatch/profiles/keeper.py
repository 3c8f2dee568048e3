"""Keeps the profile detector and the store in step, every `sync_interval_s`.

It writes what the detector learned, then reads each profile's revision: a profile changed from
the CLI or API (mode, accepted items) is re-read and handed to the detector, so the change takes
effect within one interval. The detector is only touched from the event loop; the store only
from a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from runwatch.errors import StoreError
from runwatch.profiles.detector import ProfileDetector
from runwatch.profiles.state import ProfileChanges, StoredProfile

log = logging.getLogger(__name__)


class ProfileStore(Protocol):
    """What the keeper needs of the store (runwatch.store.profiles.SqlProfileStore)."""

    def apply(self, changes: ProfileChanges) -> None: ...

    def revisions(self) -> dict[str, int]: ...

    def load(self, workloads: list[str] | None = None) -> list[StoredProfile]: ...


class ProfileKeeper:
    """The daemon task behind profiles' persistence and live mode changes."""

    def __init__(self, detector: ProfileDetector, store: ProfileStore, interval_s: float) -> None:
        self.detector = detector
        self.store = store
        self.interval_s = interval_s
        self.write_errors = 0

    async def run(self) -> None:
        """Sync until cancelled, then once more so nothing learned is lost."""
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                await self.sync()
        finally:
            await asyncio.shield(self._write(self.detector.take_changes()))

    async def sync(self) -> None:
        if not await self._write(self.detector.take_changes()):
            return
        revisions = await asyncio.to_thread(self.store.revisions)
        known = self.detector.revisions()
        stale = sorted(name for name, revision in revisions.items() if known.get(name) != revision)
        if stale:
            self.detector.reload(await asyncio.to_thread(self.store.load, stale))

    async def _write(self, changes: ProfileChanges) -> bool:
        if not changes:
            return True
        try:
            await asyncio.to_thread(self.store.apply, changes)
        except StoreError as err:
            if self.write_errors == 0:
                log.error("profile write failed; keeping the changes for the next try",
                          extra={"error": err.message})
            self.write_errors += 1
            self.detector.changes = _merge(changes, self.detector.changes)
            return False
        return True


def _merge(older: ProfileChanges, newer: ProfileChanges) -> ProfileChanges:
    """Changes that could not be written, followed by those gathered since."""
    older.records.update(newer.records)
    older.modes.update(newer.modes)
    older.added.extend(newer.added)
    older.removed.extend(newer.removed)
    older.edges.extend(newer.edges)
    return older
