"""Undoing a response from the API: find the record, reverse the action through the engine, and
mark it undone, exactly as `runwatch respond undo` does from the terminal."""

from __future__ import annotations

import time

from runwatch.errors import RunwatchError
from runwatch.respond.actions import undo as undo_action
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.sources.runtime.client import EngineClient
from runwatch.store.base import Store


class ResponseDesk:
    """Undo for stored responses; `engine_url` is the container engine's socket (None: none found)."""

    def __init__(self, store: Store, engine_url: str | None, timeout_s: float) -> None:
        self.store = store
        self.engine_url = engine_url
        self.timeout_s = timeout_s

    def undo(self, response_id: str) -> ResponseRecord | None:
        """The record marked undone; None if there is none; RunwatchError if it cannot be undone.

        Blocks on the engine: call from a worker thread.
        """
        record = self.store.get_response(response_id)
        if record is None:
            return None
        if record.status != ResponseStatus.DONE or not record.container_id:
            raise RunwatchError(f"response {response_id} is {record.status}: nothing to undo")
        if self.engine_url is None:
            raise RunwatchError("no container engine socket found: set sources.runtime.socket")
        client = EngineClient(self.engine_url, self.timeout_s)
        try:
            undo_action(client, record.action, record.container_id, record.details)
        finally:
            client.close()
        return self.store.mark_response_undone(response_id, time.time_ns())
