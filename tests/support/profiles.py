"""Learned profiles for tests: a web server, a client calling it, a worker, as enriched events
and as a store holding what the detector learned from them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runwatch.config import ProfilesConfig
from runwatch.event import Event
from runwatch.profiles.detector import ProfileDetector
from runwatch.store.sql import SqlStore

IMAGE = "localhost/shop"
WEB, CLIENT, WORKER = (f"shop/{app}@{IMAGE}" for app in ("web", "client", "worker"))
ADDRESSES = {"web": "10.88.0.10", "client": "10.88.0.11", "worker": "10.88.0.12"}


def event_in(app: str, evt_type: str, **fields: object) -> Event:
    base: Event = {"evt.type": evt_type, "evt.time": time.time_ns(), "container.id": f"{app:0<12}"[:12],
                   "container.name": f"{app}-1", "container.image": f"{IMAGE}:1",
                   "container.image.repository": IMAGE, "container.image.id": "1111",
                   "container.label": {"app": app}, "k8s.ns.name": "shop", "proc.pname": "sh",
                   "user.name": "app"}
    base.update({key.replace("__", "."): value for key, value in fields.items()})
    return base


def run_in(app: str, path: str, **fields: object) -> Event:
    return event_in(app, "execve", **{"proc__exepath": path, "proc__name": path.rsplit("/", 1)[-1],
                                      "proc__cmdline": path, **fields})


def connection(evt_type: str, app: str, client: str, server: str, port: int) -> Event:
    return event_in(app, evt_type, fd__sockfamily="ip", fd__l4proto="tcp", fd__sip=server,
                    fd__sport=port, fd__cip=client, fd__cport=40001,
                    fd__lip=server if evt_type == "accept" else client, fd__connected=True)


def benign_events() -> list[Event]:
    web, client = ADDRESSES["web"], ADDRESSES["client"]
    return [
        run_in("web", "/usr/sbin/httpd"),
        event_in("web", "listen", fd__sockfamily="ip", fd__l4proto="tcp", fd__lport=8080),
        connection("accept", "web", client, web, 8080),
        event_in("web", "openat", fd__name="/var/log/httpd/access.log", evt__is_open_write=True),
        event_in("web", "openat", fd__name="/etc/httpd.conf", evt__is_open_read=True),
        *[event_in("web", "openat", fd__name=f"/var/cache/httpd/{n}", evt__is_open_write=True)
          for n in "abcdefg"],
        run_in("client", "/usr/bin/wget"),
        connection("connect", "client", client, web, 8080),
        connection("connect", "client", client, "93.184.216.34", 443),
        event_in("web", "syscall_counts", evt__arg__syscalls=["accept", "socket", "bind", "listen"],
                 evt__arg__capabilities=["CAP_NET_BIND_SERVICE", "CAP_BPF"]),
        run_in("worker", "/bin/date"),
        event_in("worker", "openat", fd__name="/tmp/out", evt__is_open_write=True),
    ]


@pytest.fixture
def learned_store(tmp_path: Path) -> SqlStore:
    """A store holding the three workloads' learned profiles (in learn mode)."""
    store = SqlStore(f"sqlite:///{tmp_path / 'runwatch.db'}")
    detector = ProfileDetector(ProfilesConfig(), "test-host")
    for app, address in ADDRESSES.items():
        detector.remember_address(address, f"shop/{app}@{IMAGE}")
    detector.match(benign_events())
    store.profiles.apply(detector.take_changes())
    return store
