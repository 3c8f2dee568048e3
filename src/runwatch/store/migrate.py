"""Bring an existing database up to the tables in schema.py: the one migration step there is.

`metadata.create_all` creates missing tables (with their indexes) but never touches a table that
exists. Columns added to an existing table since a database was created are added here with their
server default, then any missing index is created. Dropping or changing a column is not supported:
schema.py only ever adds nullable columns or columns with a server default.
"""

from __future__ import annotations

import logging

from sqlalchemy import Column, Table, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex

from runwatch.store.schema import RETIRED_INDEXES, metadata

log = logging.getLogger(__name__)


def migrate(conn: Connection) -> list[str]:
    """Add missing columns and indexes to existing tables, drop retired indexes; returns what changed
    ('alerts.status', 'alerts:ix_alerts_status_time', '-alerts:ix_alerts_time')."""
    inspector = inspect(conn)
    present_tables = set(inspector.get_table_names())
    added: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in present_tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present:
                conn.exec_driver_sql(_add_column_sql(conn, table, column))
                added.append(f"{table.name}.{column.name}")
        indexes = {index["name"] for index in inspector.get_indexes(table.name)}
        for name in RETIRED_INDEXES.get(table.name, ()):
            if name in indexes:
                conn.exec_driver_sql(f"DROP INDEX {conn.dialect.identifier_preparer.quote(name)}")
                added.append(f"-{table.name}:{name}")
        for index in table.indexes:
            if index.name not in indexes:
                conn.execute(CreateIndex(index))
                added.append(f"{table.name}:{index.name}")
    if added:
        log.info("store schema migrated", extra={"added": added})
    return added


def _add_column_sql(conn: Connection, table: Table, column: Column[object]) -> str:
    """ALTER TABLE ... ADD COLUMN with the column's type and server default, in the dialect's words."""
    preparer = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    sql = f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {preparer.format_column(column)} {kind}"
    default = column.server_default
    if default is not None:
        text = getattr(default, "arg", None)
        if not isinstance(text, str):
            raise TypeError(f"{table.name}.{column.name}: only literal server defaults can be migrated")
        sql += " DEFAULT " + "'" + text.replace("'", "''") + "'"
    if not column.nullable:
        if default is None:
            raise TypeError(f"{table.name}.{column.name}: a NOT NULL column added later needs a "
                            f"server default")
        sql += " NOT NULL"
    return sql
