"""Tables of the office part that the core model does not have (migration ``office01``).

* ``office_session``: one login of an office user (browser cookie or bearer token); the
  token itself is never stored, only its SHA-256; logout revokes the row;
* ``flag_decision``: an office's confirm/dismiss of a worker-day flag (a GEO-SPOOF suspect
  fix or a GEO-OFFPOST/GEO-CROSSPOST interval), with its required reason. The latest row of a
  ``(worker_id, work_date, kind, flag_key)`` is in force; the evaluation flow reads them
  (:func:`checkins.decisions.flag_decisions_for`) when it re-evaluates the day.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import checkins.models  # noqa: F401  (the tables referred to, and the naming convention)
from checkins.db.types import UTCDateTime
from checkins.models import SQLITE_ROWID

FLAG_KINDS = ("suspect", "offpost")
FLAG_DECISIONS = ("confirmed", "dismissed")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OfficeSession(SQLModel, table=True):
    """One login of one office user: the SHA-256 of its token, expiry and revocation."""

    __tablename__ = "office_session"
    __table_args__ = (sa.Index("ix_office_session_user_id", "user_id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    user_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("office_user.id", ondelete="CASCADE"), nullable=False))
    created_at: dt.datetime = Field(default_factory=_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: dt.datetime | None = Field(default=None,
                                           sa_column=sa.Column(UTCDateTime(), nullable=True))


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
    decided_at: dt.datetime = Field(default_factory=_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
