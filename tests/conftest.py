"""Shared fixtures: one database backend per run, each test in a rolled-back transaction.

Select the backend with ``--db sqlite|postgresql`` or ``GRIDPATROL_TEST_DB``. On PostgreSQL
the database is ``GRIDPATROL_TEST_PG_URL`` (``scripts/test.sh`` creates a throwaway one);
without it a ``gridpatrol_test_<random>`` database is created on ``GRIDPATROL_TEST_PG_ADMIN_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``) and dropped at the end.
The schema is built once per run by the Alembic migrations, not by ``create_all``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", default=None, choices=("sqlite", "postgresql"),
                     help="database backend of the db fixtures (default: GRIDPATROL_TEST_DB "
                          "or sqlite)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"gridpatrol test database backend: {_backend(config)}"


def _backend(config: pytest.Config) -> str:
    return config.getoption("--db") or os.environ.get("GRIDPATROL_TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def db_backend(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgresql``: the backend this run tests."""
    return _backend(request.config)


def pg_admin_url() -> str:
    """URL of a maintenance database on the test PostgreSQL server."""
    return os.environ.get("GRIDPATROL_TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL)


@contextmanager
def throwaway_pg_database(prefix: str = "gridpatrol_test") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it afterwards."""
    admin = sa.create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def empty_database(backend: str, tmp_dir: os.PathLike[str] | str) -> Iterator[str]:
    """Yield the URL of a brand-new empty database of ``backend``."""
    if backend == "postgresql":
        with throwaway_pg_database("gridpatrol_test_empty") as url:
            yield url
    else:
        path = os.path.join(str(tmp_dir), f"empty_{secrets.token_hex(4)}.db")
        yield f"sqlite:///{path}"


@pytest.fixture(scope="session")
def database_url(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the run's test database (migrated once by :func:`migrated_engine`)."""
    if db_backend == "postgresql":
        given = os.environ.get("GRIDPATROL_TEST_PG_URL")
        if given:
            yield given
        else:
            with throwaway_pg_database() as url:
                yield url
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[sa.Engine]:
    """The run's engine, its schema built by the migrations (from empty) to head."""
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(migrated_engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    conn = migrated_engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def engine(connection: sa.Connection) -> sa.Connection:
    """The test's database handle: a connection in a rolled-back transaction.

    Code that takes an engine-like bind (``Session(bind)``) works on it unchanged; its
    commits become savepoint releases.
    """
    return connection


@pytest.fixture
def session(connection: sa.Connection) -> Iterator[object]:
    """An ORM session joined to the test's transaction (commit = release a savepoint)."""
    from sqlmodel import Session

    with Session(bind=connection, join_transaction_mode="create_savepoint",
                 expire_on_commit=False) as s:
        yield s
