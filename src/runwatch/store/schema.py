"""The tables, in SQLAlchemy Core, portable between SQLite and PostgreSQL.

Events keep their whole field mapping as JSON text in `fields`; the columns beside it are copies of
the fields that queries filter on, so filters use indexes.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, SmallInteger, String, Table, Text

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants a 64-bit id.
_RowId = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events", metadata,
    Column("id", _RowId, primary_key=True, autoincrement=True),
    Column("time_ns", BigInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("evt_type", String(64), nullable=False),
    Column("container_id", String(64)),
    Column("proc_name", String(256)),
    Column("fields", Text, nullable=False),
    Index("ix_events_time", "time_ns"),
    Index("ix_events_type_time", "evt_type", "time_ns"),
    Index("ix_events_container_time", "container_id", "time_ns"),
)

alerts = Table(
    "alerts", metadata,
    Column("id", String(32), primary_key=True),
    Column("time_ns", BigInteger, nullable=False),
    Column("rule", String(512), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("hostname", String(256), nullable=False),
    Column("container_id", String(64)),
    Column("output", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("output_fields", Text, nullable=False),
    Index("ix_alerts_time", "time_ns"),
    Index("ix_alerts_rule_time", "rule", "time_ns"),
    Index("ix_alerts_priority_time", "priority", "time_ns"),
    Index("ix_alerts_container_time", "container_id", "time_ns"),
)

containers = Table(
    "containers", metadata,
    Column("id", String(64), primary_key=True),
    Column("full_id", String(64)),
    Column("name", String(256)),
    Column("image", String(512)),
    Column("image_id", String(128)),
    Column("runtime", String(32)),
    Column("state", String(32)),
    Column("labels", Text, nullable=False, default="{}"),
    Column("first_seen_ns", BigInteger, nullable=False),
    Column("last_seen_ns", BigInteger, nullable=False),
    Column("record", Text, nullable=False, default="{}"),
)

responses = Table(
    "responses", metadata,
    Column("id", String(32), primary_key=True),
    Column("time_ns", BigInteger, nullable=False),
    Column("alert_id", String(32), nullable=False),
    Column("container_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("record", Text, nullable=False),
    Index("ix_responses_time", "time_ns"),
    Index("ix_responses_alert", "alert_id"),
)
