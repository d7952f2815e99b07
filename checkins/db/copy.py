"""Copy every row of a database into another one of the same schema (SQLite -> PostGIS).

The tables are copied parents first (foreign keys), in chunks, through SQLAlchemy Core with
the application's column types on both sides (geometry, UTC times and JSON convert through
them, so a value reads back the same), ids kept as they are. On PostgreSQL the day
partitions of ``position`` are created for the source's dates first and the sequences are
moved past the copied ids afterwards. The target must be migrated and empty; the caller
checks and verifies (``gridpatrol copy-data``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from checkins.db import partitions

CHUNK_ROWS = 5000
SKIP_TABLES = ("alembic_version", "job_lock", "rate_bucket")  # versioned / transient state
MAX_PARTITION_DAYS = 800  # a longer history goes to the default partition


def _position_days(src: Engine, timezone: str) -> tuple[dt.date, int] | None:
    with src.connect() as conn:
        lo, hi = conn.execute(sa.text("SELECT min(recorded_at), max(recorded_at) FROM position")
                              ).one()
    if lo is None:
        return None
    from zoneinfo import ZoneInfo

    def local_day(v: Any) -> dt.date:
        t = v if isinstance(v, dt.datetime) else dt.datetime.fromisoformat(str(v))
        if t.tzinfo is None:
            t = t.replace(tzinfo=dt.UTC)
        return t.astimezone(ZoneInfo(timezone)).date()

    first, last = local_day(lo), local_day(hi)
    return first, min(MAX_PARTITION_DAYS, (last - first).days + 1)


def copy_tables(src: Engine, dst: Engine, tables: Sequence[sa.Table], *,
                timezone: str = "Asia/Shanghai",
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Copy ``tables`` (in the given order, parents first) from ``src`` to ``dst``; rows
    copied per table. ``progress(table, done, total)`` is called after each chunk."""
    copied: dict[str, int] = {}
    if dst.dialect.name == "postgresql":
        span = _position_days(src, timezone)
        if span is not None:
            with dst.begin() as conn:
                partitions.ensure_position_partitions(conn, span[0], span[1], timezone)
    with src.connect() as sconn, dst.begin() as dconn:
        for table in tables:
            if table.name in SKIP_TABLES:
                continue
            total = int(sconn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
            done = 0
            order = list(table.primary_key.columns) or list(table.columns)[:1]
            result = sconn.execution_options(yield_per=CHUNK_ROWS).execute(
                sa.select(table).order_by(*order))
            for chunk in result.partitions(CHUNK_ROWS):
                dconn.execute(sa.insert(table), [dict(r._mapping) for r in chunk])
                done += len(chunk)
                if progress is not None:
                    progress(table.name, done, total)
            if progress is not None and total == 0:
                progress(table.name, 0, 0)
            copied[table.name] = done
        if dst.dialect.name == "postgresql":
            _reset_sequences(dconn, tables)
    return copied


def _reset_sequences(conn: Any, tables: Sequence[sa.Table]) -> None:
    """Move each serial/identity sequence past the largest copied id."""
    for table in tables:
        for col in table.columns:
            seq = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                              {"t": table.name, "c": col.name})
            if seq is None:
                continue
            top = conn.scalar(sa.text(f'SELECT max("{col.name}") FROM "{table.name}"'))
            if top is not None:
                conn.execute(sa.text("SELECT setval(:s, :v)"), {"s": seq, "v": int(top)})
