"""The store: events, alerts and containers, in SQLite or PostgreSQL."""

from runwatch.store.base import AlertQuery, EventQuery, RetentionResult, Store, StoredContainer
from runwatch.store.sql import SqlStore, open_store

__all__ = ["AlertQuery", "EventQuery", "RetentionResult", "SqlStore", "Store", "StoredContainer", "open_store"]
