"""A database made before the triage columns existed opens, gains them, and keeps its alerts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine

from runwatch.store.base import AlertQuery, AlertStatus
from runwatch.store.migrate import migrate
from runwatch.store.sql import SqlStore

# The alerts table as the first release created it.
OLD_ALERTS = """
CREATE TABLE alerts (id VARCHAR(32) NOT NULL PRIMARY KEY, time_ns BIGINT NOT NULL,
  rule VARCHAR(512) NOT NULL, priority SMALLINT NOT NULL, source VARCHAR(32) NOT NULL,
  hostname VARCHAR(256) NOT NULL, container_id VARCHAR(64), output TEXT NOT NULL,
  tags TEXT NOT NULL, output_fields TEXT NOT NULL);
CREATE INDEX ix_alerts_time ON alerts (time_ns);
INSERT INTO alerts VALUES ('0000000000010000000000000000000a', 1000, 'Old rule', 4, 'syscall', 'h',
  'c1', 'an old alert', '["old"]', '{"proc.name": "sh"}');
"""


def test_an_old_database_gains_the_new_columns_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_ALERTS)
    store = SqlStore(f"sqlite:///{path}")
    found = store.search_alerts(AlertQuery())
    assert [(s.alert.rule, s.status, s.activity) for s in found.items] == [
        ("Old rule", AlertStatus.OPEN, ())]
    store.set_alert_status(found.items[0].alert.id, AlertStatus.ACKNOWLEDGED, "alice", "mine", 2000)
    assert store.search_alerts(AlertQuery(status=AlertStatus.ACKNOWLEDGED)).total == 1
    assert store.auth.count_tokens() == 0  # new tables are created beside the old ones
    store.close()
    with sqlite3.connect(path) as conn:
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert {"ix_alerts_status_priority_time", "ix_alerts_image_time"} <= indexes


def test_migrating_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_ALERTS)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        added = migrate(conn)
    with engine.begin() as conn:
        again = migrate(conn)
    engine.dispose()
    assert "alerts.status" in added and "alerts.activity" in added
    assert again == []
