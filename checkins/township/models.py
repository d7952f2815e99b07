"""Tables of township: the township's places and people: villages, grids, roster, imports, grid tagging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from checkins.db.base import (
    col_field,
    created_at_field,
    fk_field,
    pk_int,
    pk_str,
    sql_in,
)
from checkins.db.types import GeometryType, UTCDateTime

ROLES = ("head", "fulltime", "parttime")


class Township(SQLModel, table=True):
    """A township (镇/街道): the unit of one deployment, with its timezone and rule profile."""

    __tablename__ = "township"

    township_id: str = pk_str()
    name: str = col_field(sa.String(100), nullable=False)
    timezone: str = col_field(sa.String(64), nullable=False, default="Asia/Shanghai")
    profile: str = col_field(sa.String(64), nullable=False, default="yangkou-2022")
    created_at: dt.datetime = created_at_field()


class Village(SQLModel, table=True):
    """A village (村/社区) with its office (村部) point, the sign-in place (WGS-84)."""

    __tablename__ = "village"
    __table_args__ = (sa.CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_m"),)

    village_id: str = pk_str()
    township_id: str = fk_field("township.township_id", index=True)
    name: str = col_field(sa.String(100), nullable=False)
    office: Any = col_field(GeometryType("POINT"))
    radius_m: float | None = col_field(sa.Float)  # None: the profile's default sign-in radius
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime | None = col_field(UTCDateTime())


class Grid(SQLModel, table=True):
    """A grid (网格): a Polygon or MultiPolygon in WGS-84, belonging to one village."""

    __tablename__ = "grid"
    __table_args__ = (
        sa.Index("ix_grid_geom", "geom", postgresql_using="gist",
                 info={"postgresql_only": True}).ddl_if(dialect="postgresql"),
    )

    grid_id: str = pk_str()
    village_id: str = fk_field("village.village_id", index=True)
    name: str | None = col_field(sa.String(100))
    geom: Any = col_field(GeometryType("GEOMETRY"), nullable=False)
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime | None = col_field(UTCDateTime())


class Worker(SQLModel, table=True):
    """A grid worker (网格员): grid head, full-time or part-time."""

    __tablename__ = "worker"
    __table_args__ = (sa.CheckConstraint(sql_in("role", ROLES), name="role"),)

    worker_id: str = pk_str()
    name: str = col_field(sa.String(100), nullable=False)
    phone: str | None = col_field(sa.String(32))
    role: str = col_field(sa.String(16), nullable=False)
    village_id: str = fk_field("village.village_id", index=True)
    active: bool = col_field(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: dt.datetime = created_at_field()
    updated_at: dt.datetime | None = col_field(UTCDateTime())


class GridAssignment(SQLModel, table=True):
    """A worker's grid over local dates ``[valid_from, valid_to)``; ``valid_to`` None = open."""

    __tablename__ = "grid_assignment"
    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        sa.Index("ix_grid_assignment_worker_id_valid_from", "worker_id", "valid_from"),
    )

    id: int | None = pk_int()
    worker_id: str = fk_field("worker.worker_id")
    grid_id: str = fk_field("grid.grid_id", index=True)
    valid_from: dt.date = col_field(sa.Date, nullable=False)
    valid_to: dt.date | None = col_field(sa.Date)
    created_at: dt.datetime = created_at_field()
