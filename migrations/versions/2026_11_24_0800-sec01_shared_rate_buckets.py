"""security: rate_bucket, the login/upload throttles shared by every API process

Revision ID: sec01
Revises: keys01
Create Date: 2026-11-24 08:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'sec01'
down_revision: str | Sequence[str] | None = 'keys01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        'rate_bucket',
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('tokens', sa.Float(), nullable=False),
        sa.Column('at', sa.Float(), nullable=False),
        sa.Column('full_at', sa.Float(), nullable=False),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_bucket')),
    )
    op.create_index('ix_rate_bucket_full_at', 'rate_bucket', ['full_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_rate_bucket_full_at', table_name='rate_bucket')
    op.drop_table('rate_bucket')
