"""A real PostgreSQL server for tests: Debian's binaries, a throwaway cluster, a unix socket."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port


def postgres_bin() -> Path:
    """The newest installed server's bin directory (Debian keeps them out of PATH)."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    assert versions, "postgresql is not installed (scripts/bootstrap.sh test installs it)"
    return versions[-1].parent


def _as_postgres(*command: str) -> None:
    """Run a server tool as the `postgres` user: the server refuses to run as root."""
    result = subprocess.run(["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *command],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(command)} failed: {result.stderr.strip()}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[tuple[Path, int]]:
    """(socket directory, port) of a server started for this test session, removed after it.

    Its directory is outside pytest's (root-only) temporary tree, owned by `postgres`.
    """
    assert os.geteuid() == 0, "the PostgreSQL fixture needs root (to run the server as postgres)"
    pwd.getpwnam("postgres")
    bin_dir = postgres_bin()
    base = Path(tempfile.mkdtemp(prefix="runwatch-postgres-"))
    data, sockets = base / "data", base / "run"
    sockets.mkdir()
    for path in (base, sockets):
        shutil.chown(path, "postgres", "postgres")
    port = free_port()
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                 "--no-sync", "-E", "UTF8")
    _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
                 "-o", f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off", "start")
    try:
        yield sockets, port
    finally:
        _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: tuple[Path, int]) -> str:
    """A SQLAlchemy URL to a fresh, empty database on the session's server."""
    sockets, port = postgres_server
    name = f"rw_{uuid.uuid4().hex[:12]}"
    _as_postgres(str(postgres_bin() / "createdb"), "-h", str(sockets), "-p", str(port), "-U", "postgres",
                 name)
    return f"postgresql+psycopg://postgres@/{name}?host={sockets}&port={port}"
