"""The responder: a consumer of alerts that applies response policies, and records every decision.

It is plugged in like an output (its own queue, so a slow engine never holds up detection). For
each alert it finds the policies that match, refuses to act on the host or on runwatch's own
container, respects the per-container cooldown and dry-run, acts through the engine, and records
what happened (done, dry run, skipped and why, failed and why).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from runwatch.alerts.model import Alert, new_alert_id
from runwatch.config import ResponseConfig, ResponsePolicyConfig
from runwatch.enrich.container_id import HOST, container_from_proc_cgroup
from runwatch.errors import RunwatchError, SourceError
from runwatch.inventory import ContainerRecord, Inventory
from runwatch.respond.actions import ENGINE_ACTIONS, run_command
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.respond.policy import alert_matches, container_selected
from runwatch.sources.runtime.client import EngineClient

log = logging.getLogger(__name__)

RecordDecision = Callable[[ResponseRecord], None]


def own_container_id(proc_root: Path = Path("/proc")) -> str | None:
    """The container runwatch itself runs in, if any: it must never act on itself."""
    try:
        ref = container_from_proc_cgroup((proc_root / "self" / "cgroup").read_text())
    except OSError:
        return None
    return ref.id if ref else None


class Responder:
    """Applies `response.policies` to alerts; `name` and `send`/`close` make it an alert consumer."""

    name = "respond"

    def __init__(self, config: ResponseConfig, inventory: Inventory, client: EngineClient | None,
                 record: RecordDecision, lookup: Callable[[str], ContainerRecord | None] | None = None,
                 self_container_id: str | None = None) -> None:
        self.config = config
        self.inventory = inventory
        self.client = client
        self.record = record
        self.lookup = lookup
        self.self_container_id = self_container_id if self_container_id is not None else own_container_id()
        self.decisions: list[ResponseRecord] = []
        self._last_action_s: dict[str, float] = {}
        self._recording: set[asyncio.Task[None]] = set()

    async def send(self, alert: Alert) -> None:
        for policy in self.config.policies:
            if alert_matches(policy, alert):
                decision = await self._decide(policy, alert)
                if decision is not None:
                    self.decisions.append(decision)
                    del self.decisions[:-1000]
                    self._keep(decision)

    def _keep(self, decision: ResponseRecord) -> None:
        """Store the decision in the background: a store busy with events must not delay the
        next alert's action."""
        task = asyncio.create_task(asyncio.to_thread(self.record, decision))
        self._recording.add(task)
        task.add_done_callback(self._recorded)

    def _recorded(self, task: asyncio.Task[None]) -> None:
        self._recording.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("response decision not stored", extra={"error": str(error)})

    async def close(self) -> None:
        await asyncio.gather(*self._recording, return_exceptions=True)
        if self.client is not None:
            self.client.close()

    async def _decide(self, policy: ResponsePolicyConfig, alert: Alert) -> ResponseRecord | None:
        cid = alert.container_id
        if not cid or cid == HOST:
            return self._decision(policy, alert, None, ResponseStatus.SKIPPED, "the host is never acted on")
        record = self.inventory.get(cid)
        if record is None and self.lookup is not None:
            record = await asyncio.to_thread(self.lookup, cid)
        if record is None:
            return self._decision(policy, alert, None, ResponseStatus.SKIPPED,
                                  f"container {cid} is not in the engine's inventory")
        if not container_selected(policy, record):
            return None  # the policy names other containers: not a decision about this one
        if self.self_container_id and record.id == self.self_container_id[:12]:
            return self._decision(policy, alert, record, ResponseStatus.SKIPPED,
                                  "runwatch never acts on its own container")
        now = time.monotonic()
        last = self._last_action_s.get(record.id)
        if last is not None and now - last < self.config.cooldown_seconds:
            return self._decision(policy, alert, record, ResponseStatus.SKIPPED,
                                  f"cooldown: acted on this container {now - last:.1f}s ago")
        self._last_action_s[record.id] = now
        if self.config.dry_run:
            return self._decision(policy, alert, record, ResponseStatus.DRY_RUN,
                                  f"dry run: would {policy.action} {record.name}")
        return await self._act(policy, alert, record)

    async def _act(self, policy: ResponsePolicyConfig, alert: Alert,
                   record: ContainerRecord) -> ResponseRecord:
        try:
            if policy.action == "exec":
                details = await run_command(policy, alert, record)
            elif self.client is None:
                raise SourceError("no container engine is configured or reachable")
            else:
                details = await asyncio.to_thread(ENGINE_ACTIONS[policy.action], self.client, record)
        except RunwatchError as err:
            log.error("response failed", extra={"policy": policy.name, "action": policy.action,
                                                "container": record.name, "error": err.message})
            return self._decision(policy, alert, record, ResponseStatus.FAILED, err.message)
        latency_ms = (time.time_ns() - alert.time_ns) / 1e6
        log.warning("response done", extra={"policy": policy.name, "action": policy.action,
                                            "container": record.name, "latency_ms": round(latency_ms, 1)})
        return self._decision(policy, alert, record, ResponseStatus.DONE,
                              f"{policy.action} {record.name}", details, latency_ms)

    @staticmethod
    def _decision(policy: ResponsePolicyConfig, alert: Alert, record: ContainerRecord | None,
                  status: ResponseStatus, reason: str, details: dict[str, object] | None = None,
                  latency_ms: float | None = None) -> ResponseRecord:
        now = time.time_ns()
        return ResponseRecord(
            id=new_alert_id(now), time_ns=now, alert_id=alert.id, rule=alert.rule, policy=policy.name,
            action=policy.action, container_id=record.id if record else alert.container_id,
            container_name=record.name if record else None, status=status, reason=reason,
            latency_ms=round(latency_ms, 1) if latency_ms is not None else None,
            details=details or {})
