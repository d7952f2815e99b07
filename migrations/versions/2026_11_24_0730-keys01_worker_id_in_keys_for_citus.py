"""keys: worker_id in every key of the tables to be distributed by worker (Citus)

Citus requires the distribution column in every PRIMARY KEY and UNIQUE constraint of a
distributed table, and in every foreign key between two distributed tables
(docs/scaling.md "Citus: the decisions, now"). The field-day tables will be distributed by
``worker_id``; this revision puts it in their keys now, while the tables are small:

* primary keys ``(id)`` -> ``(worker_id, id)`` on signin, patrol_session, patrol_log,
  exemption, day_result, alert, flag_decision, device_seq_run; ``position``
  ``(id, recorded_at)`` -> ``(worker_id, id, recorded_at)`` (the day-partition key stays in);
* unique keys: position ``(device_id, client_id, recorded_at)`` -> ``(worker_id, device_id,
  client_id, recorded_at)``; signin and patrol_session ``(device_id, client_id)`` ->
  ``(worker_id, device_id, client_id)``;
* patrol_log -> patrol_session: ``(patrol_session_id)`` -> ``(worker_id, patrol_session_id)``;
* ``device_seq_run`` gets ``worker_id`` (backfilled from the device's last stored fix, else
  the device's worker).

On SQLite the primary keys stay ``(id)`` (the rowid alias that numbers rows; the models
declare that with ``info["sqlite_primary_key"]``); the unique keys and the foreign key change
there too (batch mode). Downgrade restores the old keys (it fails if rows were stored since
that only the new, wider keys tell apart: a re-bound device resending a client id).

Revision ID: keys01
Revises: outage01
Create Date: 2026-11-24 07:30:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'keys01'
down_revision: str | Sequence[str] | None = 'outage01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# tables whose primary key (id) becomes (worker_id, id); position is handled on its own
ID_TABLES = ("signin", "patrol_session", "patrol_log", "exemption", "day_result", "alert",
             "flag_decision", "device_seq_run")
# (table, old unique columns, new unique columns)
UNIQUES = (
    ("position", ("device_id", "client_id", "recorded_at"),
     ("worker_id", "device_id", "client_id", "recorded_at")),
    ("signin", ("device_id", "client_id"), ("worker_id", "device_id", "client_id")),
    ("patrol_session", ("device_id", "client_id"), ("worker_id", "device_id", "client_id")),
)
OLD_LOG_FK = "fk_patrol_log_patrol_session_id_patrol_session"
NEW_LOG_FK = "fk_patrol_log_worker_id_patrol_session"
SEQ_FK = "fk_device_seq_run_worker_id_worker"


def _uq(table: str, cols: Sequence[str]) -> str:
    return f"uq_{table}_{'_'.join(cols)}"


def _is_pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _backfill_seq_worker() -> None:
    op.execute(
        "UPDATE device_seq_run SET worker_id = COALESCE("
        "(SELECT p.worker_id FROM position p WHERE p.device_id = device_seq_run.device_id "
        " ORDER BY p.received_at DESC, p.recorded_at DESC LIMIT 1), "
        "(SELECT d.worker_id FROM device d WHERE d.id = device_seq_run.device_id))")


# --------------------------------------------------------------------------- PostgreSQL
def _pg_upgrade() -> None:
    op.drop_constraint(OLD_LOG_FK, "patrol_log", type_="foreignkey")
    op.add_column("device_seq_run", sa.Column("worker_id", sa.String(32), nullable=True))
    _backfill_seq_worker()
    op.alter_column("device_seq_run", "worker_id", nullable=False)
    op.create_foreign_key(SEQ_FK, "device_seq_run", "worker", ["worker_id"], ["worker_id"],
                          ondelete="CASCADE")
    for table in ID_TABLES:
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["worker_id", "id"])
    # on the partitioned parent: PostgreSQL builds the key on every day partition
    op.drop_constraint("pk_position", "position", type_="primary")
    op.create_primary_key("pk_position", "position", ["worker_id", "id", "recorded_at"])
    for table, old, new in UNIQUES:
        op.drop_constraint(_uq(table, old), table, type_="unique")
        op.create_unique_constraint(_uq(table, new), table, list(new))
    op.create_foreign_key(NEW_LOG_FK, "patrol_log", "patrol_session",
                          ["worker_id", "patrol_session_id"], ["worker_id", "id"])


def _pg_downgrade() -> None:
    op.drop_constraint(NEW_LOG_FK, "patrol_log", type_="foreignkey")
    for table, old, new in UNIQUES:
        op.drop_constraint(_uq(table, new), table, type_="unique")
        op.create_unique_constraint(_uq(table, old), table, list(old))
    op.drop_constraint("pk_position", "position", type_="primary")
    op.create_primary_key("pk_position", "position", ["id", "recorded_at"])
    for table in ID_TABLES:
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["id"])
    op.drop_constraint(SEQ_FK, "device_seq_run", type_="foreignkey")
    op.drop_column("device_seq_run", "worker_id")
    op.create_foreign_key(OLD_LOG_FK, "patrol_log", "patrol_session",
                          ["patrol_session_id"], ["id"])


# --------------------------------------------------------------------------- SQLite
# A batch rebuild of patrol_session drops the old table, which SQLite (foreign keys on, in
# a transaction where they cannot be turned off) refuses while patrol_log rows point at it:
# the log rows are parked in a plain copy meanwhile and put back afterwards, unchanged.
def _park(table: str) -> None:
    op.execute(f"CREATE TABLE _keys01_{table} AS SELECT * FROM {table}")
    op.execute(f"DELETE FROM {table}")


def _unpark(table: str) -> None:
    cols = [c["name"] for c in sa.inspect(op.get_bind()).get_columns(f"_keys01_{table}")]
    names = ", ".join(cols)
    op.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _keys01_{table}")
    op.execute(f"DROP TABLE _keys01_{table}")


def _sqlite_upgrade() -> None:
    _park("patrol_log")
    for table, old, new in UNIQUES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_uq(table, old), type_="unique")
            batch.create_unique_constraint(_uq(table, new), list(new))
            if table == "patrol_session":
                batch.create_index("uq_patrol_session_worker_id_id", ["worker_id", "id"],
                                   unique=True)
    with op.batch_alter_table("patrol_log") as batch:
        batch.drop_constraint(OLD_LOG_FK, type_="foreignkey")
        batch.create_foreign_key(NEW_LOG_FK, "patrol_session",
                                 ["worker_id", "patrol_session_id"], ["worker_id", "id"])
    _unpark("patrol_log")
    with op.batch_alter_table("device_seq_run") as batch:
        batch.add_column(sa.Column("worker_id", sa.String(32), nullable=True))
    _backfill_seq_worker()
    with op.batch_alter_table("device_seq_run") as batch:
        batch.alter_column("worker_id", existing_type=sa.String(32), nullable=False)
        batch.create_foreign_key(SEQ_FK, "worker", ["worker_id"], ["worker_id"],
                                 ondelete="CASCADE")


def _sqlite_downgrade() -> None:
    with op.batch_alter_table("device_seq_run") as batch:
        batch.drop_constraint(SEQ_FK, type_="foreignkey")
        batch.drop_column("worker_id")
    _park("patrol_log")
    with op.batch_alter_table("patrol_log") as batch:
        batch.drop_constraint(NEW_LOG_FK, type_="foreignkey")
        batch.create_foreign_key(OLD_LOG_FK, "patrol_session", ["patrol_session_id"], ["id"])
    for table, old, new in UNIQUES:
        with op.batch_alter_table(table) as batch:
            if table == "patrol_session":
                batch.drop_index("uq_patrol_session_worker_id_id")
            batch.drop_constraint(_uq(table, new), type_="unique")
            batch.create_unique_constraint(_uq(table, old), list(old))
    _unpark("patrol_log")


def upgrade() -> None:
    """Upgrade schema."""
    if _is_pg():
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    """Downgrade schema."""
    if _is_pg():
        _pg_downgrade()
    else:
        _sqlite_downgrade()
