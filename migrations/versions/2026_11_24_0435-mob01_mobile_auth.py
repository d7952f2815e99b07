"""mobile API: app passwords, login sessions (refresh-token families), device sequence runs

Revision ID: mob01
Revises: 0001
Create Date: 2026-11-24 04:35:04.132763

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'mob01'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('mobile_account',
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('token_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('password_changed_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'], name=op.f('fk_mobile_account_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('worker_id', name=op.f('pk_mobile_account'))
    )
    op.create_table('device_seq_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('seq_from', sa.BigInteger(), nullable=False),
    sa.Column('seq_to', sa.BigInteger(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('seq_to >= seq_from', name=op.f('ck_device_seq_run_seq_order')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_device_seq_run_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_seq_run'))
    )
    with op.batch_alter_table('device_seq_run', schema=None) as batch_op:
        batch_op.create_index('ix_device_seq_run_device_id_seq_from', ['device_id', 'seq_from'], unique=False)

    op.create_table('mobile_session',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('revoked_at', UTCDateTime(), nullable=True),
    sa.Column('revoked_reason', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_mobile_session_device_id_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'], name=op.f('fk_mobile_session_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mobile_session'))
    )
    with op.batch_alter_table('mobile_session', schema=None) as batch_op:
        batch_op.create_index('ix_mobile_session_worker_id', ['worker_id'], unique=False)

    op.create_table('refresh_token',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=32), nullable=False),
    sa.Column('issued_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.Column('used_at', UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['mobile_session.id'], name=op.f('fk_refresh_token_session_id_mobile_session'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_refresh_token'))
    )
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refresh_token_session_id'), ['session_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('refresh_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refresh_token_session_id'))

    op.drop_table('refresh_token')
    with op.batch_alter_table('mobile_session', schema=None) as batch_op:
        batch_op.drop_index('ix_mobile_session_worker_id')

    op.drop_table('mobile_session')
    with op.batch_alter_table('device_seq_run', schema=None) as batch_op:
        batch_op.drop_index('ix_device_seq_run_device_id_seq_from')

    op.drop_table('device_seq_run')
    op.drop_table('mobile_account')
