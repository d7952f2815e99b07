"""Tables of audit: the append-only, hash-chained audit log: who changed what, when, why."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from checkins.db.base import (
    col_field,
    created_at_field,
    pk_int,
)


class AuditLog(SQLModel, table=True):
    """Append-only record of every change an office or an import made, hash-chained."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: int | None = pk_int()
    at: dt.datetime = created_at_field()
    actor: str = col_field(sa.String(64), nullable=False)
    action: str = col_field(sa.String(64), nullable=False)
    entity: str = col_field(sa.String(64), nullable=False)
    entity_id: str | None = col_field(sa.String(64))
    reason: str | None = col_field(sa.Text)
    before: dict[str, Any] | None = col_field(sa.JSON)
    after: dict[str, Any] | None = col_field(sa.JSON)
    prev_hash: str | None = col_field(sa.String(64))
    hash: str = col_field(sa.String(64), nullable=False, unique=True)
