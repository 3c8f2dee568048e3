from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path

import pytest

from runwatch.alerts.fanout import AlertFanout, OutputWorker
from runwatch.alerts.model import Alert, Priority
from runwatch.alerts.outputs import DeliveryError, FileOutput, StdoutOutput, WebhookOutput
from runwatch.config import FileOutputConfig, StdoutOutputConfig, WebhookOutputConfig
from runwatch.errors import OutputError
from tests.support.http_server import recording_server
from tests.support.net import free_port


def make_alert(priority: Priority = Priority.WARNING, rule: str = "Read sensitive file untrusted") -> Alert:
    return Alert.create(rule=rule, priority=priority, source="syscall", hostname="node-1",
                        output="Sensitive file opened for reading (file=/etc/shadow user=<NA>)",
                        output_fields={"fd.name": "/etc/shadow", "user.name": None, "proc.pid": 42},
                        tags=["filesystem", "T1555"], container_id="0123456789ab",
                        time_ns=1_700_000_000_123_456_789)


def test_falco_json_shape() -> None:
    body = make_alert().to_falco_json()
    assert body["time"] == "2023-11-14T22:13:20.123456789Z"
    assert body["priority"] == "Warning"
    assert set(body) == {"id", "time", "rule", "priority", "source", "tags", "hostname", "output",
                         "output_fields", "container_id"}
    assert body["output_fields"] == {"fd.name": "/etc/shadow", "user.name": None, "proc.pid": 42}


async def test_stdout_text_line_has_priority_rule_and_output() -> None:
    stream = io.StringIO()
    output = StdoutOutput(StdoutOutputConfig(), stream)
    await output.send(make_alert())
    line = stream.getvalue()
    assert ".123456789 Warning Read sensitive file untrusted: Sensitive file opened" in line
    assert "container=0123456789ab" in line


async def test_stdout_json_format_is_one_falco_object_per_line() -> None:
    stream = io.StringIO()
    output = StdoutOutput(StdoutOutputConfig(format="json"), stream)
    await output.send(make_alert())
    await output.send(make_alert(Priority.CRITICAL))
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["priority"] for line in lines] == ["Warning", "Critical"]


async def test_file_output_appends_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    output = FileOutput(FileOutputConfig(enabled=True, path=str(path)))
    first, second = make_alert(), make_alert(Priority.ERROR)
    await output.send(first)
    await output.send(second)
    await output.close()
    again = FileOutput(FileOutputConfig(enabled=True, path=str(path)))
    await again.send(make_alert(Priority.NOTICE))
    await again.close()
    ids = [json.loads(line)["id"] for line in path.read_text().splitlines()]
    assert ids[:2] == [first.id, second.id] and len(ids) == 3


def test_file_output_refuses_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="outputs.file.path: cannot open"):
        FileOutput(FileOutputConfig(enabled=True, path=str(blocker / "alerts.jsonl")))


def webhook(url: str, **overrides: object) -> WebhookOutput:
    settings: dict[str, object] = {"enabled": True, "url": url, "backoff_s": 0.01, "max_retries": 3,
                                   "timeout_s": 2.0, **overrides}
    return WebhookOutput(WebhookOutputConfig(**settings))  # type: ignore[arg-type]


async def test_webhook_posts_falco_json_with_headers() -> None:
    with recording_server() as server:
        output = webhook(server.url, headers={"Authorization": "Bearer s3cret"})
        alert = make_alert()
        await output.send(alert)
        await output.close()
    assert server.bodies == [alert.to_falco_json()]
    assert server.headers[0]["Authorization"] == "Bearer s3cret"


async def test_webhook_retries_server_errors_then_delivers() -> None:
    with recording_server([500, 503, 429]) as server:
        output = webhook(server.url)
        await output.send(make_alert())
        await output.close()
    assert server.attempts == 4 and len(server.bodies) == 1
    assert output.retries == 3


async def test_webhook_gives_up_after_its_retries() -> None:
    with recording_server([500] * 10) as server:
        output = webhook(server.url, max_retries=2)
        with pytest.raises(DeliveryError, match="HTTP 500"):
            await output.send(make_alert())
        await output.close()
    assert server.attempts == 3


async def test_webhook_does_not_retry_a_client_error() -> None:
    with recording_server([400]) as server:
        output = webhook(server.url)
        with pytest.raises(DeliveryError, match="HTTP 400"):
            await output.send(make_alert())
        await output.close()
    assert server.attempts == 1


async def test_webhook_to_a_dead_endpoint_fails_with_the_reason() -> None:
    output = webhook(f"http://127.0.0.1:{free_port()}/alerts", max_retries=1)
    with pytest.raises(DeliveryError, match="ConnectError"):
        await output.send(make_alert())
    await output.close()


async def test_dead_webhook_does_not_hold_up_other_outputs(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    dead = OutputWorker(webhook(f"http://127.0.0.1:{free_port()}/", max_retries=50, backoff_s=1.0),
                        Priority.DEBUG, queue_size=2)
    file = OutputWorker(FileOutput(FileOutputConfig(enabled=True, path=str(path))), Priority.DEBUG, 100)
    fanout = AlertFanout([dead, file])
    tasks = fanout.tasks()
    alerts = [make_alert() for _ in range(20)]
    started = time.monotonic()
    fanout.dispatch(alerts)  # never waits, whatever the outputs do
    assert time.monotonic() - started < 1.0
    deadline = time.monotonic() + 5
    while file.stats.sent < 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert file.stats.sent == 20
    assert dead.edge.dropped >= 17  # a queue of 2, one in flight: the rest are counted drops
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_min_priority_filters_per_output(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    worker = OutputWorker(FileOutput(FileOutputConfig(enabled=True, path=str(path))), Priority.ERROR, 10)
    fanout = AlertFanout([worker])
    tasks = fanout.tasks()
    fanout.dispatch([make_alert(Priority.WARNING), make_alert(Priority.CRITICAL),
                     make_alert(Priority.ERROR), make_alert(Priority.DEBUG)])
    fanout.close()
    await asyncio.gather(*tasks)
    priorities = [json.loads(line)["priority"] for line in path.read_text().splitlines()]
    assert priorities == ["Critical", "Error"]
