"""mobile: client ids on patrol logs and exemption requests (idempotent uploads)

Revision ID: mob02
Revises: scores01
Create Date: 2026-11-24 06:45:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'mob02'
down_revision: str | Sequence[str] | None = 'scores01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column('patrol_log', sa.Column('client_id', sa.String(length=64), nullable=True))
    op.create_index('uq_patrol_log_worker_id_client_id', 'patrol_log',
                    ['worker_id', 'client_id'], unique=True)
    op.add_column('exemption', sa.Column('client_id', sa.String(length=64), nullable=True))
    op.create_index('uq_exemption_worker_id_client_id', 'exemption',
                    ['worker_id', 'client_id'], unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('exemption') as batch:
        batch.drop_index('uq_exemption_worker_id_client_id')
        batch.drop_column('client_id')
    with op.batch_alter_table('patrol_log') as batch:
        batch.drop_index('uq_patrol_log_worker_id_client_id')
        batch.drop_column('client_id')
