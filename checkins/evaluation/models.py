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
    worker_pk,
)


class DayResult(SQLModel, table=True):
    """The evaluated verdict of one worker on one local date (JSON of ``evaluate``'s day)."""

    __tablename__ = "day_result"
    __table_args__ = (worker_pk("day_result"), sa.UniqueConstraint("worker_id", "work_date"),
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
