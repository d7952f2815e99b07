"""Tables of jobs: scheduled jobs, their runs and locks, and the live check's alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    SQLITE_ROWID,
    utc_now,
)
from checkins.db.types import UTCDateTime

ALERT_KINDS = ("phone_off", "offpost", "crosspost")


ALERT_STATUSES = ("open", "closed")


class JobRun(SQLModel, table=True):
    """A run of a scheduled job; ``ok`` is None while it runs."""

    __tablename__ = "job_run"
    __table_args__ = (sa.Index("ix_job_run_name_started_at", "name", "started_at"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    name: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    run_key: str | None = Field(default=None, sa_column=sa.Column(sa.String(64)))
    host: str | None = Field(default=None, sa_column=sa.Column(sa.String(128)))
    started_at: dt.datetime = Field(default_factory=utc_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
    finished_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    ok: bool | None = Field(default=None, sa_column=sa.Column(sa.Boolean))
    error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    summary: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(sa.JSON))


class JobLock(SQLModel, table=True):
    """The lock of a job where advisory locks do not exist (SQLite); expires if abandoned."""

    __tablename__ = "job_lock"

    name: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    holder: str = Field(sa_column=sa.Column(sa.String(128), nullable=False))
    acquired_at: dt.datetime = Field(default_factory=utc_now,
                                     sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


class Alert(SQLModel, table=True):
    """A phone-off or off-post interval in progress today; closed when it ends."""

    __tablename__ = "alert"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('phone_off', 'offpost', 'crosspost')", name="kind"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="status"),
        sa.Index("ix_alert_status_village_id", "status", "village_id"),
        sa.Index("ix_alert_worker_id_work_date", "worker_id", "work_date"),
        sa.PrimaryKeyConstraint("worker_id", "id", name="pk_alert"),  # Citus: by worker
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                             nullable=False))
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    village_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    work_date: dt.date = Field(sa_column=sa.Column(sa.Date, nullable=False))
    kind: str = Field(sa_column=sa.Column(sa.String(16), nullable=False))
    rule: str = Field(sa_column=sa.Column(sa.String(32), nullable=False))
    start_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    end_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    other_grid_id: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    cause: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))
    status: str = Field(default="open", sa_column=sa.Column(sa.String(8), nullable=False))
    opened_at: dt.datetime = Field(default_factory=utc_now,
                                   sa_column=sa.Column(UTCDateTime(), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utc_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
    closed_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


JOBS_TABLES = ("job_run", "job_lock", "alert")
