"""Tables of office: what the village and township offices see and decide: queries, decisions, exports."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    SQLITE_ROWID,
    utc_now,
)
from checkins.db.types import UTCDateTime

FLAG_KINDS = ("suspect", "offpost")


FLAG_DECISIONS = ("confirmed", "dismissed")


class FlagDecision(SQLModel, table=True):
    """An office's confirm/dismiss of one flag of one worker-day, with its reason."""

    __tablename__ = "flag_decision"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('suspect', 'offpost')", name="kind"),
        sa.CheckConstraint("decision IN ('confirmed', 'dismissed')", name="decision"),
        sa.Index("ix_flag_decision_worker_id_work_date", "worker_id", "work_date"),
        sa.PrimaryKeyConstraint("worker_id", "id", name="pk_flag_decision"),  # Citus: by worker
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                             nullable=False))
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id"), nullable=False))
    work_date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    flag_key: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))  # ISO time
    decision: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    reason: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    decided_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    decided_at: dt.datetime = Field(default_factory=utc_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
