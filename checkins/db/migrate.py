"""Run and inspect the Alembic migrations (``migrations/`` at the repository root)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from checkins.db.types import GeometryType

REPO_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_ROOT / "migrations"

# Tables that are not ours: PostGIS's own, and the day partitions of ``position``.
_FOREIGN_TABLES = re.compile(
    r"^(spatial_ref_sys|geometry_columns|geography_columns|raster_columns|raster_overviews"
    r"|layer|topology|position_p\d{8}|position_default|alembic_version)$")


def load_all_models() -> Any:
    """Import every table (``checkins.tables``); return the metadata."""
    import checkins.tables  # noqa: F401  (registers every domain's tables)
    from checkins.db.base import metadata

    return metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at ``migrations/``, bound to ``connection`` if given."""
    cfg = Config(str(REPO_ROOT / "alembic.ini")) if (REPO_ROOT / "alembic.ini").exists() \
        else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Migrate the database of ``engine`` up to ``revision``; return the new revision."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    return current_revision(engine)


def downgrade(engine: Engine, revision: str) -> str | None:
    """Migrate the database of ``engine`` down to ``revision``."""
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)
    return current_revision(engine)


def current_revision(engine_or_conn: Engine | Connection) -> str | None:
    """The schema revision stored in the database (None for an empty database)."""
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    return MigrationContext.configure(engine_or_conn).get_current_revision()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision in ``migrations/versions`` (read once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Leave PostGIS's tables, the position partitions and alembic_version out of compares."""
    if type_ == "table":
        return not (name and _FOREIGN_TABLES.match(name))
    return True


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Skip objects marked ``postgresql_only`` / ``sqlite_only`` on the other backend."""
    if type_ == "index" and not reflected and obj.info.get("postgresql_only"):
        return _dialect_name() == "postgresql"
    if type_ == "index" and not reflected and obj.info.get("sqlite_only"):
        return _dialect_name() == "sqlite"
    return True


_current_dialect: list[str] = []


def _dialect_name() -> str:
    from alembic import context

    try:
        return context.get_context().dialect.name
    except Exception:  # noqa: BLE001 - outside an env run (compare_metadata)
        return _current_dialect[-1] if _current_dialect else ""


def compare_type(context: Any, inspected_column: Any, metadata_column: Any,
                 inspected_type: Any, metadata_type: Any) -> bool | None:
    """Geometry columns: PostGIS geometry or BLOB both match :class:`GeometryType`."""
    if isinstance(metadata_type, GeometryType):
        name = type(inspected_type).__name__.lower()
        if context.dialect.name == "postgresql":
            return "geometry" not in name
        return not isinstance(inspected_type, sa.LargeBinary | sa.types.NullType) \
            and "blob" not in name
    return None


def schema_diff(conn: Connection) -> list[Any]:
    """Differences between the models and the database schema (empty when they agree)."""
    from alembic.autogenerate import compare_metadata

    metadata = load_all_models()
    _current_dialect.append(conn.dialect.name)
    try:
        ctx = MigrationContext.configure(conn, opts={
            "compare_type": compare_type, "include_name": include_name,
            "include_object": include_object, "target_metadata": metadata})
        return compare_metadata(ctx, metadata)
    finally:
        _current_dialect.pop()
