"""The daemon: wires sources -> enrich -> bus -> detect -> alerts -> outputs/store, and runs them.

Every stage is an asyncio task reading batches from a bounded edge. The one place where components
are chosen and plugged in is `build_pipeline`; the `Daemon` only moves batches between them, counts
what happens, and shuts down in flow order so nothing already accepted is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import orjson
import uvicorn
from prometheus_client.registry import Collector

from runwatch.alerts.dedup import AlertDeduplicator
from runwatch.anomaly import RateAnomalyDetector
from runwatch.alerts.fanout import AlertFanout, OutputWorker
from runwatch.alerts.model import Alert, Priority
from runwatch.alerts.outputs import FileOutput, StdoutOutput, WebhookOutput
from runwatch.bus.edge import Edge
from runwatch.bus.memory import MemoryBus
from runwatch.config import Config, OutputsConfig, SigmaRulesConfig, parse_listen
from runwatch.enrich.base import Enricher, Prefetcher
from runwatch.enrich.container_meta import ContainerMetaEnricher
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher
from runwatch.enrich.redaction import SecretRedactor
from runwatch.enrich.users import UserNameEnricher
from runwatch.errors import ConfigError, SourceError, StoreError
from runwatch.event import Event
from runwatch.health import Health, StageCounters
from runwatch.inventory import Inventory
from runwatch.profiles import OBSERVED_EVENT_TYPES, ProfileDetector, ProfileKeeper
from runwatch.profiles.syscalls import SyscallCountSource
from runwatch.respond.desk import ResponseDesk
from runwatch.respond.responder import Responder
from runwatch.rules.base import Detector
from runwatch.rules.catalog import RuleCatalog
from runwatch.rules.falco.detector import FalcoDetector
from runwatch.rules.falco.ruleset import DEFAULT_RULES_FILE, K8S_AUDIT_RULES_FILE
from runwatch.rules.falco.reload import RulesReloader, load_detector, report_unprovided_fields
from runwatch.rules.secret_leak import SecretLeakDetector
from runwatch.rules.sigma import SIGMA_RULES_DIR, SigmaDetector, load_sigma_rules
from runwatch.rules.thresholds import ThresholdDetector
from runwatch.scan import SecretRuleError, SecretRules, load_secret_rules
from runwatch.sources.base import Source
from runwatch.sources.ebpf import EbpfSource, why_not
from runwatch.sources.logs.container_logs import ContainerLogSource
from runwatch.sources.logs.positions import PositionFile
from runwatch.sources.logs.source import LogSource, log_files
from runwatch.sources.logs.webhook import AuditWebhookSource
from runwatch.sources.procfs import ProcfsSource
from runwatch.sources.runtime.client import EngineClient
from runwatch.sources.runtime.metrics import ContainerUsageCollector
from runwatch.sources.runtime.source import RuntimeSource
from runwatch.store.base import Store
from runwatch.store.sql import open_store
from runwatch.web.app import create_app
from runwatch.web.base import WebParts
from runwatch.web.stream import AlertStream

log = logging.getLogger(__name__)

INTERNAL_DROP_RULE = "runwatch internal: events dropped"
KERNEL_DROP_RULE = "runwatch internal: syscall event drop"
_DROP_CHECK_INTERVAL_S = 10.0
_ALERT_BATCH = 256
_STORE_BATCH = 2_000


@dataclass
class Pipeline:
    """The components one daemon runs; `build_pipeline` chooses them from the config."""

    sources: list[Source]
    enrichers: list[Enricher]
    detectors: list[Detector]
    outputs: list[OutputWorker]
    store: Store
    process_tree: ProcessTree = field(default_factory=ProcessTree)
    inventory: Inventory = field(default_factory=Inventory)
    prefetchers: list[Prefetcher] = field(default_factory=list)
    collectors: list[Collector] = field(default_factory=list)
    rules_reloader: RulesReloader | None = None
    profile_keeper: ProfileKeeper | None = None


def build_pipeline(config: Config, event_types: frozenset[str] | None = None) -> Pipeline:
    """Choose and build every component: the one place a source, detector or output is plugged in.

    `event_types` are the syscall event types the rules need (None: all the sensor supports).
    """
    tree, inventory = ProcessTree(), Inventory()
    rules = config.rules if config.rules.files else \
        msgspec.structs.replace(config.rules, files=[str(path) for path in default_rules_files(config)])
    falco, _ = load_detector(rules, config.resolved_hostname)
    sigma = load_sigma_detector(config.rules.sigma, config.resolved_hostname) \
        if config.rules.sigma.enabled else None
    if event_types is None:
        event_types = falco.ruleset.required_event_types()
        if sigma is not None:
            event_types |= sigma.required_event_types()
        if config.profiles.enabled and config.sources.runtime.enabled != "false":
            event_types |= OBSERVED_EVENT_TYPES
    store = open_store(config.resolved_store_url)
    sources: list[Source] = []
    kernel = _build_kernel_source(config, tree, event_types)
    if kernel is not None:
        sources.append(kernel)
    elif config.sources.procfs.enabled:
        sources.append(ProcfsSource(config.sources.procfs, tree))
    runtime = _build_runtime_source(config, inventory)
    if runtime is not None:
        sources.append(runtime)
    sources += _build_log_sources(config, inventory if runtime is not None else None)
    containers = ContainerMetaEnricher(inventory, runtime.lookup_container if runtime else None)
    users = UserNameEnricher(container_pids=kernel.cgroups.container_pids if kernel else None)
    enrichers: list[Enricher] = [ProcessTreeEnricher(tree), users, containers]
    logs = config.sources.logs
    if logs.enabled and logs.redact_secrets:
        enrichers.append(SecretRedactor(_secret_rules(logs.secret_rules)))
    detectors: list[Detector] = [ThresholdDetector(config.rules.thresholds, config.resolved_hostname),
                                 falco]
    if sigma is not None:
        detectors.append(sigma)
    if logs.enabled and logs.redact_secrets:
        detectors.append(SecretLeakDetector(config.resolved_hostname))
    if config.anomaly.rates.enabled:
        detectors.append(RateAnomalyDetector(config.anomaly.rates, config.resolved_hostname))
    keeper = None
    if config.profiles.enabled and runtime is None:
        log.info("profiles are off: they name workloads from the container engine, which is off")
    elif config.profiles.enabled:
        if kernel is not None and config.profiles.syscalls:
            sources.append(SyscallCountSource(config.sources.ebpf.bpftrace,
                                              config.profiles.syscall_interval_s, kernel.cgroups))
        profiles = ProfileDetector(config.profiles, config.resolved_hostname, inventory,
                                   store.profiles.load())
        detectors.append(profiles)
        keeper = ProfileKeeper(profiles, store.profiles, config.profiles.sync_interval_s)
    reloader = RulesReloader(rules, config.resolved_hostname, falco)
    report_unprovided_fields(falco.ruleset, [*sources, *enrichers])
    outputs = build_outputs(config.outputs)
    if config.response.policies:
        client = EngineClient(runtime.url, config.sources.runtime.timeout_s) \
            if runtime is not None and runtime.url else None
        responder = Responder(config.response, inventory, client, store.add_response,
                              runtime.lookup_container if runtime else None)
        outputs.append(OutputWorker(responder, Priority.DEBUG, 10_000))
    return Pipeline(sources, enrichers, detectors, outputs, store, tree, inventory,
                    prefetchers=[containers], rules_reloader=reloader, profile_keeper=keeper,
                    collectors=[ContainerUsageCollector(runtime)] if runtime else [])


def _secret_rules(path: str) -> SecretRules:
    """gitleaks' rules: the shipped set, or the configured file; a broken one stops start-up."""
    try:
        rules = load_secret_rules(Path(path) if path else None)
    except SecretRuleError as err:
        raise ConfigError(f"sources.logs.secret_rules: {err}") from None
    if rules.errors:
        raise ConfigError("sources.logs.secret_rules: " + "; ".join(rules.errors[:5]))
    return rules


