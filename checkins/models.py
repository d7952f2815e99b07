"""The data model of the field day: one definition for PostgreSQL/PostGIS and SQLite.

Conventions (docs/data-model.md): singular snake_case tables; ``*_at`` are tz-aware
timestamps (:class:`~checkins.db.types.UTCDateTime`), ``*_date`` local dates; geometries
are WGS-84 shapely objects (:class:`~checkins.db.types.GeometryType`); the natural keys of
the interchange formats (``township_id``, ``village_id``, ``grid_id``, ``worker_id``) are
the primary keys of their tables and the foreign keys elsewhere; constraint names follow
:data:`NAMING_CONVENTION`. PostgreSQL-only DDL (GiST indexes, the day partitions of
``position``) is marked with ``info={"postgresql_only": True}`` or dialect kwargs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from checkins.db.types import GeometryType, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata

ROLES = ("head", "fulltime", "parttime")
DATUMS = ("wgs84", "gcj02", "bd09")
DEVICE_STATUSES = ("pending", "approved", "revoked")
POSITION_KINDS = ("fix", "heartbeat")
EXEMPTION_KINDS = ("sick_leave", "personal_leave", "field_duty", "special")
EXEMPTION_STATUSES = ("requested", "approved", "denied")
OFFICE_ROLES = ("village_office", "township_office", "admin")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _pk_str(length: int = 32) -> Any:
    return Field(sa_column=sa.Column(sa.String(length), primary_key=True))


def _pk_int() -> Any:
    return Field(default=None, sa_column=sa.Column(sa.Integer, primary_key=True))


# Tables distributed by worker with Citus when one database no longer holds a province
# (docs/scaling.md "Citus: the decisions, now"). Citus requires the distribution column in
# every primary key, unique constraint and foreign key between distributed tables, so these
# tables carry ``worker_id`` in all of them; tests/checkins/test_citus_keys.py keeps it so.
DISTRIBUTED_BY_WORKER = ("position", "signin", "patrol_session", "patrol_log", "exemption",
                         "day_result", "alert", "flag_decision", "device_seq_run")
SQLITE_ROWID = {"sqlite_primary_key": ("id",)}
"""Table info of a worker-keyed table: on SQLite ``id`` alone is the key (a rowid alias that
numbers new rows); PostgreSQL gets the declared ``(worker_id, id, ...)`` key."""


def _worker_pk(table: str, *more: str) -> PrimaryKeyConstraint:
    """The primary key ``(worker_id, id, *more)`` of a table distributed by worker."""
    return sa.PrimaryKeyConstraint("worker_id", "id", *more, name=f"pk_{table}")


def _row_id() -> Any:
    """The numbered ``id`` of a worker-keyed table (part of ``(worker_id, id)``)."""
    return Field(default=None, sa_column=sa.Column(sa.Integer, autoincrement=True,
                                                   nullable=False))


def _fk(target: str, *, nullable: bool = False, length: int | None = 32, index: bool = False,
        ondelete: str | None = None) -> Any:
    typ = sa.String(length) if length else sa.Integer
    col = sa.Column(typ, sa.ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)
    return Field(default=None, sa_column=col) if nullable else Field(sa_column=col)


def _col(typ: Any, *, nullable: bool = True, default: Any = None, server_default: Any = None,
         **kw: Any) -> Any:
    col = sa.Column(typ, nullable=nullable, default=default, server_default=server_default, **kw)
    if nullable or default is not None:
        return Field(default=default, sa_column=col)
    return Field(sa_column=col)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _created_at() -> Any:
    return Field(default_factory=_now,
                 sa_column=sa.Column(UTCDateTime(), nullable=False, default=_now))


# --------------------------------------------------------------------------- places


class Township(SQLModel, table=True):
    """A township (镇/街道): the unit of one deployment, with its timezone and rule profile."""

    __tablename__ = "township"

    township_id: str = _pk_str()
    name: str = _col(sa.String(100), nullable=False)
    timezone: str = _col(sa.String(64), nullable=False, default="Asia/Shanghai")
    profile: str = _col(sa.String(64), nullable=False, default="yangkou-2022")
    created_at: dt.datetime = _created_at()


class Village(SQLModel, table=True):
    """A village (村/社区) with its office (村部) point, the sign-in place (WGS-84)."""

    __tablename__ = "village"
    __table_args__ = (sa.CheckConstraint("radius_m IS NULL OR radius_m > 0", name="radius_m"),)

    village_id: str = _pk_str()
    township_id: str = _fk("township.township_id", index=True)
    name: str = _col(sa.String(100), nullable=False)
    office: Any = _col(GeometryType("POINT"))
    radius_m: float | None = _col(sa.Float)  # None: the profile's default sign-in radius
    created_at: dt.datetime = _created_at()
    updated_at: dt.datetime | None = _col(UTCDateTime())


class Grid(SQLModel, table=True):
    """A grid (网格): a Polygon or MultiPolygon in WGS-84, belonging to one village."""

    __tablename__ = "grid"
    __table_args__ = (
        sa.Index("ix_grid_geom", "geom", postgresql_using="gist",
                 info={"postgresql_only": True}).ddl_if(dialect="postgresql"),
    )

    grid_id: str = _pk_str()
    village_id: str = _fk("village.village_id", index=True)
    name: str | None = _col(sa.String(100))
    geom: Any = _col(GeometryType("GEOMETRY"), nullable=False)
    created_at: dt.datetime = _created_at()
    updated_at: dt.datetime | None = _col(UTCDateTime())


# --------------------------------------------------------------------------- people


class Worker(SQLModel, table=True):
    """A grid worker (网格员): grid head, full-time or part-time."""

    __tablename__ = "worker"
    __table_args__ = (sa.CheckConstraint(_in("role", ROLES), name="role"),)

    worker_id: str = _pk_str()
    name: str = _col(sa.String(100), nullable=False)
    phone: str | None = _col(sa.String(32))
    role: str = _col(sa.String(16), nullable=False)
    village_id: str = _fk("village.village_id", index=True)
    active: bool = _col(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: dt.datetime = _created_at()
    updated_at: dt.datetime | None = _col(UTCDateTime())


class GridAssignment(SQLModel, table=True):
    """A worker's grid over local dates ``[valid_from, valid_to)``; ``valid_to`` None = open."""

    __tablename__ = "grid_assignment"
    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="valid_range"),
        sa.Index("ix_grid_assignment_worker_id_valid_from", "worker_id", "valid_from"),
    )

    id: int | None = _pk_int()
    worker_id: str = _fk("worker.worker_id")
    grid_id: str = _fk("grid.grid_id", index=True)
    valid_from: dt.date = _col(sa.Date, nullable=False)
    valid_to: dt.date | None = _col(sa.Date)
    created_at: dt.datetime = _created_at()


