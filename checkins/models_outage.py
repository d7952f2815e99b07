"""Tables of the server's own outages (migration ``outage01``), GEO-PHONEOFF.

* ``server_tick``: the liveness record. Every API process writes, every few seconds, the
  minute it is in (one row per UTC minute, shared by all processes: an upsert keeps the
  first and the last beat seen in that minute);
* ``server_outage``: an interval when the server itself was not receiving. ``detected``
  from a gap in the ticks (start = last beat before the gap, end = first beat after it), or
  ``manual`` (recorded by the township office or an admin, ``gridpatrol outage add``).
  Never charged as phone-off (:func:`checkins.flows.server_outages`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import checkins.models  # noqa: F401  (the naming convention)
from checkins.db.types import UTCDateTime

OUTAGE_CAUSES = ("detected", "manual")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    recorded_at: dt.datetime = Field(default_factory=_now,
                                     sa_column=sa.Column(UTCDateTime(), nullable=False))


OUTAGE_TABLES = ("server_tick", "server_outage")
