"""jobs: job runs, job locks, live alerts

Revision ID: jobs01
Revises: office01
Create Date: 2026-11-24 05:13:57.324741

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'jobs01'
down_revision: str | Sequence[str] | None = 'office01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('job_lock',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('acquired_at', UTCDateTime(), nullable=False),
    sa.Column('expires_at', UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_lock'))
    )
    op.create_table('job_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('run_key', sa.String(length=64), nullable=True),
    sa.Column('host', sa.String(length=128), nullable=True),
    sa.Column('started_at', UTCDateTime(), nullable=False),
    sa.Column('finished_at', UTCDateTime(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_run'))
    )
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.create_index('ix_job_run_name_started_at', ['name', 'started_at'], unique=False)

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.String(length=32), nullable=True),
    sa.Column('work_date', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('start_at', UTCDateTime(), nullable=False),
    sa.Column('end_at', UTCDateTime(), nullable=False),
    sa.Column('other_grid_id', sa.String(length=32), nullable=True),
    sa.Column('cause', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('phone_off', 'offpost', 'crosspost')", name=op.f('ck_alert_kind')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_alert_status')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'], name=op.f('fk_alert_worker_id_worker'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('ix_alert_status_village_id', ['status', 'village_id'], unique=False)
        batch_op.create_index('ix_alert_worker_id_work_date', ['worker_id', 'work_date'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_worker_id_work_date')
        batch_op.drop_index('ix_alert_status_village_id')

    op.drop_table('alert')
    with op.batch_alter_table('job_run', schema=None) as batch_op:
        batch_op.drop_index('ix_job_run_name_started_at')

    op.drop_table('job_run')
    op.drop_table('job_lock')
