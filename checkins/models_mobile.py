"""Tables of the mobile API that the core model does not have (migration ``mobile_auth``).

* ``mobile_account``: a worker's app password (argon2) and token version (bumped on password
  reset or forced logout: every access and refresh token of the worker dies at once);
* ``mobile_session``: one login on one device = one refresh-token family;
* ``refresh_token``: the tokens of a family, stored as SHA-256 hashes, each usable once;
* ``device_seq_run``: contiguous runs of per-device sequence numbers received, so a lost
  batch (a gap) can be told from a phone that sent nothing (:func:`checkins.ingest.seq_gaps`);
  each run carries the worker whose token sent it (the Citus distribution column, so the
  runs live beside that worker's fixes; migration ``keys01``).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import checkins.models  # noqa: F401  (the tables this module refers to, and the naming convention)
from checkins.db.types import UTCDateTime
from checkins.models import SQLITE_ROWID


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class MobileAccount(SQLModel, table=True):
    """A worker's credentials for the phone app."""

    __tablename__ = "mobile_account"

    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), primary_key=True))
    password_hash: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    token_version: int = Field(default=1, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default=sa.text("1")))
    password_changed_at: dt.datetime = Field(
        default_factory=_now, sa_column=sa.Column(UTCDateTime(), nullable=False))


class MobileSession(SQLModel, table=True):
    """One login of one worker on one device: a refresh-token family."""

    __tablename__ = "mobile_session"
    __table_args__ = (sa.Index("ix_mobile_session_worker_id", "worker_id"),)

    id: str = Field(sa_column=sa.Column(sa.String(32), primary_key=True))
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    device_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False))
    token_version: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    created_at: dt.datetime = Field(
        default_factory=_now, sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    revoked_reason: str | None = Field(default=None, sa_column=sa.Column(sa.String(32)))


class RefreshToken(SQLModel, table=True):
    """A refresh token (hash only); ``used_at`` set when rotated. Reuse revokes the family."""

    __tablename__ = "refresh_token"

    token_hash: str = Field(sa_column=sa.Column(sa.String(64), primary_key=True))
    session_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("mobile_session.id", ondelete="CASCADE"),
        nullable=False, index=True))
    issued_at: dt.datetime = Field(
        default_factory=_now, sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class DeviceSeqRun(SQLModel, table=True):
    """A contiguous run ``[seq_from, seq_to]`` of sequence numbers received from a device."""

    __tablename__ = "device_seq_run"
    __table_args__ = (
        sa.CheckConstraint("seq_to >= seq_from", name="seq_order"),
        sa.Index("ix_device_seq_run_device_id_seq_from", "device_id", "seq_from"),
        sa.PrimaryKeyConstraint("worker_id", "id", name="pk_device_seq_run"),  # Citus: by worker
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                             nullable=False))
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    device_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("device.id", ondelete="CASCADE"), nullable=False))
    seq_from: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    seq_to: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    received_at: dt.datetime = Field(
        default_factory=_now, sa_column=sa.Column(UTCDateTime(), nullable=False))


MOBILE_TABLES = ("mobile_account", "mobile_session", "refresh_token", "device_seq_run")
