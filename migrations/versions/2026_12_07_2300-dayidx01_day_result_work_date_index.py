"""dayidx01: index day_result(work_date) (issue 16: office pages at county size)

The township's views of one date or a short range (day numbers of the dashboard, pending
flag counts in the menu) read that range's rows through it instead of every stored day.

Revision ID: dayidx01
Revises: cases01
Create Date: 2026-12-07 23:00:00

"""
from collections.abc import Sequence

from alembic import op

revision: str = 'dayidx01'
down_revision: str | Sequence[str] | None = 'cases01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_day_result_work_date', 'day_result', ['work_date'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_day_result_work_date', table_name='day_result')
