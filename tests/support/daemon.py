"""The real Daemon in a background thread with its own event loop, so a test can talk to its HTTP
server with blocking clients (httpx, a browser) while it detects."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from runwatch.config import Config, parse_listen
from runwatch.daemon import Daemon, Pipeline
from runwatch.event import Event
from runwatch.sources.base import SourceStatus
from runwatch.sources.ebpf import EbpfSource
from runwatch.store.sql import SqlStore, open_store
from tests.support.net import wait_for_port
from tests.support.waiting import eventually


class PushSource:
    """Events a test pushes from any thread, one batch per push."""

    name = "push"

    def __init__(self) -> None:
        self.status = SourceStatus()
        self.queue: asyncio.Queue[list[Event]] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.is_ready = threading.Event()

    async def events(self) -> AsyncIterator[list[Event]]:
        self.loop, self.queue = asyncio.get_running_loop(), asyncio.Queue()
        self.status.state = "running"
        self.is_ready.set()
        while True:
            batch = await self.queue.get()
            self.status.events_total += len(batch)
            yield batch

    def push(self, *events: Event) -> None:
        assert self.is_ready.wait(10), "the push source never started"
        assert self.loop is not None and self.queue is not None
        self.loop.call_soon_threadsafe(self.queue.put_nowait, [dict(e) for e in events])


class DaemonThread:
    """Runs `daemon.run()` in a thread; `base_url` answers once started; `stop` drains it."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        host, port = parse_listen(daemon.config.listen)
        self.base_url = f"http://{host}:{port}"
        self._port, self._host = port, host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="daemon", daemon=True)

    def start(self, timeout_s: float = 90.0) -> DaemonThread:
        self._thread.start()
        if not self._started.wait(timeout_s):
            raise TimeoutError(f"daemon not ready after {timeout_s}s")
        if self._error is not None:
            raise self._error
        wait_for_port(self._port, timeout_s=10, host=self._host)
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            running = asyncio.create_task(self.daemon.run())
            ready = asyncio.create_task(self.daemon.ready.wait())
            await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
            self._started.set()
            await running

        try:
            asyncio.run(main())
        except BaseException as err:  # kept for the test thread, which re-raises it
            self._error = err
            self._started.set()

    def stop(self, timeout_s: float = 60.0) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.daemon.request_stop)
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "daemon did not stop"
        if self._error is not None:
            raise self._error


@contextlib.asynccontextmanager
async def sensing_daemon(config: Config, pipeline: Pipeline, sources_timeout_s: float = 90.0
                         ) -> AsyncIterator[tuple[Daemon, SqlStore]]:
    """The real daemon on the test's own loop, with the kernel sensor, once every source runs;
    and its store opened for the test. Stopped (every stage drained) on the way out.

    Blocking calls in the body (podman, exec) must go through asyncio.to_thread: the daemon
    shares the loop.
    """
    assert any(isinstance(s, EbpfSource) for s in pipeline.sources), "the kernel sensor must run here"
    daemon = Daemon(config, pipeline)
    running = asyncio.create_task(daemon.run())
    store = open_store(config.resolved_store_url)
    try:
        await asyncio.wait_for(daemon.ready.wait(), 30)
        await eventually(lambda: all(s.status.state == "running" for s in pipeline.sources),
                         sources_timeout_s)
        yield daemon, store
    finally:
        daemon.request_stop()
        await asyncio.wait_for(running, 60)
        store.close()
