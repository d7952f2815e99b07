"""Tables of scores: township scoring: entered items, period scores, close/reopen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    utc_now,
)
from checkins.db.types import UTCDateTime

PERIOD_STATUSES = ("open", "closed")


class EnteredItem(SQLModel, table=True):
    """One office-entered item with its evidence note (``scoring.items.EnteredItem`` row)."""

    __tablename__ = "entered_item"
    __table_args__ = (
        sa.CheckConstraint("work_date IS NOT NULL OR period IS NOT NULL", name="when"),
        sa.Index("ix_entered_item_township_id_rule", "township_id", "rule"),
        sa.Index("ix_entered_item_subject_id", "subject_id"),
        sa.Index("ix_entered_item_village_id", "village_id"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    item_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    township_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("township.township_id"), nullable=False))
    village_id: str | None = Field(default=None, sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("village.village_id"), nullable=True))
    subject_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    rule: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    item: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    value: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))  # exact decimal
    work_date: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    period: str | None = Field(default=None, sa_column=sa.Column(sa.String(8), nullable=True))
    note: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    entered_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    entered_at: dt.datetime = Field(default_factory=utc_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
    source: str | None = Field(default=None, sa_column=sa.Column(sa.String(200), nullable=True))
    withdrawn_at: dt.datetime | None = Field(default=None,
                                             sa_column=sa.Column(UTCDateTime(), nullable=True))
    withdrawn_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
    withdraw_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class PeriodResult(SQLModel, table=True):
    """The stored (and, once closed, frozen) score of one township and period."""

    __tablename__ = "period_result"
    __table_args__ = (
        sa.UniqueConstraint("township_id", "period"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    township_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("township.township_id"), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    profile: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    profile_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    status: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    revision: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    computed_at: dt.datetime = Field(default_factory=utc_now,
                                     sa_column=sa.Column(UTCDateTime(), nullable=False))
    computed_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    closed_at: dt.datetime | None = Field(default=None,
                                          sa_column=sa.Column(UTCDateTime(), nullable=True))
    closed_by: str | None = Field(default=None, sa_column=sa.Column(sa.String(64), nullable=True))
