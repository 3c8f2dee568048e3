"""Every store test runs on both backends: SQLite (the embedded default) and a real PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwatch.store.sql import SqlStore

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'runwatch.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> SqlStore:
    return SqlStore(store_url)
