"""The runtime source: what the container engine knows, as events with `evt.source: container`.

It keeps the inventory current (a full sync on connect, then the engine's event stream), turns
lifecycle events (create, start, die, oom, exec, ...) into events, and reads every running
container's cgroup usage on an interval (`container_stats` events, also kept for /metrics). An
unreachable engine is reported in /healthz and retried with back-off; detection goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from runwatch.config import RuntimeSourceConfig
from runwatch.errors import SourceError
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.runtime.client import EngineClient, EngineError, EngineUnavailable, find_engine_socket
from runwatch.inventory import CONTAINER_FIELDS, ContainerRecord, Inventory, record_from_inspect
from runwatch.sources.runtime.usage import CgroupReader, Usage, cpu_percent

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# Engine actions (Docker's and Podman's spellings) -> runwatch event types.
_EVENT_TYPES = {
    "create": "container_create", "start": "container_start", "restart": "container_start",
    "die": "container_die", "died": "container_die", "oom": "container_oom",
    "exec": "container_exec", "exec_start": "container_exec", "exec_create": "container_exec",
    "pause": "container_pause", "unpause": "container_unpause", "stop": "container_stop",
    "kill": "container_kill", "destroy": "container_destroy", "remove": "container_destroy",
    "cleanup": None, "init": None, "exec_died": None, "attach": None, "resize": None,
}


@dataclass(frozen=True, slots=True)
class ContainerUsage:
    """The latest reading of one container, with its CPU rate since the reading before."""

    record: ContainerRecord
    usage: Usage
    cpu_percent: float


class RuntimeSource:
    """Inventory, lifecycle events and resource usage from the container engine."""

    name = "runtime"
    fields = CONTAINER_FIELDS | frozenset({
        "evt.type", "evt.source", "evt.category", "evt.time", "evt.arg.exit_code",
        "evt.arg.restart", "container.cpu_percent", "container.memory_bytes",
        "container.memory_limit_bytes", "container.memory_percent", "container.pids",
        "container.net_rx_bytes", "container.net_tx_bytes"})
    """What its events carry (its lifecycle and usage events, with the container's fields)."""

    def __init__(self, config: RuntimeSourceConfig, inventory: Inventory,
                 environ: Mapping[str, str] | None = None, cgroups: CgroupReader | None = None) -> None:
        self.config = config
        self.inventory = inventory
        self.url = find_engine_socket(config.socket, os.environ if environ is None else environ)
        self.cgroups = cgroups or CgroupReader()
        self.status = SourceStatus()
        self.usage: dict[str, ContainerUsage] = {}
        self.engine_version: str | None = None
        self._lookup_client = EngineClient(self.url, config.timeout_s) if self.url else None
        self._failed_lookups: dict[str, float] = {}

    def lookup_container(self, container_id: str) -> ContainerRecord | None:
        """Inspect one container now (blocking) and remember it; None if the engine cannot say.

        For enrichers that meet a container before its start event arrives. Failures are
        remembered for 10 s so a dead engine is not asked once per event.
        """
        if self._lookup_client is None:
            return None
        now = time.monotonic()
        if now - self._failed_lookups.get(container_id, -1e9) < 10.0:
            return None
        try:
            record = self._inspect(self._lookup_client, container_id)
        except SourceError:
            self._failed_lookups[container_id] = now
            return None
        self.inventory.put(record)
        return record

    async def events(self) -> AsyncIterator[list[Event]]:
        if self.url is None:
            raise SourceError("no container engine socket found: set sources.runtime.socket, "
                              "$DOCKER_HOST, or start `podman system service`")
        queue: asyncio.Queue[list[Event]] = asyncio.Queue(maxsize=1000)
        tasks = [asyncio.create_task(self._watch(queue), name="runtime:watch"),
                 asyncio.create_task(self._sample(queue), name="runtime:usage")]
        try:
            while True:
                batch = await queue.get()
                self.status.events_total += len(batch)
                yield batch
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._lookup_client is not None:
                self._lookup_client.close()

    async def _watch(self, queue: asyncio.Queue[list[Event]]) -> None:
        """Connect, sync the inventory, follow the event stream; on loss, retry with back-off."""
        assert self.url is not None
        delay_s, since_s = 1.0, time.time()
        loop = asyncio.get_running_loop()
        while True:
            client = EngineClient(self.url, self.config.timeout_s)
            try:
                self.engine_version = await asyncio.to_thread(client.ping)
                await asyncio.to_thread(self._sync_inventory, client)
                self.status.state, self.status.error, delay_s = "running", None, 1.0
                log.info("container engine connected",
                         extra={"engine": self.engine_version, "url": self.url,
                                "containers": len(self.inventory)})
                stream_client = EngineClient(self.url, timeout_s=3600.0)
                try:
                    since_s = await _in_daemon_thread(self._pump, stream_client, since_s, loop, queue)
                finally:
                    stream_client.close()  # unblocks the thread's read when we were cancelled
            except EngineUnavailable as err:
                if self.status.state != "retrying":
                    log.error("container engine unreachable; retrying", extra={"error": err.message})
                self.status.state, self.status.error = "retrying", err.message
            finally:
                client.close()
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 30.0)

    def _sync_inventory(self, client: EngineClient) -> None:
        """Make the inventory exactly what the engine has now."""
        present = set()
        for full_id in client.list_container_ids():
            try:
                record = self._inspect(client, full_id)
            except EngineError:
                continue  # removed between list and inspect
            self.inventory.put(record)
            present.add(record.id)
        for record in self.inventory.all():
            if record.id not in present:
                self.inventory.remove(record.id)

    def _inspect(self, client: EngineClient, full_id: str) -> ContainerRecord:
        """A fresh record; the image digest is asked for once per container, then carried over."""
        doc = client.inspect(full_id)
        known = self.inventory.get(full_id)
        digest = known.image_digest if known is not None and known.image_digest else \
            client.image_digest(str(doc.get("Image", "")))
        return record_from_inspect(doc, self._runtime_name(), digest)

    def _pump(self, client: EngineClient, since_s: float, loop: asyncio.AbstractEventLoop,
              queue: asyncio.Queue[list[Event]]) -> float:
        """Runs in a thread: follow the engine's events until the stream ends; returns the last time."""
        for raw in client.events(since_s):
            since_s = max(since_s, float(raw.get("time", since_s)))
            event = self._lifecycle_event(client, raw)
            if event is not None:
                loop.call_soon_threadsafe(self._enqueue, queue, [event])
        raise EngineUnavailable(f"container engine at {self.url}: event stream ended")

    def _enqueue(self, queue: asyncio.Queue[list[Event]], batch: list[Event]) -> None:
        """In the loop: hand a batch on; a full queue (the pipeline is stuck) counts a loss."""
        try:
            queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.status.lost_total += len(batch)

    def _lifecycle_event(self, client: EngineClient, raw: dict[str, Any]) -> Event | None:
        action = str(raw.get("Action") or raw.get("status") or "").partition(":")[0].strip()
        evt_type = _EVENT_TYPES.get(action)
        actor = raw.get("Actor") or {}
        full_id = str(actor.get("ID") or raw.get("id") or "")
        if evt_type is None or not full_id:
            return None
        previous = self.inventory.get(full_id)
        record = previous
        if evt_type != "container_destroy":
            try:
                record = self._inspect(client, full_id)
                self.inventory.put(record)
            except EngineError:
                record = previous
        if record is None:
            return None
        event: Event = {"evt.type": evt_type, "evt.source": "container", "evt.category": "container",
                        "evt.time": int(raw.get("timeNano") or time.time_ns()),
                        **record.falco_fields()}
        attributes = actor.get("Attributes") or {}
        if evt_type == "container_die":
            code = attributes.get("exitCode", attributes.get("containerExitCode"))
            if code is not None and str(code).lstrip("-").isdigit():
                event["evt.arg.exit_code"] = int(code)
        if evt_type == "container_start":
            is_restart = previous is not None and previous.started_ns > 0 and \
                previous.started_ns != record.started_ns
            event["evt.arg.restart"] = is_restart
        if evt_type == "container_destroy":
            self.inventory.remove(full_id)
        return event

    async def _sample(self, queue: asyncio.Queue[list[Event]]) -> None:
        while True:
            await asyncio.sleep(self.config.metrics_interval_s)
            batch = await asyncio.to_thread(self._read_usage)
            if batch:
                await queue.put(batch)

    def _read_usage(self) -> list[Event]:
        batch: list[Event] = []
        running = {r.id: r for r in self.inventory.all() if r.state == "running" and r.pid > 0}
        for container_id in [cid for cid in self.usage if cid not in running]:
            del self.usage[container_id]
        for record in running.values():
            usage = self.cgroups.read(record.pid)
            if usage is None:
                continue
            previous = self.usage.get(record.id)
            cpu = cpu_percent(previous.usage if previous else None, usage)
            self.usage[record.id] = ContainerUsage(record, usage, cpu)
            batch.append({"evt.type": "container_stats", "evt.source": "container",
                          "evt.category": "container", "evt.time": usage.time_ns,
                          **record.falco_fields(),
                          "container.cpu_percent": round(cpu, 2),
                          "container.memory_bytes": usage.memory_bytes,
                          "container.memory_limit_bytes": usage.memory_limit_bytes,
                          "container.memory_percent": round(usage.memory_percent, 2),
                          "container.pids": usage.pids,
                          "container.net_rx_bytes": usage.net_rx_bytes,
                          "container.net_tx_bytes": usage.net_tx_bytes})
        return batch

    def _runtime_name(self) -> str:
        return "podman" if self.engine_version and "podman" in self.engine_version.lower() else "docker"


async def _in_daemon_thread(fn: Callable[..., _T], *args: Any) -> _T:
    """Run a blocking call in its own daemon thread: unlike `asyncio.to_thread`, a read that
    never returns cannot hold up the event loop's shutdown (or the process's exit)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def run() -> None:
        result, error = None, None
        try:
            result = fn(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the awaiting task
            error = err
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting
            loop.call_soon_threadsafe(_settle, future, result, error)

    threading.Thread(target=run, name=getattr(fn, "__name__", "engine"), daemon=True).start()
    return await future


def _settle(future: asyncio.Future[_T], result: _T | None, error: BaseException | None) -> None:
    if future.done():  # the awaiting task was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]