def load_sigma_detector(settings: SigmaRulesConfig, hostname: str) -> SigmaDetector:
    """Sigma rules from the configured files, else the shipped SigmaHQ rules; a file that cannot
    be read is an error naming it, and stops start-up like a broken Falco rules file."""
    paths = [Path(p) for p in settings.files] or [SIGMA_RULES_DIR]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ConfigError(f"rules.sigma.files: not found: {', '.join(missing)}")
    result = load_sigma_rules(paths, settings.min_level, settings.kernel_min_level)
    if result.errors:
        raise ConfigError("rules.sigma.files: " + "; ".join(result.errors[:5]))
    log.info("sigma rules loaded", extra={"active": len(result.active),
                                          "inactive": len(result.inactive)})
    return SigmaDetector(result.active, hostname)


def default_rules_files(config: Config) -> list[Path]:
    """Falco's stable rules, and its Kubernetes audit rules when audit events can come in."""
    logs = config.sources.logs
    has_audit = logs.enabled and (logs.k8s_audit_webhook or
                                  any(entry.format == "k8s_audit" for entry in logs.files))
    return [DEFAULT_RULES_FILE, *([K8S_AUDIT_RULES_FILE] if has_audit else [])]


def _build_kernel_source(config: Config, tree: ProcessTree, event_types: frozenset[str] | None
                         ) -> EbpfSource | None:
    """The kernel sensor when it can run here; else None, and procfs is the fallback."""
    settings = config.sources.ebpf
    if settings.enabled == "false":
        log.info("kernel sensor disabled in the config; using the procfs fallback")
        return None
    reason = why_not(settings.bpftrace)
    if reason is not None:
        if settings.enabled == "true":
            raise SourceError(f"sources.ebpf.enabled is true but the kernel sensor cannot run: "
                              f"{reason}")
        log.warning("kernel sensor cannot run; using the procfs fallback",
                    extra={"reason": reason})
        return None
    return EbpfSource(settings, tree, event_types)


