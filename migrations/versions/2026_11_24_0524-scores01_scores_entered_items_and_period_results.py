"""scores: entered items and period results

Revision ID: scores01
Revises: jobs01
Create Date: 2026-11-24 05:24:48.551914

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import UTCDateTime

# revision identifiers, used by Alembic.
revision: str = 'scores01'
down_revision: str | Sequence[str] | None = 'jobs01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('period_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('profile_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('computed_at', UTCDateTime(), nullable=False),
    sa.Column('computed_by', sa.String(length=64), nullable=False),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('closed_by', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_period_result_status')),
    sa.ForeignKeyConstraint(['township_id'], ['township.township_id'], name=op.f('fk_period_result_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_period_result')),
    sa.UniqueConstraint('township_id', 'period', name=op.f('uq_period_result_township_id_period'))
    )
    op.create_table('entered_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=64), nullable=False),
    sa.Column('township_id', sa.String(length=32), nullable=False),
    sa.Column('village_id', sa.String(length=32), nullable=True),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=False),
    sa.Column('item', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=False),
    sa.Column('work_date', sa.Date(), nullable=True),
    sa.Column('period', sa.String(length=8), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('entered_by', sa.String(length=64), nullable=False),
    sa.Column('entered_at', UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('withdrawn_at', UTCDateTime(), nullable=True),
    sa.Column('withdrawn_by', sa.String(length=64), nullable=True),
    sa.Column('withdraw_reason', sa.Text(), nullable=True),
    sa.CheckConstraint('work_date IS NOT NULL OR period IS NOT NULL', name=op.f('ck_entered_item_when')),
    sa.ForeignKeyConstraint(['township_id'], ['township.township_id'], name=op.f('fk_entered_item_township_id_township')),
    sa.ForeignKeyConstraint(['village_id'], ['village.village_id'], name=op.f('fk_entered_item_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entered_item')),
    sa.UniqueConstraint('item_id', name=op.f('uq_entered_item_item_id'))
    )
    with op.batch_alter_table('entered_item', schema=None) as batch_op:
        batch_op.create_index('ix_entered_item_subject_id', ['subject_id'], unique=False)
        batch_op.create_index('ix_entered_item_township_id_rule', ['township_id', 'rule'], unique=False)
        batch_op.create_index('ix_entered_item_village_id', ['village_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('entered_item', schema=None) as batch_op:
        batch_op.drop_index('ix_entered_item_village_id')
        batch_op.drop_index('ix_entered_item_township_id_rule')
        batch_op.drop_index('ix_entered_item_subject_id')

    op.drop_table('entered_item')
    op.drop_table('period_result')
