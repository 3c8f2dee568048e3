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
    # Added after the first release (store/migrate.py adds them to older databases):
    # the image repository, copied from output_fields so the image filter uses an index,
    # and the triage state that people change from the API.
    Column("image", String(512)),
    Column("status", String(16), nullable=False, server_default="open"),
    Column("status_ns", BigInteger),
    Column("status_by", String(128)),
    Column("status_comment", Text),
    Column("activity", Text, nullable=False, server_default="[]"),
    # The overview's aggregates read only these (covering) indexes; see store/search.py.
    Index("ix_alerts_time_priority", "time_ns", "priority"),
    Index("ix_alerts_rule_stats", "rule", "time_ns", "priority", "status"),
    Index("ix_alerts_priority_time", "priority", "time_ns"),
    Index("ix_alerts_container_stats", "container_id", "time_ns", "priority", "status"),
    Index("ix_alerts_image_time", "image", "time_ns"),
    Index("ix_alerts_status_time", "status", "time_ns"),
    Index("ix_alerts_status_priority_time", "status", "priority", "time_ns"),
)

# Indexes an older schema.py created that newer indexes above make redundant; migrate drops them.
RETIRED_INDEXES = {"alerts": ("ix_alerts_time", "ix_alerts_rule_time", "ix_alerts_container_time")}

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

# API tokens: only a SHA-256 of each token is kept; `id` is the token's public prefix.
tokens = Table(
    "tokens", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("created_ns", BigInteger, nullable=False),
    Column("last_used_ns", BigInteger),
    Column("revoked_ns", BigInteger),
)

# Dashboard sign-ins: a SHA-256 of the cookie's value, the token it came from and its CSRF secret.
sessions = Table(
    "sessions", metadata,
    Column("id_sha256", String(64), primary_key=True),
    Column("token_id", String(32), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_ns", BigInteger, nullable=False),
    Column("expires_ns", BigInteger, nullable=False),
    Index("ix_sessions_token", "token_id"),
)

# Behaviour profiles (profiles/): one row per workload, its items, and the connectivity map.
profiles = Table(
    "profiles", metadata,
    Column("workload", String(512), primary_key=True),
    Column("mode", String(16), nullable=False),
    Column("revision", BigInteger, nullable=False),
    Column("updated_ns", BigInteger, nullable=False),
    Column("record", Text, nullable=False),
)

profile_items = Table(
    "profile_items", metadata,
    Column("workload", String(512), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("item", Text, primary_key=True),
    Column("origin", String(16), nullable=False),
    Column("first_ns", BigInteger, nullable=False),
)

graph_edges = Table(
    "graph_edges", metadata,
    Column("source", String(512), primary_key=True),
    Column("target", String(512), primary_key=True),
    Column("port", Integer, primary_key=True),
    Column("protocol", String(16), primary_key=True),
    Column("first_ns", BigInteger, nullable=False),
    Column("last_ns", BigInteger, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("abnormal", SmallInteger, nullable=False),
    Column("alert_id", String(32)),
)
