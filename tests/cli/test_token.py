"""`runwatch token` and the first start's admin token, as users run them: real subprocesses, a
real store, the tokens tried against the real API."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import httpx
import pytest

from runwatch.store.sql import open_store
from runwatch.web.tokens import verify_token
from tests.cli.test_cli import runwatch, start_runwatch, wait_healthy

TOKEN = re.compile(r"^rwt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$")


def test_create_prints_only_the_token_and_the_store_keeps_only_its_hash(tmp_path: Path) -> None:
    created = runwatch("token", "create", "--role", "viewer", "--name", "ci bot",
                       "--data-dir", str(tmp_path))
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert TOKEN.match(token) and created.stdout == token + "\n"
    store = open_store(f"sqlite:///{tmp_path / 'runwatch.db'}")
    try:
        record = verify_token(store.auth, token)
        assert record is not None and record.role == "viewer" and record.name == "ci bot"
        assert token.split("_", 2)[2] not in (tmp_path / "runwatch.db").read_bytes().decode("latin-1")
    finally:
        store.close()


def test_list_shows_tokens_without_secrets_and_revoke_stops_one(tmp_path: Path) -> None:
    viewer = runwatch("token", "create", "--role", "viewer", "--data-dir", str(tmp_path)).stdout.strip()
    admin = runwatch("token", "create", "--role", "admin", "--name", "alice",
                     "--data-dir", str(tmp_path)).stdout.strip()
    listed = [json.loads(line) for line in
              runwatch("token", "list", "--json", "--data-dir", str(tmp_path)).stdout.splitlines()]
    assert [(t["name"], t["role"], t["revoked_ns"]) for t in listed] == [
        ("viewer token", "viewer", None), ("alice", "admin", None)]
    table = runwatch("token", "list", "--data-dir", str(tmp_path)).stdout
    assert "alice" in table and viewer.rsplit("_", 1)[1] not in table and admin not in table
    viewer_id = viewer.split("_")[1]
    revoked = runwatch("token", "revoke", viewer_id, "--data-dir", str(tmp_path))
    assert revoked.returncode == 0 and revoked.stdout == f"revoked {viewer_id} (viewer token)\n"
    store = open_store(f"sqlite:///{tmp_path / 'runwatch.db'}")
    try:
        assert verify_token(store.auth, viewer) is None
        assert verify_token(store.auth, admin) is not None
    finally:
        store.close()
    again = runwatch("token", "list", "--json", "--data-dir", str(tmp_path)).stdout.splitlines()
    assert json.loads(again[0])["revoked_ns"] is not None


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    unknown = runwatch("token", "revoke", "deadbeef", "--data-dir", str(tmp_path))
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == "error: no token with id 'deadbeef' (see `runwatch token list`)"
    role = runwatch("token", "create", "--role", "root", "--data-dir", str(tmp_path))
    assert role.returncode == 2 and "Invalid value for '--role'" in role.stderr
    assert "Traceback" not in role.stderr and role.stdout == ""


@pytest.mark.integration
def test_the_first_start_prints_an_admin_token_once_and_it_opens_the_api(tmp_path: Path) -> None:
    tokens = []
    for _ in range(2):
        process, base = start_runwatch(tmp_path)
        try:
            wait_healthy(process, base)
            banner = ""
            for token in tokens:
                answer = httpx.get(f"{base}/api/alerts", headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 200
        finally:
            process.send_signal(signal.SIGTERM)
            _, banner = process.communicate(timeout=30)
        assert process.returncode == 0, banner
        assert f"dashboard: {base}/" in banner
        tokens += re.findall(r"rwt_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", banner)
    assert len(tokens) == 1, "the admin token is printed on the first start only"
    listed = [json.loads(line) for line in
              runwatch("token", "list", "--json", "--data-dir", str(tmp_path / "data")).stdout.splitlines()]
    assert [(t["name"], t["role"]) for t in listed] == [("initial admin", "admin")]
    assert listed[0]["last_used_ns"] is not None  # the second start's API call used it