class Device(SQLModel, table=True):
    """A registered phone bound to a worker; the office approves or revokes it."""

    __tablename__ = "device"
    __table_args__ = (sa.CheckConstraint(_in("status", DEVICE_STATUSES), name="status"),)

    id: int | None = _pk_int()
    device_uid: str = _col(sa.String(64), nullable=False, unique=True)
    worker_id: str | None = _fk("worker.worker_id", nullable=True, index=True)
    platform: str | None = _col(sa.String(16))
    model: str | None = _col(sa.String(64))
    app_version: str | None = _col(sa.String(32))
    status: str = _col(sa.String(16), nullable=False, default="pending")
    token_hash: str | None = _col(sa.String(128))
    registered_at: dt.datetime = _created_at()
    decided_at: dt.datetime | None = _col(UTCDateTime())
    decided_by: str | None = _col(sa.String(64))
    last_seen_at: dt.datetime | None = _col(UTCDateTime())


# --------------------------------------------------------------------------- the field day


class Position(SQLModel, table=True):
    """A fix or heartbeat from a phone, kept as received plus its WGS-84 normalisation.

    ``recorded_at`` is device time, ``received_at`` server time. ``lon``/``lat`` are as
    received in ``datum`` (GEO-CRS); ``geom`` is the WGS-84 point (None for heartbeats and
    unusable fixes). A fix failing GEO-VALID keeps its ``reject_reason``; a GEO-SPOOF
    candidate has ``suspect`` set. On PostgreSQL the table is partitioned by day on
    ``recorded_at`` (:mod:`checkins.db.partitions`), so the primary and unique keys
    include ``recorded_at``, and they lead with ``worker_id``, the Citus distribution
    column; on SQLite ``id`` alone is the key (a rowid alias). The dedupe key is the
    phone's client id per device (and time, and the token's worker: a resend carries the
    same worker, so it is still one fix).
    """

    __tablename__ = "position"
    __table_args__ = (
        _worker_pk("position", "recorded_at"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id", "recorded_at"),
        sa.CheckConstraint(_in("kind", POSITION_KINDS), name="kind"),
        sa.CheckConstraint(_in("datum", DATUMS), name="datum"),
        sa.Index("ix_position_worker_id_recorded_at", "worker_id", "recorded_at"),
        sa.Index("ix_position_geom", "geom", postgresql_using="gist",
                 info={"postgresql_only": True}).ddl_if(dialect="postgresql"),
        {"postgresql_partition_by": "RANGE (recorded_at)", "info": dict(SQLITE_ROWID)},
    )

    id: int | None = Field(default=None, sa_column=sa.Column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), sa.Identity(),
        nullable=False))
    recorded_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    received_at: dt.datetime = _created_at()
    kind: str = _col(sa.String(16), nullable=False, default="fix")
    worker_id: str = _fk("worker.worker_id")
    device_id: int | None = _fk("device.id", nullable=True, length=None)
    client_id: str | None = _col(sa.String(64))
    seq: int | None = _col(sa.BigInteger)
    lon: float | None = _col(sa.Float)
    lat: float | None = _col(sa.Float)
    datum: str = _col(sa.String(8), nullable=False, default="wgs84")
    geom: Any = _col(GeometryType("POINT"))
    accuracy_m: float | None = _col(sa.Float)
    speed_mps: float | None = _col(sa.Float)
    mock: bool = _col(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    battery_pct: int | None = _col(sa.SmallInteger)
    charging: bool | None = _col(sa.Boolean)
    network: str | None = _col(sa.String(16))
    gps_on: bool | None = _col(sa.Boolean)
    app_state: str | None = _col(sa.String(16))
    grid_id: str | None = _col(sa.String(32))  # tag: the grid containing geom, if any
    reject_reason: str | None = _col(sa.String(32))
    suspect: bool = _col(sa.Boolean, nullable=False, default=False, server_default=sa.false())
    suspect_reason: str | None = _col(sa.String(64))


@compiles(PrimaryKeyConstraint, "sqlite")
def _sqlite_primary_key(constraint: PrimaryKeyConstraint, compiler: Any, **kw: Any) -> str:
    """On SQLite, a table may declare a narrower key (an INTEGER rowid alias) in its info."""
    table = constraint.table
    cols = table.info.get("sqlite_primary_key") if table is not None else None
    if cols:
        name = f"CONSTRAINT {compiler.preparer.quote(constraint.name)} " if constraint.name else ""
        return f"{name}PRIMARY KEY ({', '.join(cols)})"
    return compiler.visit_primary_key_constraint(constraint, **kw)


class Signin(SQLModel, table=True):
    """A sign-in (签到) posted by the phone at a village office (GEO-SIGNIN)."""

    __tablename__ = "signin"
    __table_args__ = (
        _worker_pk("signin"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id"),
        sa.CheckConstraint(_in("datum", DATUMS), name="datum"),
        sa.Index("ix_signin_worker_id_signed_at", "worker_id", "signed_at"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = _row_id()
    worker_id: str = _fk("worker.worker_id")
    device_id: int | None = _fk("device.id", nullable=True, length=None)
    client_id: str | None = _col(sa.String(64))
    signed_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    received_at: dt.datetime = _created_at()
    lon: float = _col(sa.Float, nullable=False)
    lat: float = _col(sa.Float, nullable=False)
    datum: str = _col(sa.String(8), nullable=False, default="wgs84")
    geom: Any = _col(GeometryType("POINT"))
    accuracy_m: float | None = _col(sa.Float)
    village_id: str | None = _fk("village.village_id", nullable=True)


class PatrolSession(SQLModel, table=True):
    """A patrol started and stopped in the app (YK-PATROL-PERFORMED)."""

    __tablename__ = "patrol_session"
    __table_args__ = (
        _worker_pk("patrol_session"),
        sa.UniqueConstraint("worker_id", "device_id", "client_id"),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="time_order"),
        sa.Index("ix_patrol_session_worker_id_started_at", "worker_id", "started_at"),
        # SQLite: the target of patrol_log's (worker_id, patrol_session_id) key must be
        # unique there too (its primary key is the rowid alone); PostgreSQL has the PK
        sa.Index("uq_patrol_session_worker_id_id", "worker_id", "id", unique=True,
                 info={"sqlite_only": True}).ddl_if(dialect="sqlite"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = _row_id()
    worker_id: str = _fk("worker.worker_id")
    device_id: int | None = _fk("device.id", nullable=True, length=None)
    client_id: str | None = _col(sa.String(64))
    grid_id: str | None = _col(sa.String(32))
    started_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    ended_at: dt.datetime | None = _col(UTCDateTime())
    received_at: dt.datetime = _created_at()


class PatrolLog(SQLModel, table=True):
    """A patrol log entry (巡查日志, YK-LOG): text now, photos later."""

    __tablename__ = "patrol_log"
    __table_args__ = (
        _worker_pk("patrol_log"),
        # a log's patrol is the same worker's (the key includes the distribution column)
        sa.ForeignKeyConstraint(["worker_id", "patrol_session_id"],
                                ["patrol_session.worker_id", "patrol_session.id"]),
        sa.Index("ix_patrol_log_worker_id_written_at", "worker_id", "written_at"),
        # the phone's id of the entry: a resent upload is the same entry (idempotent)
        sa.Index("uq_patrol_log_worker_id_client_id", "worker_id", "client_id", unique=True),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = _row_id()
    worker_id: str = _fk("worker.worker_id")
    patrol_session_id: int | None = _col(sa.Integer)
    written_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    received_at: dt.datetime = _created_at()
    text: str = _col(sa.Text, nullable=False, default="")
    photos: list[Any] | None = _col(sa.JSON)
    client_id: str | None = _col(sa.String(64))


class Exemption(SQLModel, table=True):
    """Leave, field duty (外勤, with its place) or a special case; requested then decided."""

    __tablename__ = "exemption"
    __table_args__ = (
        sa.CheckConstraint(_in("kind", EXEMPTION_KINDS), name="kind"),
        sa.CheckConstraint(_in("status", EXEMPTION_STATUSES), name="status"),
        sa.CheckConstraint("end_at > start_at", name="time_order"),
        sa.Index("ix_exemption_worker_id_start_at", "worker_id", "start_at"),
        sa.Index("uq_exemption_worker_id_client_id", "worker_id", "client_id", unique=True),
        _worker_pk("exemption"),
        {"info": dict(SQLITE_ROWID)},
    )

    id: int | None = _row_id()
    worker_id: str = _fk("worker.worker_id")
    kind: str = _col(sa.String(16), nullable=False)
    start_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    end_at: dt.datetime = _col(UTCDateTime(), nullable=False)
    place: Any = _col(GeometryType("POINT"))  # field duty: WGS-84 centre
    place_radius_m: float | None = _col(sa.Float)
    note: str | None = _col(sa.Text)
    status: str = _col(sa.String(16), nullable=False, default="requested")
    requested_at: dt.datetime = _created_at()
    requested_by: str | None = _col(sa.String(64))
    decided_by: str | None = _col(sa.String(64))
    decided_at: dt.datetime | None = _col(UTCDateTime())
    client_id: str | None = _col(sa.String(64))  # the phone's id of the request (idempotent)
    decision_reason: str | None = _col(sa.Text)


# --------------------------------------------------------------------------- offices


class OfficeUser(SQLModel, table=True):
    """A person of a village or township office; ``village_id`` scopes a village office."""

    __tablename__ = "office_user"
    __table_args__ = (sa.CheckConstraint(_in("role", OFFICE_ROLES), name="role"),)

    id: int | None = _pk_int()
    username: str = _col(sa.String(64), nullable=False, unique=True)
    display_name: str | None = _col(sa.String(100))
    password_hash: str = _col(sa.String(256), nullable=False)
    role: str = _col(sa.String(16), nullable=False)
    village_id: str | None = _fk("village.village_id", nullable=True)
    active: bool = _col(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    created_at: dt.datetime = _created_at()


class AuditLog(SQLModel, table=True):
    """Append-only record of every change an office or an import made, hash-chained."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity_entity_id", "entity", "entity_id"),)

    id: int | None = _pk_int()
    at: dt.datetime = _created_at()
    actor: str = _col(sa.String(64), nullable=False)
    action: str = _col(sa.String(64), nullable=False)
    entity: str = _col(sa.String(64), nullable=False)
    entity_id: str | None = _col(sa.String(64))
    reason: str | None = _col(sa.Text)
    before: dict[str, Any] | None = _col(sa.JSON)
    after: dict[str, Any] | None = _col(sa.JSON)
    prev_hash: str | None = _col(sa.String(64))
    hash: str = _col(sa.String(64), nullable=False, unique=True)


class DayResult(SQLModel, table=True):
    """The evaluated verdict of one worker on one local date (JSON of ``evaluate``'s day)."""

    __tablename__ = "day_result"
    __table_args__ = (_worker_pk("day_result"), sa.UniqueConstraint("worker_id", "work_date"),
                      {"info": dict(SQLITE_ROWID)})

    id: int | None = _row_id()
    worker_id: str = _fk("worker.worker_id")
    work_date: dt.date = _col(sa.Date, nullable=False)
    result: dict[str, Any] = Field(default_factory=dict,
                                   sa_column=sa.Column(sa.JSON, nullable=False))
    provisional: bool = _col(sa.Boolean, nullable=False, default=True, server_default=sa.true())
    evaluated_at: dt.datetime = _created_at()
    needs_reevaluation: bool = _col(sa.Boolean, nullable=False, default=False,
                                    server_default=sa.false())
