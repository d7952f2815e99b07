"""Tables of evaluation: judging worker-days: rows -> geo engine -> scoring -> stored day results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    SQLITE_ROWID,
    col_field,
    created_at_field,
    fk_field,
    row_id,
    utc_now,
    worker_pk,
)
from checkins.db.types import UTCDateTime


class DayResult(SQLModel, table=True):
    """The evaluated verdict of one worker on one local date (JSON of ``evaluate``'s day)."""

    __tablename__ = "day_result"
    __table_args__ = (worker_pk("day_result"), sa.UniqueConstraint("worker_id", "work_date"),
                      # a date's (or a short range's) rows of every worker: the township's day
                      # table, dashboard and pending counts read those, not the whole history
                      sa.Index("ix_day_result_work_date", "work_date"),
                      {"info": dict(SQLITE_ROWID)})

    id: int | None = row_id()
    worker_id: str = fk_field("worker.worker_id")
    work_date: dt.date = col_field(sa.Date, nullable=False)
    result: dict[str, Any] = Field(default_factory=dict,
                                   sa_column=sa.Column(sa.JSON, nullable=False))
    provisional: bool = col_field(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    evaluated_at: dt.datetime = created_at_field()
    needs_reevaluation: bool = col_field(sa.Boolean, nullable=False, default=False,
                                    server_default=sa.false())


# An office's decisions on a day's flags: written by checkins.office.decisions, read by the
# evaluation flow when it judges the day (so the table lives with the day results).
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


class PeriodSum(SQLModel, table=True):
    """A subject's day sums for one period (``scoring.period.DaySums`` JSON), kept current.

    Updated in the transaction that saves a day result (:mod:`checkins.evaluation.sums`), for
    the periods of a township that were built (``period_sum_state``). Entered items are not
    summed here: they are few and read live (see docs/township.md).
    """

    __tablename__ = "period_sum"
    __table_args__ = (sa.UniqueConstraint("township_id", "period", "subject_id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    township_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("township.township_id"), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    subject_id: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    sums: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column(sa.JSON, nullable=False))
    provisional: int = Field(default=0, sa_column=sa.Column(sa.Integer, nullable=False))


class PeriodSumState(SQLModel, table=True):
    """Which periods of a township have their sums built, under which profile, and a version.

    ``version`` is a new random stamp at every change of the period's sums (readers cache the
    ranking by it; random, so a rolled-back change never shares the stamp of a later one).
    """

    __tablename__ = "period_sum_state"
    __table_args__ = (sa.UniqueConstraint("township_id", "period"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    township_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("township.township_id"), nullable=False))
    period: str = Field(sa_column=sa.Column(sa.String(8), nullable=False))
    profile: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    profile_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    version: int = Field(default=1, sa_column=sa.Column(sa.Integer, nullable=False))
    built_at: dt.datetime = created_at_field()


# the period sums follow every ORM write of a day result (a before_flush hook there), and the
# stored days follow their cases (flush hooks there)
import checkins.evaluation.casedays  # noqa: E402,F401
import checkins.evaluation.sums  # noqa: E402,F401
