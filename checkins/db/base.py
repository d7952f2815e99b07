"""The model base of every table: naming convention, metadata, column helpers.

Conventions (docs/data-model.md): singular snake_case tables; ``*_at`` are tz-aware
timestamps (:class:`~checkins.db.types.UTCDateTime`), ``*_date`` local dates; geometries
are WGS-84 shapely objects (:class:`~checkins.db.types.GeometryType`); the natural keys of
the interchange formats are the primary keys of their tables and the foreign keys elsewhere;
constraint names follow :data:`NAMING_CONVENTION`. PostgreSQL-only DDL is marked with
``info={"postgresql_only": True}`` or dialect kwargs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from checkins.db.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


SQLModel.metadata.naming_convention = NAMING_CONVENTION


metadata = SQLModel.metadata


DATUMS = ("wgs84", "gcj02", "bd09")


def sql_in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def pk_str(length: int = 32) -> Any:
    return Field(sa_column=sa.Column(sa.String(length), primary_key=True))


def pk_int() -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))


# Tables distributed by worker with Citus when one database no longer holds a province
# (docs/scaling.md "Citus: the decisions, now"). Citus requires the distribution column in
# every primary key, unique constraint and foreign key between distributed tables, so these
# tables carry ``worker_id`` in all of them; tests/checkins/db/test_citus_keys.py keeps it so.
DISTRIBUTED_BY_WORKER = ("position", "signin", "patrol_session", "patrol_log", "exemption",
                         "day_result", "alert", "flag_decision", "device_seq_run", "live_state")


SQLITE_ROWID = {"sqlite_primary_key": ("id",)}
"""Table info of a worker-keyed table: on SQLite ``id`` alone is the key (a rowid alias that
numbers new rows); PostgreSQL gets the declared ``(worker_id, id, ...)`` key."""


def worker_pk(table: str, *more: str) -> PrimaryKeyConstraint:
    """The primary key ``(worker_id, id, *more)`` of a table distributed by worker."""
    return sa.PrimaryKeyConstraint("worker_id", "id", *more, name=f"pk_{table}")


def row_id() -> Any:
    """The numbered ``id`` of a worker-keyed table (part of ``(worker_id, id)``)."""
    return Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                   nullable=False))


def fk_field(target: str, *, nullable: bool = False, length: int | None = 32, index: bool = False,
        ondelete: str | None = None) -> Any:
    typ = sa.String(length) if length else sa.Integer
    col = sa.Column(typ, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)
    return Field(default=None, sa_column=col) if nullable else Field(sa_column=col)


def col_field(typ: Any, *, nullable: bool = True, default: Any = None, server_default: Any = None,
         **kw: Any) -> Any:
    col = sa.Column(typ, nullable=nullable, default=default, server_default=server_default, **kw)
    if nullable or default is not None:
        return Field(default=default, sa_column=col)
    return Field(sa_column=col)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def created_at_field() -> Any:
    return Field(default_factory=utc_now,
                 sa_column=sa.Column(UTCDateTime(), nullable=False, default=utc_now))


@compiles(PrimaryKeyConstraint, "sqlite")
def _sqlite_primary_key(constraint: PrimaryKeyConstraint, compiler: Any, **kw: Any) -> str:
    """On SQLite, a table may declare a narrower key (an INTEGER rowid alias) in its info."""
    table = constraint.table
    cols = table.info.get("sqlite_primary_key") if table is not None else None
    if cols:
        name = f"CONSTRAINT {compiler.preparer.quote(constraint.name)} " if constraint.name else ""
        return f"{name}PRIMARY KEY ({', '.join(cols)})"
    return compiler.visit_primary_key_constraint(constraint, **kw)


def dialect_insert(session_or_conn: Any, table: Any) -> Any:
    """The bound dialect's INSERT for ``table`` (PostgreSQL and SQLite both have
    ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    bind = session_or_conn.get_bind() if hasattr(session_or_conn, "get_bind") else session_or_conn
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
