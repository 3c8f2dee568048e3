"""Containers' stdout and stderr: the two file formats, split lines joined, and real podman
containers followed from their first line to their exit."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from runwatch.config import LogsSourceConfig, RuntimeSourceConfig
from runwatch.inventory import Inventory
from runwatch.sources.logs.base import LogLineError
from runwatch.sources.logs.container_logs import ContainerLogDecoder, ContainerLogSource
from runwatch.sources.logs.positions import PositionFile
from runwatch.sources.runtime import RuntimeSource
from runwatch.times import parse_rfc3339_ns
from tests.support.collect import SourceCollector
from tests.support.podman import ContainerFactory


def test_cri_pieces_of_one_line_are_joined_per_stream() -> None:
    decoder = ContainerLogDecoder(1000)
    assert decoder.decode("2026-11-23T04:00:00.000000001+00:00 stdout P first ", "f:1") == []
    [err] = decoder.decode("2026-11-23T04:00:00.5Z stderr F oops", "f:2")
    [out] = decoder.decode("2026-11-23T04:00:01Z stdout F half", "f:3")
    assert (err["log.stream"], err["log.message"]) == ("stderr", "oops")
    assert (out["log.stream"], out["log.message"]) == ("stdout", "first half")
    assert out["evt.time"] == 1795406401 * 10**9 and err["evt.time"] == 1795406400_500_000_000
    [empty] = decoder.decode("2026-11-23T04:00:02Z stdout F", "f:4")
    assert empty["log.message"] == ""


def test_json_file_lines_without_newline_are_pieces() -> None:
    decoder = ContainerLogDecoder(1000)
    assert decoder.decode('{"log":"GET /index","stream":"stdout","time":"2026-11-23T04:00:00Z"}',
                          "f:1") == []
    [event] = decoder.decode('{"log":".html 200\\n","stream":"stdout",'
                             '"time":"2026-11-23T04:00:00.25Z"}', "f:2")
    assert event["log.message"] == "GET /index.html 200"
    assert event["evt.time"] == parse_rfc3339_ns("2026-11-23T04:00:00.250Z")


def test_a_runaway_piece_sequence_is_cut_at_the_line_size() -> None:
    decoder = ContainerLogDecoder(10)
    assert decoder.decode("2026-11-23T04:00:00Z stdout P 12345", "f:1") == []
    [event] = decoder.decode("2026-11-23T04:00:00Z stdout P 6789abcdef", "f:2")
    assert event["log.message"] == "123456789a"


@pytest.mark.parametrize(("line", "reason"), [
    ("not a log line", "expected '<time> <stdout|stderr> <P|F> <text>'"),
    ("yesterday stdout F hello", "bad time 'yesterday'"),
    ("{truncated", "not JSON"),
    ('{"stream": "stdout"}', "expected an object with a 'log' string"),
])
def test_malformed_lines_name_file_and_line(line: str, reason: str) -> None:
    with pytest.raises(LogLineError) as caught:
        ContainerLogDecoder(100).decode(line, "/logs/ctr.log:7")
    assert str(caught.value).startswith(f"/logs/ctr.log:7: {reason}")


@pytest.mark.integration
async def test_a_new_containers_output_is_read_from_its_first_line_to_its_exit(
        podman_socket: str, start_container: ContainerFactory, tmp_path: Path) -> None:
    inventory = Inventory()
    runtime = SourceCollector(RuntimeSource(RuntimeSourceConfig(socket=podman_socket), inventory,
                                            environ={}))
    logs = SourceCollector(ContainerLogSource(LogsSourceConfig(poll_interval_s=0.05), inventory,
                                              PositionFile(tmp_path / "positions.json")))
    await runtime.start(timeout_s=20)
    await logs.start()
    try:
        long_line = "x" * 20_000  # longer than conmon's buffer: written as pieces
        container = start_container("sh", "-c", f"echo started; echo failed >&2; echo {long_line}; "
                                                "sleep 1; echo last words")
        record_id = container.id[:12]
        events = await logs.wait_for(lambda e: e.get("container.id") == record_id, count=4,
                                     timeout_s=20)
        assert [(e["log.stream"], e["log.message"]) for e in events if e["log.stream"] == "stderr"] \
            == [("stderr", "failed")]
        assert [e["log.message"] for e in events if e["log.stream"] == "stdout"] == \
            ["started", long_line, "last words"]
        assert all(e["evt.source"] == "log" and e["log.path"].endswith("ctr.log") for e in events)
    finally:
        await logs.stop()
        await runtime.stop()


@pytest.mark.integration
async def test_a_one_shot_container_that_ended_between_two_looks_is_still_read(
        podman_socket: str, start_container: ContainerFactory) -> None:
    inventory = Inventory()
    runtime = SourceCollector(RuntimeSource(RuntimeSourceConfig(socket=podman_socket), inventory,
                                            environ={}))
    await runtime.start(timeout_s=20)
    logs = ContainerLogSource(LogsSourceConfig(poll_interval_s=0.05), inventory)
    try:
        container = start_container("sh", "-c", "echo done in a blink")
        record_id = container.id[:12]
        deadline = time.monotonic() + 20
        while (record := inventory.get(record_id)) is None or not record.finished_ns:
            assert time.monotonic() < deadline, "the engine never reported the container's exit"
            await asyncio.sleep(0.05)
        collector = SourceCollector(logs)  # starts looking only now, after the exit
        await collector.start()
        [event] = await collector.wait_for(lambda e: e.get("container.id") == record_id,
                                           timeout_s=10)
        assert event["log.message"] == "done in a blink"
        await asyncio.sleep(0.5)  # read once, then let go: never twice
        assert len([e for e in collector.events if e.get("container.id") == record_id]) == 1
        await collector.stop()
    finally:
        await runtime.stop()
