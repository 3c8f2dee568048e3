"""Undoing a response through the API, against real podman: the admin's call unpauses the
container the response paused; a viewer's call changes nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from runwatch.config import ApiConfig
from runwatch.health import Health, StageCounters
from runwatch.respond.base import ResponseRecord, ResponseStatus
from runwatch.respond.desk import ResponseDesk
from runwatch.rules.catalog import RuleCatalog
from runwatch.store.sql import SqlStore, open_store
from runwatch.web.app import create_app
from runwatch.web.base import WebParts
from runwatch.web.stream import AlertStream
from runwatch.web.tokens import Role, create_token
from tests.support.net import free_port, wait_for_port
from tests.support.podman import ContainerFactory, podman, require_root

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path: Path, podman_socket: str) -> Iterator[tuple[str, SqlStore]]:
    """The app on a free port, its responses undone through podman's API service."""
    store = open_store(f"sqlite:///{tmp_path / 'runwatch.db'}")
    health = Health([], [], [], StageCounters())
    parts = WebParts(store=store, stream=AlertStream(), rules=RuleCatalog(lambda: []),
                     responses=ResponseDesk(store, podman_socket, 10.0), health=health,
                     settings=ApiConfig())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(health, parts), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}", store
    finally:
        server.should_exit = True
        thread.join(30)
        store.close()


def test_an_admin_undoes_a_pause_and_a_viewer_cannot(served: tuple[str, SqlStore],
                                                     start_container: ContainerFactory) -> None:
    require_root()
    base_url, store = served
    container = start_container("sleep", "600")
    podman("pause", container.name)
    store.add_response(ResponseRecord(
        id="resp-pause", time_ns=time.time_ns(), alert_id="a" * 32, rule="Read sensitive file untrusted",
        policy="contain", action="pause", container_id=container.short_id,
        container_name=container.name, status=ResponseStatus.DONE, reason=f"pause {container.name}"))
    admin, _ = create_token(store.auth, Role.ADMIN, "alice")
    viewer, _ = create_token(store.auth, Role.VIEWER, "bob")

    refused = httpx.post(f"{base_url}/api/responses/resp-pause/undo",
                         headers={"Authorization": f"Bearer {viewer}"}, timeout=30)
    assert refused.status_code == 403
    assert container.inspect("{{.State.Status}}") == "paused"

    undone = httpx.post(f"{base_url}/api/responses/resp-pause/undo",
                        headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    assert undone.status_code == 200, undone.text
    assert undone.json()["status"] == "undone" and undone.json()["undone_time"] is not None
    assert container.inspect("{{.State.Status}}") == "running"
    again = httpx.post(f"{base_url}/api/responses/resp-pause/undo",
                       headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    assert again.status_code == 409 and "undone: nothing to undo" in again.json()["detail"]
    listed = httpx.get(f"{base_url}/api/responses", headers={"Authorization": f"Bearer {viewer}"},
                       timeout=30).json()
    assert [(r["id"], r["status"]) for r in listed] == [("resp-pause", "undone")]
