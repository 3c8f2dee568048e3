"""The real kernel sensor for tests: bpftrace running in a background thread, events enriched as
the daemon enriches them (ancestry, user names), and ways to wait for the events a test expects."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from runwatch.config import EbpfSourceConfig
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher
from runwatch.enrich.users import UserNameEnricher
from runwatch.event import Event
from runwatch.sources.ebpf import EbpfSource

Predicate = Callable[[Event], bool]


class RunningSensor:
    """EbpfSource in a thread with its own event loop; every event it yields is kept."""

    def __init__(self, config: EbpfSourceConfig | None = None,
                 event_types: frozenset[str] | None = None) -> None:
        self.tree = ProcessTree()
        self.source = EbpfSource(config or EbpfSourceConfig(), self.tree, event_types)
        self.enrichers = [ProcessTreeEnricher(self.tree),
                          UserNameEnricher(container_pids=self.source.cgroups.container_pids)]
        self.events: list[Event] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run_loop, name="sensor", daemon=True)

    def start(self, timeout_s: float = 90.0) -> RunningSensor:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while self.source.status.state != "running":
            self._raise_if_failed()
            assert time.monotonic() < deadline, f"sensor not running after {timeout_s}s"
            time.sleep(0.05)
        return self

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._consume())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as err:  # kept for the test thread, which re-raises it
            self._error = err
        finally:
            self._loop.close()

    async def _consume(self) -> None:
        async for batch in self.source.events():
            for enricher in self.enrichers:
                enricher.enrich(batch)
            with self._lock:
                self.events.extend(batch)

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def mark(self) -> int:
        """A position in the event list: `wait_for(..., since=mark)` looks only after it."""
        with self._lock:
            return len(self.events)

    def find(self, predicate: Predicate, since: int = 0) -> list[Event]:
        with self._lock:
            return [event for event in self.events[since:] if predicate(event)]

    def wait_for(self, predicate: Predicate, count: int = 1, timeout_s: float = 5.0,
                 since: int = 0) -> list[Event]:
        """The matching events once there are `count`; AssertionError with the near misses if not."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.find(predicate, since)
            if len(found) >= count:
                return found
            self._raise_if_failed()
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} expected events after {timeout_s}s "
                                     f"({self.mark() - since} events seen)")
            time.sleep(0.02)

    def pause(self, seconds: float) -> None:
        """Block the sensor's loop (so nothing reads bpftrace's output) for `seconds`."""
        self._loop.call_soon_threadsafe(time.sleep, seconds)

    def stop(self) -> None:
        if self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "sensor thread did not stop"


def matching(fields: dict[str, object]) -> Predicate:
    """A predicate on exact field values: `matching({"evt.type": "openat", "proc.name": "cat"})`."""
    return lambda event: all(event.get(key) == value for key, value in fields.items())


@pytest.fixture(scope="module")
def kernel_sensor() -> Iterator[RunningSensor]:
    """The kernel sensor tracing every event type it supports, for a module of tests."""
    assert os.geteuid() == 0, "the kernel sensor needs root"
    sensor = RunningSensor().start()
    try:
        yield sensor
    finally:
        sensor.stop()


ATTACK_TOOL_SOURCE = Path(__file__).with_name("attack_tool.c")


@pytest.fixture(scope="session")
def attack_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static binary doing what busybox cannot (memfd exec, ptrace, packet sockets); it runs
    in any container. Built from attack_tool.c with gcc (scripts/bootstrap.sh test installs it)."""
    assert shutil.which("gcc"), "gcc is not installed (scripts/bootstrap.sh test installs it)"
    binary = tmp_path_factory.mktemp("tools") / "attack-tool"
    subprocess.run(["gcc", "-static", "-O2", "-o", str(binary), str(ATTACK_TOOL_SOURCE)],
                   check=True, capture_output=True, timeout=120)
    return binary
