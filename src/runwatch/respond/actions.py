"""The response actions, each with its undo where one exists.

An action returns the details its undo needs (the networks a container was disconnected from);
`undo` reads them back. Engine calls block: callers run them in a thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import orjson

from runwatch.alerts.model import Alert
from runwatch.config import ResponsePolicyConfig
from runwatch.errors import RunwatchError
from runwatch.inventory import ContainerRecord
from runwatch.sources.runtime.client import EngineClient

Details = dict[str, object]


class ActionError(RunwatchError):
    """An action or its undo could not be carried out."""


def _pause(client: EngineClient, record: ContainerRecord) -> Details:
    client.pause(record.full_id)
    return {}


def _stop(client: EngineClient, record: ContainerRecord) -> Details:
    client.stop(record.full_id)
    return {}


def _kill(client: EngineClient, record: ContainerRecord) -> Details:
    client.kill(record.full_id)
    return {}


def _restart(client: EngineClient, record: ContainerRecord) -> Details:
    client.restart(record.full_id)
    return {}


def _isolate(client: EngineClient, record: ContainerRecord) -> Details:
    """Disconnect from every network; the container keeps running, cut off from its peers."""
    networks = list(client.inspect(record.full_id).get("NetworkSettings", {}).get("Networks") or {})
    for network in networks:
        client.disconnect(record.full_id, network)
    return {"networks": networks}


ENGINE_ACTIONS: dict[str, Callable[[EngineClient, ContainerRecord], Details]] = {
    "pause": _pause, "stop": _stop, "kill": _kill, "restart": _restart, "isolate": _isolate,
}
UNDOABLE = {"pause": "unpause", "stop": "start", "kill": "start", "isolate": "reconnect"}


def undo(client: EngineClient, action: str, container_id: str, details: Details) -> str:
    """Reverse an action; returns what was done ('unpause', 'reconnect', ...)."""
    if action not in UNDOABLE:
        raise ActionError(f"a {action} cannot be undone")
    if action == "pause":
        client.unpause(container_id)
    elif action in ("stop", "kill"):
        client.start(container_id)
    else:
        networks = details.get("networks")
        for network in networks if isinstance(networks, list) else []:
            client.connect(container_id, str(network))
    return UNDOABLE[action]


async def run_command(policy: ResponsePolicyConfig, alert: Alert, record: ContainerRecord) -> Details:
    """The exec action: the user's command on this host, the alert as JSON on stdin and in env."""
    alert_json = orjson.dumps(alert.to_falco_json()).decode()
    env = {**os.environ, "RUNWATCH_ALERT": alert_json, "RUNWATCH_CONTAINER_ID": record.full_id,
           "RUNWATCH_CONTAINER_NAME": record.name, "RUNWATCH_RULE": alert.rule}
    try:
        process = await asyncio.create_subprocess_exec(
            *policy.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
    except OSError as err:
        raise ActionError(f"cannot run {policy.command[0]}: {err.strerror}") from err
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(alert_json.encode()),
                                                policy.timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ActionError(f"{policy.command[0]} did not finish within {policy.timeout_s:g}s") from None
    details: Details = {"exit_code": process.returncode,
                        "stdout": stdout.decode(errors="replace")[-2000:],
                        "stderr": stderr.decode(errors="replace")[-2000:]}
    if process.returncode != 0:
        raise ActionError(f"{policy.command[0]} exited with {process.returncode}: "
                          f"{stderr.decode(errors='replace').strip()[-300:]}")
    return details
