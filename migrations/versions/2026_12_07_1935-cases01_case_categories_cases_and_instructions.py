"""cases01: case categories, cases (事件) and instructions (issue 18)

Revision ID: cases01
Revises: sums01
Create Date: 2026-12-07 19:35:40.673574

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from checkins.db.types import GeometryType, UTCDateTime

revision: str = 'cases01'
down_revision: str | Sequence[str] | None = 'sums01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('case_category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('township_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('sort', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['township_id'], ['township.township_id'], name=op.f('fk_case_category_township_id_township')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_category')),
    sa.UniqueConstraint('township_id', 'name', name=op.f('uq_case_category_township_id_name'))
    )
    op.create_table('case_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.String(length=32), nullable=True),
    sa.Column('reported_by_office', sa.String(length=64), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=64), nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photos', sa.JSON(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('datum', sa.String(length=8), nullable=False),
    sa.Column('geom', GeometryType('POINT'), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('grid_id', sa.String(length=32), nullable=True),
    sa.Column('village_id', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('complex', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=True),
    sa.Column('reported_at', UTCDateTime(), nullable=False),
    sa.Column('received_at', UTCDateTime(), nullable=False),
    sa.Column('accepted_at', UTCDateTime(), nullable=True),
    sa.Column('closed_at', UTCDateTime(), nullable=True),
    sa.Column('rejected_at', UTCDateTime(), nullable=True),
    sa.Column('updated_at', UTCDateTime(), nullable=True),
    sa.CheckConstraint("datum IN ('wgs84', 'gcj02', 'bd09')", name=op.f('ck_case_record_datum')),
    sa.CheckConstraint("status IN ('reported', 'accepted', 'dispatched', 'arrived', 'resolved', 'closed', 'rejected')", name=op.f('ck_case_record_status')),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_case_record_device_id_device')),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.grid_id'], name=op.f('fk_case_record_grid_id_grid')),
    sa.ForeignKeyConstraint(['reporter_id'], ['worker.worker_id'], name=op.f('fk_case_record_reporter_id_worker')),
    sa.ForeignKeyConstraint(['village_id'], ['village.village_id'], name=op.f('fk_case_record_village_id_village')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_record')),
    sa.UniqueConstraint('reporter_id', 'client_id', name=op.f('uq_case_record_reporter_id_client_id'))
    )
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.create_index('ix_case_record_reported_at', ['reported_at'], unique=False)
        batch_op.create_index('ix_case_record_reporter_id_reported_at', ['reporter_id', 'reported_at'], unique=False)
        batch_op.create_index('ix_case_record_village_id_status', ['village_id', 'status'], unique=False)

    op.create_table('case_instruction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('worker_id', sa.String(length=32), nullable=False),
    sa.Column('lon', sa.Float(), nullable=False),
    sa.Column('lat', sa.Float(), nullable=False),
    sa.Column('datum', sa.String(length=8), nullable=False),
    sa.Column('geom', GeometryType('POINT'), nullable=True),
    sa.Column('place_text', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('deadline_at', UTCDateTime(), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_at', UTCDateTime(), nullable=True),
    sa.Column('arrived_at', UTCDateTime(), nullable=True),
    sa.Column('resolved_at', UTCDateTime(), nullable=True),
    sa.Column('result_text', sa.Text(), nullable=True),
    sa.Column('photos', sa.JSON(), nullable=True),
    sa.CheckConstraint("datum IN ('wgs84', 'gcj02', 'bd09')", name=op.f('ck_case_instruction_datum')),
    sa.CheckConstraint("status IN ('sent', 'acknowledged', 'arrived', 'resolved', 'cancelled')", name=op.f('ck_case_instruction_status')),
    sa.ForeignKeyConstraint(['case_id'], ['case_record.id'], name=op.f('fk_case_instruction_case_id_case_record')),
    sa.ForeignKeyConstraint(['worker_id'], ['worker.worker_id'], name=op.f('fk_case_instruction_worker_id_worker')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_instruction'))
    )
    with op.batch_alter_table('case_instruction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_instruction_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_case_instruction_worker_id_created_at', ['worker_id', 'created_at'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('case_instruction', schema=None) as batch_op:
        batch_op.drop_index('ix_case_instruction_worker_id_created_at')
        batch_op.drop_index(batch_op.f('ix_case_instruction_case_id'))

    op.drop_table('case_instruction')
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_record_village_id_status')
        batch_op.drop_index('ix_case_record_reporter_id_reported_at')
        batch_op.drop_index('ix_case_record_reported_at')

    op.drop_table('case_record')
    op.drop_table('case_category')
