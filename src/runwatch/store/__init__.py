"""The store: events, alerts and containers, in SQLite or PostgreSQL."""

from runwatch.store.base import AlertQuery, EventQuery, RetentionResult, Store
from runwatch.store.sql import SqlStore, open_store

__all__ = ["AlertQuery", "EventQuery", "RetentionResult", "SqlStore", "Store", "open_store"]
