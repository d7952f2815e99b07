"""Tables of positions: positions from the phones: ingest, upload completeness, retention."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    DATUMS,
    SQLITE_ROWID,
    col_field,
    created_at_field,
    fk_field,
    sql_in,
    utc_now,
    worker_pk,
)
from checkins.db.types import GeometryType, UTCDateTime

POSITION_KINDS = ("fix", "heartbeat")


class Position(SQLModel, table=True):
    """A fix or heartbeat from a phone, kept as received plus its WGS-84 normalisation.

    ``recorded_at`` is device time, ``received_at`` server time. ``lon``/``lat`` are as
    received in ``datum`` (GEO-CRS); ``geom`` is the WGS-84 point (None for heartbeats and
    unusable fixes). A fix failing GEO-VALID keeps its ``reject_reason``; a GEO-SPOOF
    candidate has ``suspect`` set. On PostgreSQL the table is partitioned by day on
    ``recorded_at`` (:mod:`checkins.db.partitions`), so the primary and unique keys
    include ``recorded_at``, and they lead with ``worker_id``, the Citus distribution
    column; on SQLite ``id`` alone is the key (a rowid alias). The dedupe key is the
    phone's client id per device (and time, and the token's worker: a resend carries the
    same worker, so it is still one fix).
    """

    __tablename__ = "position"
    __table_args__ = (
        worker_pk("position", "recorded_at"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id", "recorded_at"),
        sa.CheckConstraint(sql_in("kind", POSITION_KINDS), name="kind"),
        sa.CheckConstraint(sql_in("datum", DATUMS), name="datum"),
        sa.Index("ix_position_worker_id_recorded_at", "worker_id", "recorded_at"),
        sa.Index("ix_position_geom", "geom", postgresql_using="gist",
                 info={"postgresql_only": True}).ddl_if(dialect="postgresql"),
        {"postgresql_partition_by": "RANGE (recorded_at)", "info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(),
        nullable=False))
    recorded_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    received_at: dt.datetime = created_at_field()
    kind: str = col_field(sa.String(16), nullable=False, default="fix")
    worker_id: str = fk_field("worker.worker_id")
    device_id: int | None = fk_field("device.id", nullable=True, length=None)
    client_id: str | None = col_field(sa.String(64))
    seq: int | None = col_field(sa.BigInteger)
    lon: float | None = col_field(sa.Float)
    lat: float | None = col_field(sa.Float)
    datum: str = col_field(sa.String(8), nullable=False, default="wgs84")
    geom: Any = col_field(GeometryType("POINT"))
    accuracy_m: float | None = col_field(sa.Float)
    speed_mps: float | None = col_field(sa.Float)
    mock: bool = col_field(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    battery_pct: int | None = col_field(sa.SmallInteger)
    charging: bool | None = col_field(sa.Boolean)
    network: str | None = col_field(sa.String(16))
    gps_on: bool | None = col_field(sa.Boolean)
    app_state: str | None = col_field(sa.String(16))
    grid_id: str | None = col_field(sa.String(32))  # tag: the grid containing geom, if any
    reject_reason: str | None = col_field(sa.String(32))
    suspect: bool = col_field(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    suspect_reason: str | None = col_field(sa.String(64))


class DeviceSeqRun(SQLModel, table=True):
    """A contiguous run ``[seq_from, seq_to]`` of sequence numbers received from a device."""

    __tablename__ = "device_seq_run"
    __table_args__ = (
        sa.CheckConstraint("seq_to >= seq_from", name="seq_order"),
        sa.Index("ix_device_seq_run_device_id_seq_from", "device_id", "seq_from"),
        sa.PrimaryKeyConstraint("worker_id", "id", name="pk_device_seq_run"),  # Citus: by worker
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                             nullable=False))
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    device_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False))
    seq_from: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    seq_to: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    received_at: dt.datetime = Field(
        default_factory=utc_now, sa_column=sa.Column(UTCDateTime(), nullable=False))


class LiveState(SQLModel, table=True):
    """Per worker-day state of the live check and the live board, kept as data arrives.

    Ingest (same transaction as its COPY) moves the ``last_*`` columns to the latest item and
    usable fix, lowers ``dirty_from`` to the earliest item it stored and bumps
    ``ingest_seq``. The live check (:mod:`checkins.jobs.alerts`) judges each worker from
    ``settled_at`` (or ``dirty_from``, if a late fix arrived before it) to *now*, then stores
    what it found (``open_intervals``, ``settled_at``, ``judged_until``) and clears
    ``dirty_from`` only if ``ingest_seq`` did not move meanwhile. The live board reads this
    table instead of probing ``position`` once per worker.
    """

    __tablename__ = "live_state"
    __table_args__ = (sa.PrimaryKeyConstraint("worker_id", "work_date", name="pk_live_state"),)

    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    work_date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    ingest_seq: int = col_field(sa.Integer, nullable=False, default=0, server_default="0")
    dirty_from: dt.datetime | None = col_field(UTCDateTime())
    last_seen_at: dt.datetime | None = col_field(UTCDateTime())
    last_fix_at: dt.datetime | None = col_field(UTCDateTime())
    last_lon: float | None = col_field(sa.Float)
    last_lat: float | None = col_field(sa.Float)
    last_grid_id: str | None = col_field(sa.String(32))
    judged_seq: int = col_field(sa.Integer, nullable=False, default=0, server_default="0")
    judged_until: dt.datetime | None = col_field(UTCDateTime())
    settled_at: dt.datetime | None = col_field(UTCDateTime())
    open_intervals: Any = col_field(sa.JSON)
