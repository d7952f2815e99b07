"""live_state: per worker-day state of the incremental live check and the live board

Kept by ingest (latest item and fix, the earliest item stored since the last live check)
and by the live check (what it judged up to when, the intervals in progress). Starts empty:
the first live check of a day judges every worker from the start of the day.

Revision ID: live01
Revises: cases01
Create Date: 2026-12-07 23:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

revision: str = 'live01'
down_revision: str | Sequence[str] | None = 'dayidx01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'live_state',
        sa.Column('worker_id', sa.String(length=32), nullable=False),
        sa.Column('work_date', sa.Date(), nullable=False),
        sa.Column('ingest_seq', sa.Integer(), server_default='0', nullable=False),
        sa.Column('dirty_from', UTCDateTime(), nullable=True),
        sa.Column('last_seen_at', UTCDateTime(), nullable=True),
        sa.Column('last_fix_at', UTCDateTime(), nullable=True),
        sa.Column('last_lon', sa.Float(), nullable=True),
        sa.Column('last_lat', sa.Float(), nullable=True),
        sa.Column('last_grid_id', sa.String(length=32), nullable=True),
        sa.Column('judged_seq', sa.Integer(), server_default='0', nullable=False),
        sa.Column('judged_until', UTCDateTime(), nullable=True),
        sa.Column('settled_at', UTCDateTime(), nullable=True),
        sa.Column('open_intervals', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'],
                                name=op.f('fk_live_state_worker_id_worker'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('worker_id', 'work_date', name='pk_live_state'),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('live_state')
