"""Tables of cases: case categories (a township-editable list), cases, instructions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from checkins.db.base import DATUMS, col_field, created_at_field, fk_field, pk_int, sql_in
from checkins.db.types import GeometryType, UTCDateTime

# reported -> accepted -> dispatched -> arrived -> resolved -> closed; or rejected (invalid)
CASE_STATUSES = ("reported", "accepted", "dispatched", "arrived", "resolved", "closed", "rejected")
INSTRUCTION_STATUSES = ("sent", "acknowledged", "arrived", "resolved", "cancelled")
DEFAULT_CATEGORIES = ("安全隐患", "矛盾纠纷", "环境卫生", "设施损坏", "其他")


class CaseCategory(SQLModel, table=True):
    """A category of cases of one township; the township edits the list (defaults above)."""

    __tablename__ = "case_category"
    __table_args__ = (sa.UniqueConstraint("township_id", "name"),)

    id: int | None = pk_int()
    township_id: str = fk_field("township.township_id")
    name: str = col_field(sa.String(32), nullable=False)
    sort: int = col_field(sa.Integer, nullable=False, default=0)
    active: bool = col_field(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: dt.datetime = created_at_field()


class Case(SQLModel, table=True):
    """A case (事件): reported by a worker's phone (or entered by an office), judged valid or
    rejected, dispatched, closed. Its transitions are in the audit log (entity ``case``)."""

    __tablename__ = "case_record"  # "case" is an SQL keyword
    __table_args__ = (
        sa.CheckConstraint(sql_in("status", CASE_STATUSES), name="status"),
        sa.CheckConstraint(sql_in("datum", DATUMS), name="datum"),
        # the phone's id of the report: a resent report is the same case (idempotent)
        sa.UniqueConstraint("reporter_id", "client_id"),
        sa.Index("ix_case_record_village_id_status", "village_id", "status"),
        sa.Index("ix_case_record_reporter_id_reported_at", "reporter_id", "reported_at"),
        sa.Index("ix_case_record_reported_at", "reported_at"),
    )

    id: int | None = pk_int()
    reporter_id: str | None = fk_field("worker.worker_id", nullable=True)
    reported_by_office: str | None = col_field(sa.String(64))
    device_id: int | None = fk_field("device.id", nullable=True, length=None)
    client_id: str | None = col_field(sa.String(64))
    category: str = col_field(sa.String(32), nullable=False)
    text: str = col_field(sa.Text, nullable=False, default="")
    photos: list[Any] | None = col_field(sa.JSON)
    lon: float = col_field(sa.Float, nullable=False)  # as received, in ``datum``
    lat: float = col_field(sa.Float, nullable=False)
    datum: str = col_field(sa.String(8), nullable=False, default="wgs84")
    geom: Any = col_field(GeometryType("POINT"))  # WGS-84 (GEO-CRS)
    address: str | None = col_field(sa.String(200))
    grid_id: str | None = fk_field("grid.grid_id", nullable=True)
    village_id: str | None = fk_field("village.village_id", nullable=True)
    status: str = col_field(sa.String(16), nullable=False, default="reported")
    complex: bool = col_field(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    valid: bool | None = col_field(sa.Boolean)  # NB-VOLUME: True accepted, False rejected
    reported_at: dt.datetime = col_field(UTCDateTime(), nullable=False)  # device time
    received_at: dt.datetime = created_at_field()
    accepted_at: dt.datetime | None = col_field(UTCDateTime())
    closed_at: dt.datetime | None = col_field(UTCDateTime())
    rejected_at: dt.datetime | None = col_field(UTCDateTime())
    updated_at: dt.datetime | None = col_field(UTCDateTime())


class CaseInstruction(SQLModel, table=True):
    """An instruction (指令/派单) to a worker: go to a place by a deadline. NB-ARRIVE's clock
    starts at ``created_at``; YK-CASE-SLA reads ``acknowledged_at`` and ``resolved_at``."""

    __tablename__ = "case_instruction"
    __table_args__ = (
        sa.CheckConstraint(sql_in("status", INSTRUCTION_STATUSES), name="status"),
        sa.CheckConstraint(sql_in("datum", DATUMS), name="datum"),
        sa.Index("ix_case_instruction_worker_id_created_at", "worker_id", "created_at"),
    )

    id: int | None = pk_int()
    case_id: int = fk_field("case_record.id", length=None, index=True)
    worker_id: str = fk_field("worker.worker_id")
    lon: float = col_field(sa.Float, nullable=False)
    lat: float = col_field(sa.Float, nullable=False)
    datum: str = col_field(sa.String(8), nullable=False, default="wgs84")
    geom: Any = col_field(GeometryType("POINT"))  # WGS-84 place to go
    place_text: str | None = col_field(sa.String(200))
    note: str | None = col_field(sa.Text)
    deadline_at: dt.datetime = col_field(UTCDateTime(), nullable=False)
    created_at: dt.datetime = created_at_field()
    created_by: str = col_field(sa.String(64), nullable=False)
    status: str = col_field(sa.String(16), nullable=False, default="sent")
    acknowledged_at: dt.datetime | None = col_field(UTCDateTime())
    arrived_at: dt.datetime | None = col_field(UTCDateTime())  # as the worker marked it
    resolved_at: dt.datetime | None = col_field(UTCDateTime())
    result_text: str | None = col_field(sa.Text)
    photos: list[Any] | None = col_field(sa.JSON)
