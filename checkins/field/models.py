"""Tables of field: the field day's records: sign-ins, patrol sessions, patrol logs, photos, requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from checkins.db.base import (
    DATUMS,
    SQLITE_ROWID,
    col_field,
    created_at_field,
    fk_field,
    row_id,
    sql_in,
    worker_pk,
)
from checkins.db.types import GeometryType, UTCDateTime

EXEMPTION_KINDS = ("sick_leave", "personal_leave", "field_duty", "special")


EXEMPTION_STATUSES = ("requested", "approved", "denied")


class Signin(SQLModel, table=True):
    """A sign-in (签到) posted by the phone at a village office (GEO-SIGNIN)."""

    __tablename__ = "signin"
    __table_args__ = (
        worker_pk("signin"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id"),
        sa.CheckConstraint(sql_in("datum", DATUMS), name="datum"),
        sa.Index("ix_signin_worker_id_signed_at", "worker_id", "signed_at"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = row_id()
    worker_id: str = fk_field("worker.worker_id")
    device_id: int | None = fk_field("device.id", nullable=True, length=None)
    client_id: str | None = col_field(sa.String(64))
    signed_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    received_at: dt.datetime = created_at_field()
    lon: float = col_field(sa.Float, nullable=False)
    lat: float = col_field(sa.Float, nullable=False)
    datum: str = col_field(sa.String(8), nullable=False, default="wgs84")
    geom: Any = col_field(GeometryType("POINT"))
    accuracy_m: float | None = col_field(sa.Float)
    village_id: str | None = fk_field("village.village_id", nullable=True)


class PatrolSession(SQLModel, table=True):
    """A patrol started and stopped in the app (YK-PATROL-PERFORMED)."""

    __tablename__ = "patrol_session"
    __table_args__ = (
        worker_pk("patrol_session"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="time_order"),
        sa.Index("ix_patrol_session_worker_id_started_at", "worker_id", "started_at"),
        # SQLite: the target of patrol_log's (worker_id, patrol_session_id) key must be
        # unique there too (its primary key is the rowid alone); PostgreSQL has the PK
        sa.Index("uq_patrol_session_worker_id_id", "worker_id", "id", unique=True,
                 info={"sqlite_only": True}).ddl_if(dialect="sqlite"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = row_id()
    worker_id: str = fk_field("worker.worker_id")
    device_id: int | None = fk_field("device.id", nullable=True, length=None)
    client_id: str | None = col_field(sa.String(64))
    grid_id: str | None = col_field(sa.String(32))
    started_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    ended_at: dt.datetime | None = col_field(UTCDateTime())
    received_at: dt.datetime = created_at_field()


class PatrolLog(SQLModel, table=True):
    """A patrol log entry (巡查日志, YK-LOG): text now, photos later."""

    __tablename__ = "patrol_log"
    __table_args__ = (
        worker_pk("patrol_log"),
        # a log's patrol is the same worker's (the key includes the distribution column)
        sa.ForeignKeyConstraint(["worker_id", "patrol_session_id"],
                                ["patrol_session.worker_id", "patrol_session.id"]),
        sa.Index("ix_patrol_log_worker_id_written_at", "worker_id", "written_at"),
        # the phone's id of the entry: a resent upload is the same entry (idempotent)
        sa.Index("uq_patrol_log_worker_id_client_id", "worker_id", "client_id", unique=True),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = row_id()
    worker_id: str = fk_field("worker.worker_id")
    patrol_session_id: int | None = col_field(sa.Integer)
    written_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    received_at: dt.datetime = created_at_field()
    text: str = col_field(sa.Text, nullable=False, default="")
    photos: list[Any] | None = col_field(sa.JSON)
    client_id: str | None = col_field(sa.String(64))


class Exemption(SQLModel, table=True):
    """Leave, field duty (外勤, with its place) or a special case; requested then decided."""

    __tablename__ = "exemption"
    __table_args__ = (
        sa.CheckConstraint(sql_in("kind", EXEMPTION_KINDS), name="kind"),
        sa.CheckConstraint(sql_in("status", EXEMPTION_STATUSES), name="status"),
        sa.CheckConstraint("end_at > start_at", name="time_order"),
        sa.Index("ix_exemption_worker_id_start_at", "worker_id", "start_at"),
        sa.Index("uq_exemption_worker_id_client_id", "worker_id", "client_id", unique=True),
        worker_pk("exemption"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = row_id()
    worker_id: str = fk_field("worker.worker_id")
    kind: str = col_field(sa.String(16), nullable=False)
    start_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    end_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    place: Any = col_field(GeometryType("POINT"))  # field duty: WGS-84 centre
    place_radius_m: float | None = col_field(sa.Float)
    note: str | None = col_field(sa.Text)
    status: str = col_field(sa.String(16), nullable=False, default="requested")
    requested_at: dt.datetime = created_at_field()
    requested_by: str | None = col_field(sa.String(64))
    decided_by: str | None = col_field(sa.String(64))
    decided_at: dt.datetime | None = col_field(UTCDateTime())
    client_id: str | None = col_field(sa.String(64))  # the phone's id of the request (idempotent)
    decision_reason: str | None = col_field(sa.Text)
