"""Database errors as runwatch's StoreError, naming the store and what failed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from runwatch.errors import StoreError


@contextlib.contextmanager
def store_errors(url: str, doing: str) -> Iterator[None]:
    """Inside, a database error becomes `StoreError("store URL: DOING failed: ...")`."""
    try:
        yield
    except SQLAlchemyError as err:
        raise StoreError(f"store {url}: {doing} failed: {err}") from err


def read_rows(engine: Engine, url: str, statement: Any) -> list[Any]:
    """Every row `statement` selects."""
    with store_errors(url, "query"), engine.connect() as conn:
        return list(conn.execute(statement))
