"""The shared rate-limit buckets (migration ``sec01``): one row per throttled key.

Every API process reads and writes the same rows (:mod:`checkins.throttle`), so a limit
holds across several processes behind a load balancer. A row whose bucket has refilled
(``full_at`` passed) means the same as no row and is pruned.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import checkins.models  # noqa: F401  (the naming convention)


class RateBucket(SQLModel, table=True):
    """A token bucket: ``tokens`` left at ``at`` (Unix seconds); full again at ``full_at``."""

    __tablename__ = "rate_bucket"
    __table_args__ = (sa.Index("ix_rate_bucket_full_at", "full_at"),)

    key: str = Field(sa_column=sa.Column(sa.String(160), primary_key=True))
    tokens: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    at: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    full_at: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    allowed: bool = Field(sa_column=sa.Column(sa.Boolean, nullable=False))
