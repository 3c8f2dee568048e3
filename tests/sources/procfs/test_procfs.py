"""The procfs source against the real /proc of this machine, with real processes and sockets."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import AsyncIterator

import pytest

from runwatch.config import ProcfsSourceConfig
from runwatch.enrich.process_tree import ProcessTree, ProcessTreeEnricher
from runwatch.enrich.users import UserNameEnricher
from runwatch.sources.procfs import ProcfsSource
from runwatch.sources.procfs.sockets import decode_address, parse_table
from tests.support.collect import SourceCollector


@pytest.fixture
def tree() -> ProcessTree:
    return ProcessTree()


@pytest.fixture
async def collector(tree: ProcessTree) -> AsyncIterator[SourceCollector]:
    running = SourceCollector(ProcfsSource(ProcfsSourceConfig(interval_s=0.1), tree))
    await running.start()
    yield running
    await running.stop()


async def test_new_process_becomes_an_execve_event_with_falco_fields(
        collector: SourceCollector, tree: ProcessTree) -> None:
    child = subprocess.Popen(["sleep", "3"], cwd="/tmp")
    try:
        [event] = await collector.wait_for(lambda e: e.get("proc.pid") == child.pid)
    finally:
        child.kill()
        child.wait()
    ProcessTreeEnricher(tree).enrich([event])
    UserNameEnricher().enrich([event])
    assert event["evt.type"] == "execve" and event["evt.dir"] == "<"
    assert event["proc.name"] == "sleep"
    assert event["proc.cmdline"] == "sleep 3"
    assert event["proc.args"] == "3"
    assert event["proc.exepath"] == os.path.realpath("/usr/bin/sleep")
    assert event["proc.cwd"] == "/tmp/"
    assert event["proc.ppid"] == os.getpid()
    assert event["proc.apid"][0] == os.getpid()  # type: ignore[index]
    assert event["user.uid"] == os.geteuid()
    assert event["user.name"] == "root"
    assert event["container.id"] == "host"
    assert isinstance(event["evt.time"], int) and event["evt.time"] > 1_600_000_000 * 10**9


async def test_processes_running_before_the_start_are_learned_not_reported(tree: ProcessTree) -> None:
    already = subprocess.Popen(["sleep", "5"])
    collector = SourceCollector(ProcfsSource(ProcfsSourceConfig(interval_s=0.1), tree))
    try:
        await collector.start()
        assert tree.get(already.pid) is not None
        marker = subprocess.Popen(["sleep", "4"])
        await collector.wait_for(lambda e: e.get("proc.pid") == marker.pid)
        marker.kill()
        marker.wait()
        assert all(e.get("proc.pid") != already.pid for e in collector.events)
    finally:
        already.kill()
        already.wait()
        await collector.stop()


async def test_listen_connect_and_accept_are_reported_with_ports(collector: SourceCollector) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    fds = {"client": client.fileno(), "accepted": accepted.fileno(), "server": server.fileno()}
    try:
        found = await collector.wait_for(lambda e: e.get("fd.sport") == port, count=3)
    finally:
        for sock in (client, accepted, server):
            sock.close()
    by_type = {e["evt.type"]: e for e in found}
    assert set(by_type) == {"listen", "connect", "accept"}
    connect, accept = by_type["connect"], by_type["accept"]
    client_port = connect["fd.cport"]
    assert connect["fd.name"] == f"127.0.0.1:{client_port}->127.0.0.1:{port}"
    assert connect["fd.l4proto"] == "tcp" and connect["fd.typechar"] == "4"
    assert connect["proc.pid"] == os.getpid() and connect["fd.num"] == fds["client"]
    assert accept["fd.lport"] == port and accept["fd.rport"] == client_port
    assert accept["fd.num"] == fds["accepted"]
    assert by_type["listen"]["fd.num"] == fds["server"]


def test_address_decoding_of_proc_net_tables() -> None:
    assert decode_address("0100007F:1F90") == ("127.0.0.1", 8080)
    assert decode_address("00000000000000000000000001000000:0050") == ("::1", 80)
    assert decode_address("0000000000000000FFFF00000100007F:01BB") == ("127.0.0.1", 443)


def test_malformed_table_rows_are_skipped() -> None:
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    row = "   {n}: {addr} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 {inode} 1\n"
    text = (header + row.format(n=0, addr="0100007F:1F90", inode=4242) + "   1: garbage\n"
            + row.format(n=2, addr="ZZZZ:1F90", inode=1))
    sockets = parse_table(text, "tcp", 4)
    assert [(s.local_port, s.state, s.inode) for s in sockets] == [(8080, 0x0A, 4242)]