def _build_runtime_source(config: Config, inventory: Inventory) -> RuntimeSource | None:
    """The engine source when enabled, or when `auto` finds an engine socket."""
    settings = config.sources.runtime
    if settings.enabled == "false":
        return None
    source = RuntimeSource(settings, inventory)
    if settings.enabled == "auto" and source.url is None:
        log.info("no container engine socket found; container metadata and response are off")
        return None
    return source


def _build_log_sources(config: Config, inventory: Inventory | None) -> list[Source]:
    """Log files, and containers' logs when the engine is there to name them."""
    settings = config.sources.logs
    if not settings.enabled:
        return []
    sources: list[Source] = []
    data = config.resolved_data_dir
    if files := log_files(settings):
        sources.append(LogSource(settings, files, PositionFile(data / "log-positions.json")))
    if settings.k8s_audit_webhook:
        sources.append(AuditWebhookSource())
    if settings.containers and inventory is not None:
        sources.append(ContainerLogSource(settings, inventory,
                                          PositionFile(data / "container-log-positions.json")))
    return sources


def build_outputs(config: OutputsConfig) -> list[OutputWorker]:
    """One worker per enabled output, each with its minimum priority and queue."""
    workers = []
    if config.stdout.enabled:
        workers.append(OutputWorker(StdoutOutput(config.stdout),
                                    Priority.parse(config.stdout.min_priority), 10_000))
    if config.file.enabled:
        workers.append(OutputWorker(FileOutput(config.file), Priority.parse(config.file.min_priority),
                                    config.file.queue_size))
    if config.webhook.enabled:
        workers.append(OutputWorker(WebhookOutput(config.webhook),
                                    Priority.parse(config.webhook.min_priority),
                                    config.webhook.queue_size))
    return workers


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Daemon:
    """Runs one pipeline until asked to stop, then drains it in flow order."""

    def __init__(self, config: Config, pipeline: Pipeline) -> None:
        self.config = config
        self.pipeline = pipeline
        self.hostname = config.resolved_hostname
        sizes = config.pipeline
        self.source_edge: Edge[Event] = Edge("sources", sizes.queue_size)
        self.bus = MemoryBus()
        self.detect_edge = self.bus.subscribe("detect", sizes.queue_size, "wait")
        self.store_edge = (self.bus.subscribe("store", sizes.store_queue_size, "drop")
                           if config.store.events == "all" else None)
        self.alert_edge: Edge[Alert] = Edge("alerts", sizes.queue_size)
        self.repeats = AlertDeduplicator(config.alerts.repeat_window_s, config.alerts.max_tracked)
        self.fanout = AlertFanout(pipeline.outputs)
        self.counters = StageCounters()
        edges: list[Edge[Any]] = [self.source_edge, self.detect_edge, self.alert_edge]
        if self.store_edge is not None:
            edges.append(self.store_edge)
        self.health = Health(pipeline.sources, edges, pipeline.outputs, self.counters,
                             pipeline.collectors)
        self.rule_catalog = RuleCatalog(lambda: self.pipeline.detectors)
        self.alert_stream = AlertStream(config.api.stream_queue_size)
        self.alert_listeners: list[Callable[[list[Alert]], None]] = [self.rule_catalog.observe,
                                                                     self.alert_stream.publish]
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._force = False
        self._pipeline_tasks: list[asyncio.Task[None]] = []
        self._dropped_seen = 0
        self._lost_seen = 0
        self._inventory_version_stored = -1

    @property
    def detectors(self) -> list[Detector]:
        return self.pipeline.detectors

    def swap_falco_detector(self, old: FalcoDetector, new: FalcoDetector) -> None:
        """A rules reload: the new Falco detector takes the old one's place."""
        self.replace_detectors([new if d is old else d for d in self.detectors])

    def replace_detectors(self, detectors: list[Detector]) -> None:
        """Swap the detectors between two batches (rules reload); the next batch meets the new ones."""
        self.pipeline.detectors = detectors

    def request_stop(self) -> None:
        """First call: drain and stop. A second call forces: cancel what is still draining."""
        if self._stop.is_set():
            self._force = True
            for task in self._pipeline_tasks:
                task.cancel()
            return
        self._stop.set()

    async def run(self) -> None:
        """Run until request_stop (or SIGINT/SIGTERM), then shut down cleanly."""
        loop = asyncio.get_running_loop()
        with self._signal_handlers(loop):
            server, server_task = self._start_http()
            source_tasks = [asyncio.create_task(self._supervise(f"source:{s.name}",
                                                                lambda s=s: self._run_source(s)))  # type: ignore[misc]
                            for s in self.pipeline.sources]
            self._pipeline_tasks = [
                asyncio.create_task(self._supervise("enrich", self._enrich_stage)),
                asyncio.create_task(self._supervise("detect", self._detect_stage)),
                asyncio.create_task(self._supervise("alerts", self._alert_stage)),
                *self.fanout.tasks(),
            ]
            if self.store_edge is not None:
                self._pipeline_tasks.append(
                    asyncio.create_task(self._supervise("store", self._store_stage)))
            housekeeping = [asyncio.create_task(self._close_repeat_windows()),
                            asyncio.create_task(self._sample_health()),
                            asyncio.create_task(self._watch_drops()),
                            asyncio.create_task(self._supervise("inventory", self._persist_inventory)),
                            asyncio.create_task(self._supervise("retention", self._retention))]
            if (keeper := self.pipeline.profile_keeper) is not None:
                housekeeping.append(asyncio.create_task(self._supervise("profiles", keeper.run)))
            if (reloader := self.pipeline.rules_reloader) is not None:
                housekeeping.append(asyncio.create_task(self._supervise(
                    "rules", lambda: reloader.run(self.swap_falco_detector))))
            self.ready.set()
            try:
                await self._stop.wait()
            finally:
                await self._shutdown(source_tasks, housekeeping, server, server_task)

    async def _shutdown(self, source_tasks: list[asyncio.Task[None]],
                        housekeeping: list[asyncio.Task[None]], server: uvicorn.Server,
                        server_task: asyncio.Task[None]) -> None:
        """Stop sources, drain queues in flow order within the timeout, then close outputs and store."""
        log.info("stopping: draining queued events and alerts")
        for task in source_tasks:
            task.cancel()
        await asyncio.gather(*source_tasks, return_exceptions=True)
        for source in self.pipeline.sources:
            if isinstance(source, AuditWebhookSource):  # accepted events must not be lost
                await self.source_edge.put_many(source.drain())
        self.source_edge.close()
        _, pending = await asyncio.wait(self._pipeline_tasks,
                                        timeout=self.config.pipeline.shutdown_timeout_s)
        if pending:
            left = sum(edge.depth for edge in self.health.edges) + \
                sum(w.edge.depth for w in self.pipeline.outputs)
            log.error("shutdown timed out; items left undelivered", extra={"left": left})
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for task in housekeeping:
            task.cancel()
        await asyncio.gather(*housekeeping, return_exceptions=True)
        self.alert_stream.close()  # open /api/stream responses end, so the server can stop
        server.should_exit = True
        await asyncio.gather(server_task, return_exceptions=True)
        await asyncio.to_thread(self.pipeline.store.close)
        log.info("stopped", extra={"events": self.counters.events_in,
                                   "alerts": sum(self.counters.alerts_by_priority.values())})

    @contextlib.contextmanager
    def _signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Iterator[None]:
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.request_stop)
                installed.append(sig)
        try:
            yield
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)

    def _start_http(self) -> tuple[uvicorn.Server, asyncio.Task[None]]:
        host, port = parse_listen(self.config.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            sock.close()
            raise ConfigError(f"listen: cannot listen on {self.config.listen}: {err.strerror}") from err
        sock.listen(128)
        sock.setblocking(False)
        server = _EmbeddedServer(uvicorn.Config(create_app(self.health, self._web_parts()),
                                                log_level="warning", lifespan="off", access_log=False))
        return server, asyncio.create_task(server.serve(sockets=[sock]), name="http")

    def _web_parts(self) -> WebParts:
        """What the API and dashboard read and change: the store, new alerts, rules, responses."""
        engine = next((s.url for s in self.pipeline.sources if isinstance(s, RuntimeSource)), None)
        intake = next((s for s in self.pipeline.sources if isinstance(s, AuditWebhookSource)), None)
        return WebParts(store=self.pipeline.store, stream=self.alert_stream, rules=self.rule_catalog,
                        responses=ResponseDesk(self.pipeline.store, engine,
                                               self.config.sources.runtime.timeout_s),
                        health=self.health, settings=self.config.api, audit_intake=intake,
                        alert_inbox=self)

    async def _supervise(self, name: str, stage: Callable[[], Awaitable[None]]) -> None:
        """Run a stage; if it crashes, log with traceback, count, and restart it with back-off."""
        delay_s = 1.0
        while True:
            try:
                await stage()
                return
            except SourceError as err:
                source = next((s for s in self.pipeline.sources if f"source:{s.name}" == name), None)
                if source is not None:
                    source.status.state, source.status.error = "failed", err.message
                log.error("source cannot run", extra={"stage": name, "error": err.message})
            except Exception:  # the one broad handler: a crashed stage must not stop the daemon
                log.exception("stage crashed; restarting", extra={"stage": name})
            self.counters.restarts[name] = self.counters.restarts.get(name, 0) + 1
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2, 30.0)

    async def _run_source(self, source: Source) -> None:
        """Move a source's batches on; one that cannot wait (`overflow = "drop"`, the kernel
        sensor) has what does not fit dropped and counted rather than being held back."""
        if getattr(source, "overflow", "wait") == "drop":
            async for batch in source.events():
                self.source_edge.offer_many(batch)
        else:
            async for batch in source.events():
                await self.source_edge.put_many(batch)

    async def _enrich_stage(self) -> None:
        while (batch := await self.source_edge.get_batch(self.config.pipeline.batch_size)) is not None:
            self.counters.events_in += len(batch)
            for event in batch:
                event.setdefault("evt.hostname", self.hostname)
            for prefetcher in self.pipeline.prefetchers:
                await prefetcher.prefetch(batch)
            for enricher in self.pipeline.enrichers:
                enricher.enrich(batch)
            await self.bus.publish(batch)
        self.bus.close()

    async def _detect_stage(self) -> None:
        while (batch := await self.detect_edge.get_batch(self.config.pipeline.batch_size)) is not None:
            alerts: list[Alert] = []
            for detector in self.pipeline.detectors:
                alerts.extend(detector.match(batch))
            if alerts:
                await self.alert_edge.put_many(self.rule_catalog.admit(alerts))  # rules switched off
        self.alert_edge.close()

    async def _alert_stage(self) -> None:
        while (batch := await self.alert_edge.get_batch(_ALERT_BATCH)) is not None:
            await self._deliver(self.repeats.admit(batch, time.time_ns()))
            self.counters.alert_repeats_folded = self.repeats.suppressed_total
        await self._deliver(self.repeats.close_all())
        self.fanout.close()

    async def receive(self, alerts: list[Alert]) -> None:
        """Alerts raised elsewhere (Falco's, sent to the API) join the daemon's own."""
        await self.alert_edge.put_many(alerts)

    async def _close_repeat_windows(self) -> None:
        """Once a second: the count of each alert's repeats whose window ended."""
        while True:
            await asyncio.sleep(1.0)
            await self._deliver(self.repeats.close_windows(time.time_ns()))

    async def _deliver(self, batch: list[Alert]) -> None:
        """Count, fan out, tell the listeners and store: what happens to every alert sent on."""
        if not batch:
            return
        for alert in batch:
            by_priority = self.counters.alerts_by_priority
            by_priority[alert.priority] = by_priority.get(alert.priority, 0) + 1
        self.fanout.dispatch(batch)
        for listener in self.alert_listeners:
            listener(batch)
        await self._store_write(self.pipeline.store.add_alerts, batch)

    async def _store_stage(self) -> None:
        assert self.store_edge is not None
        while (batch := await self.store_edge.get_batch(_STORE_BATCH)) is not None:
            if await self._store_write(self.pipeline.store.add_events, batch):
                self.counters.events_stored += len(batch)

    async def _store_write(self, write: Callable[[list[Any]], None], batch: list[Any]) -> bool:
        try:
            await asyncio.to_thread(write, batch)
        except StoreError as err:
            if self.counters.store_errors == 0:
                log.error("store write failed", extra={"error": err.message})
            self.counters.store_errors += 1
            return False
        return True

    async def _retention(self) -> None:
        retention = self.config.store.retention
        while True:
            result = await asyncio.to_thread(
                self.pipeline.store.apply_retention, time.time_ns(),
                int(retention.max_age_days * 86_400e9), retention.max_size_mb * 1024 * 1024)
            if result.events_deleted or result.alerts_deleted:
                log.info("retention applied", extra={"events_deleted": result.events_deleted,
                                                     "alerts_deleted": result.alerts_deleted,
                                                     "size_bytes": result.size_bytes})
            await asyncio.sleep(retention.check_interval_s)

    async def _persist_inventory(self) -> None:
        """Write the container inventory to the store whenever it changed, and on the way out."""
        inventory = self.pipeline.inventory
        try:
            while True:
                await asyncio.sleep(2.0)
                await self._store_inventory(inventory)
        finally:
            await asyncio.shield(self._store_inventory(inventory))

    async def _store_inventory(self, inventory: Inventory) -> None:
        version = inventory.version
        if version != self._inventory_version_stored:
            await self._store_write(lambda records: self.pipeline.store.upsert_containers(
                records, time.time_ns()), inventory.all())
            self._inventory_version_stored = version

    async def _sample_health(self) -> None:
        while True:
            self.health.sample()
            await asyncio.sleep(1.0)

    async def _watch_drops(self) -> None:
        """Raise an internal alert when events were dropped since the last look: loss is never silent."""
        while True:
            await asyncio.sleep(_DROP_CHECK_INTERVAL_S)
            self.raise_drop_alert_if_needed()
            self.raise_kernel_drop_alert_if_needed()

    def raise_kernel_drop_alert_if_needed(self) -> None:
        """Like Falco's 'syscall event drop': the kernel's buffer overran before events were read."""
        lost = {s.name: s.status.lost_total for s in self.pipeline.sources if s.status.lost_total}
        total = sum(lost.values())
        if total <= self._lost_seen:
            return
        dropped, self._lost_seen = total - self._lost_seen, total
        alert = Alert.create(
            rule=KERNEL_DROP_RULE, priority=Priority.CRITICAL, source="internal",
            hostname=self.hostname, tags=["runwatch_internal"],
            output=f"runwatch internal: syscall event drop. {dropped} system call events lost "
                   f"in the kernel's buffer since the last check (totals per source: "
                   f"{orjson.dumps(lost).decode()})",
            output_fields={"n_drops": dropped, "n_drops_total": total, "sources": lost})
        if not self.alert_edge.is_closed:
            self.alert_edge.offer(alert)

    def raise_drop_alert_if_needed(self) -> None:
        total = self.health.dropped_total
        if total <= self._dropped_seen:
            return
        queues = {e.name: e.dropped for e in self.health.edges if e.dropped}
        queues.update({w.edge.name: w.edge.dropped for w in self.pipeline.outputs if w.edge.dropped})
        dropped, self._dropped_seen = total - self._dropped_seen, total
        alert = Alert.create(
            rule=INTERNAL_DROP_RULE, priority=Priority.WARNING, source="internal",
            hostname=self.hostname, tags=["runwatch_internal"],
            output=f"runwatch dropped {dropped} items because queues were full "
                   f"(totals per queue: {orjson.dumps(queues).decode()})",
            output_fields={"n_dropped": dropped, "queues": queues})
        if not self.alert_edge.is_closed:
            self.alert_edge.offer(alert)
