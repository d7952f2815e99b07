"""outage: server liveness ticks and server outages (GEO-PHONEOFF never charges them)

Revision ID: outage01
Revises: mob02
Create Date: 2026-11-24 07:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

revision: str = 'outage01'
down_revision: str | Sequence[str] | None = 'mob02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('server_tick',
    sa.Column('minute_at', UTCDateTime(), nullable=False),
    sa.Column('first_at', UTCDateTime(), nullable=False),
    sa.Column('last_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('minute_at', name=op.f('pk_server_tick'))
    )
    op.create_table('server_outage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('start_at', UTCDateTime(), nullable=False),
    sa.Column('end_at', UTCDateTime(), nullable=False),
    sa.Column('cause', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("cause IN ('detected', 'manual')", name=op.f('ck_server_outage_cause')),
    sa.CheckConstraint('end_at > start_at', name=op.f('ck_server_outage_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_outage')),
    sa.UniqueConstraint('cause', 'start_at', 'end_at',
                        name=op.f('uq_server_outage_cause_start_at_end_at'))
    )
    with op.batch_alter_table('server_outage', schema=None) as batch_op:
        batch_op.create_index('ix_server_outage_start_at_end_at', ['start_at', 'end_at'],
                              unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('server_outage', schema=None) as batch_op:
        batch_op.drop_index('ix_server_outage_start_at_end_at')
    op.drop_table('server_outage')
    op.drop_table('server_tick')
