"""Tables of outages: the server's own outages (never charged as a worker's phone-off)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    utc_now,
)
from checkins.db.types import UTCDateTime

OUTAGE_CAUSES = ("detected", "manual")


class ServerTick(SQLModel, table=True):
    """One UTC minute in which at least one server process was alive and writing."""

    __tablename__ = "server_tick"

    minute_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), primary_key=True))
    first_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    last_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class ServerOutage(SQLModel, table=True):
    """An interval when the server was not receiving; excluded from GEO-PHONEOFF."""

    __tablename__ = "server_outage"
    __table_args__ = (
        sa.CheckConstraint("cause IN ('detected', 'manual')", name="cause"),
        sa.CheckConstraint("end_at > start_at", name="order"),
        sa.UniqueConstraint("cause", "start_at", "end_at"),
        sa.Index("ix_server_outage_start_at_end_at", "start_at", "end_at"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    start_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    end_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    cause: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    recorded_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    recorded_at: dt.datetime = Field(default_factory=utc_now,
                                     sa_column=sa.Column(UTCDateTime(), nullable=False))


OUTAGE_TABLES = ("server_tick", "server_outage")
