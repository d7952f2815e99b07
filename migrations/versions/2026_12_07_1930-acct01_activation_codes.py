"""accounts: activation_code, one-time codes that open a worker's app account

Revision ID: acct01
Revises: sec01
Create Date: 2026-12-07 19:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

revision: str = 'acct01'
down_revision: str | Sequence[str] | None = 'sec01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'activation_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.String(length=32), nullable=False),
        sa.Column('code_hash', sa.String(length=256), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.Column('failed', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'],
                                name=op.f('fk_activation_code_worker_id_worker'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_code')),
    )
    op.create_index('ix_activation_code_worker_id', 'activation_code', ['worker_id'],
                    unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_activation_code_worker_id', table_name='activation_code')
    op.drop_table('activation_code')
