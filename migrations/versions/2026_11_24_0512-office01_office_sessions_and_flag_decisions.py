"""office: login sessions (token hashes) and flag decisions (confirm/dismiss with a reason)

Revision ID: office01
Revises: mob01
Create Date: 2026-11-24 05:12:27.332533

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'office01'
down_revision: str | Sequence[str] | None = 'mob01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('flag_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('work_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('flag_key', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=False),
    sa.Column('decided_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint("decision IN ('confirmed', 'dismissed')", name=op.f('ck_flag_decision_decision')),
    sa.CheckConstraint("kind IN ('suspect', 'offpost')", name=op.f('ck_flag_decision_kind')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'], name=op.f('fk_flag_decision_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_decision'))
    )
    with op.batch_alter_table('flag_decision', schema=None) as batch_op:
        batch_op.create_index('ix_flag_decision_worker_id_work_date', ['worker_id', 'work_date'], unique=False)

    op.create_table('office_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['office_user.id'], name=op.f('fk_office_session_user_id_office_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_office_session_token_hash'))
    )
    with op.batch_alter_table('office_session', schema=None) as batch_op:
        batch_op.create_index('ix_office_session_user_id', ['user_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('office_session', schema=None) as batch_op:
        batch_op.drop_index('ix_office_session_user_id')

    op.drop_table('office_session')
    with op.batch_alter_table('flag_decision', schema=None) as batch_op:
        batch_op.drop_index('ix_flag_decision_worker_id_work_date')

    op.drop_table('flag_decision')
