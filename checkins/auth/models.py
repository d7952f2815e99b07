"""Tables of auth: who may do what: phone devices and tokens, office users and sessions, throttles."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from checkins.db.base import (
    col_field,
    created_at_field,
    fk_field,
    pk_int,
    sql_in,
    utc_now,
)
from checkins.db.types import UTCDateTime

DEVICE_STATUSES = ("pending", "approved", "revoked")


OFFICE_ROLES = ("village_office", "township_office", "admin")


class Device(SQLModel, table=True):
    """A registered phone bound to a worker; the office approves or revokes it."""

    __tablename__ = "device"
    __table_args__ = (sa.CheckConstraint(sql_in("status", DEVICE_STATUSES), name="status"),)

    id: int | None = pk_int()
    device_uid: str = col_field(sa.String(64), nullable=False, unique=True)
    worker_id: str | None = fk_field("worker.worker_id", nullable=True, index=True)
    platform: str | None = col_field(sa.String(16))
    model: str | None = col_field(sa.String(64))
    app_version: str | None = col_field(sa.String(32))
    status: str = col_field(sa.String(16), nullable=False, default="pending")
    token_hash: str | None = col_field(sa.String(128))
    registered_at: dt.datetime = created_at_field()
    decided_at: dt.datetime | None = col_field(UTCDateTime())
    decided_by: str | None = col_field(sa.String(64))
    last_seen_at: dt.datetime | None = col_field(UTCDateTime())


class OfficeUser(SQLModel, table=True):
    """A person of a village or township office; ``village_id`` scopes a village office."""

    __tablename__ = "office_user"
    __table_args__ = (sa.CheckConstraint(sql_in("role", OFFICE_ROLES), name="role"),)

    id: int | None = pk_int()
    username: str = col_field(sa.String(64), nullable=False, unique=True)
    display_name: str | None = col_field(sa.String(100))
    password_hash: str = col_field(sa.String(256), nullable=False)
    role: str = col_field(sa.String(16), nullable=False)
    village_id: str | None = fk_field("village.village_id", nullable=True)
    active: bool = col_field(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: dt.datetime = created_at_field()


class MobileAccount(SQLModel, table=True):
    """A worker's credentials for the phone app."""

    __tablename__ = "mobile_account"

    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), primary_key=True))
    password_hash: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    token_version: int = Field(default=1, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default=sa.text("1")))
    password_changed_at: dt.datetime = Field(
        default_factory=utc_now, sa_column=sa.Column(UTCDateTime(), nullable=False))


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
        default_factory=utc_now, sa_column=sa.Column(UTCDateTime(), nullable=False))
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
        default_factory=utc_now, sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))


class ActivationCode(SQLModel, table=True):
    """A one-time activation code of a worker's app account (argon2 hash only).

    Issued by the office (printed per village), used once at ``POST /auth/activate`` where
    the worker sets their own password; refused after ``expires_at``, after use, when a
    newer code replaced it (``revoked_at``) or after too many wrong tries (``failed``).
    """

    __tablename__ = "activation_code"
    __table_args__ = (sa.Index("ix_activation_code_worker_id", "worker_id"),)

    id: int | None = pk_int()
    worker_id: str = Field(sa_column=sa.Column(
        sa.String(32), sa.ForeignKey("worker.worker_id", ondelete="CASCADE"), nullable=False))
    code_hash: str = Field(sa_column=sa.Column(sa.String(256), nullable=False))
    created_at: dt.datetime = created_at_field()
    created_by: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    revoked_at: dt.datetime | None = Field(default=None, sa_column=sa.Column(UTCDateTime()))
    failed: int = Field(default=0, sa_column=sa.Column(
        sa.Integer, nullable=False, server_default=sa.text("0")))


MOBILE_TABLES = ("mobile_account", "mobile_session", "refresh_token", "device_seq_run",
                 "activation_code")


class OfficeSession(SQLModel, table=True):
    """One login of one office user: the SHA-256 of its token, expiry and revocation."""

    __tablename__ = "office_session"
    __table_args__ = (sa.Index("ix_office_session_user_id", "user_id"),)

    id: int | None = Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))
    token_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    user_id: int = Field(sa_column=sa.Column(
        sa.Integer, sa.ForeignKey("office_user.id", ondelete="CASCADE"), nullable=False))
    created_at: dt.datetime = Field(default_factory=utc_now,
                                    sa_column=sa.Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    revoked_at: dt.datetime | None = Field(default=None,
                                           sa_column=sa.Column(UTCDateTime(), nullable=True))


class RateBucket(SQLModel, table=True):
    """A token bucket: ``tokens`` left at ``at`` (Unix seconds); full again at ``full_at``."""

    __tablename__ = "rate_bucket"
    __table_args__ = (sa.Index("ix_rate_bucket_full_at", "full_at"),)

    key: str = Field(sa_column=sa.Column(sa.String(160), primary_key=True))
    tokens: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    at: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    full_at: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    allowed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
