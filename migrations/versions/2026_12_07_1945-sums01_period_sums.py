"""scores at county scale: period_sum (a subject's day sums per period) and period_sum_state

The tables start empty: the sums of a period are built from the stored day results the first
time the period is read (or by ``gridpatrol score --verify-period P --rebuild``), then kept
current by every save of a day result.

Revision ID: sums01
Revises: acct01
Create Date: 2026-12-07 19:45:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

revision: str = 'sums01'
down_revision: str | Sequence[str] | None = 'acct01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'period_sum',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('township_id', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('subject_id', sa.String(length=64), nullable=False),
        sa.Column('sums', sa.JSON(), nullable=False),
        sa.Column('provisional', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['township_id'], ['township.township_id'],
                                name=op.f('fk_period_sum_township_id_township')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_period_sum')),
        sa.UniqueConstraint('township_id', 'period', 'subject_id',
                            name=op.f('uq_period_sum_township_id_period_subject_id')),
    )
    op.create_table(
        'period_sum_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('township_id', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('profile', sa.String(length=64), nullable=False),
        sa.Column('profile_version', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('built_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['township_id'], ['township.township_id'],
                                name=op.f('fk_period_sum_state_township_id_township')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_period_sum_state')),
        sa.UniqueConstraint('township_id', 'period', name=op.f('uq_period_sum_state_township_id_period')),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('period_sum_state')
    op.drop_table('period_sum')
