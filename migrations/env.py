"""Alembic environment: one set of migrations for PostgreSQL/PostGIS and SQLite."""

from __future__ import annotations

from alembic import context

from checkins.db.engine import make_engine
from checkins.db.migrate import compare_type, include_name, include_object, load_all_models

metadata = load_all_models()

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from server.settings import get_settings  # only when run as `alembic ...` by hand

    return get_settings().resolved_database_url


def _configure(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=compare_type,
        include_name=include_name,
        include_object=include_object,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade --sql``)."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live connection (passed in by checkins.db.migrate, or from the URL)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
