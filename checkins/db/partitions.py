"""Day partitions of the ``position`` table on PostgreSQL (no-ops on SQLite).

The table is ``PARTITION BY RANGE (recorded_at)``; each partition holds one local day of
the township (``position_pYYYYMMDD``), and ``position_default`` catches anything else.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from geo.localtime import day_range

DEFAULT_PARTITION = "position_default"


def partition_name(day: dt.date) -> str:
    """The name of the partition holding local date ``day``."""
    return f"position_p{day:%Y%m%d}"


def ensure_default_partition(conn: Connection) -> bool:
    """Create ``position_default`` if missing; True if created."""
    if conn.dialect.name != "postgresql":
        return False
    if conn.scalar(sa.text("SELECT to_regclass(:n)"), {"n": DEFAULT_PARTITION}) is not None:
        return False
    conn.execute(sa.text(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF position DEFAULT"))
    return True


def ensure_position_partitions(conn: Connection, first_day: dt.date, days: int,
                               timezone: str = "Asia/Shanghai") -> list[str]:
    """Create the day partitions ``first_day .. first_day + days - 1`` that are missing.

    Rows of those days already sitting in the default partition are moved into the new
    partition. Returns the names of the partitions created (empty on SQLite).
    """
    if conn.dialect.name != "postgresql":
        return []
    ensure_default_partition(conn)
    created = []
    for i in range(days):
        day = first_day + dt.timedelta(days=i)
        name = partition_name(day)
        if conn.scalar(sa.text("SELECT to_regclass(:n)"), {"n": name}) is not None:
            continue
        start, end = day_range(day, timezone)
        bounds = {"lo": start, "hi": end}
        stray = conn.scalar(sa.text(
            f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} "
            "WHERE recorded_at >= :lo AND recorded_at < :hi)"), bounds)
        lo, hi = start.isoformat(), end.isoformat()
        if not stray:
            conn.execute(sa.text(
                f"CREATE TABLE {name} PARTITION OF position "
                f"FOR VALUES FROM ('{lo}') TO ('{hi}')"))
        else:
            conn.execute(sa.text(
                f"CREATE TABLE {name} (LIKE position INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
            conn.execute(sa.text(
                f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
                "WHERE recorded_at >= :lo AND recorded_at < :hi RETURNING *) "
                f"INSERT INTO {name} SELECT * FROM moved"), bounds)
            conn.execute(sa.text(
                f"ALTER TABLE position ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{lo}') TO ('{hi}')"))
        created.append(name)
    return created


def list_partitions(conn: Connection) -> list[str]:
    """Names of the partitions of ``position`` (PostgreSQL), sorted."""
    if conn.dialect.name != "postgresql":
        return []
    rows = conn.execute(sa.text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'position' ORDER BY 1"))
    return [r[0] for r in rows]
