"""Creating a missing day partition during an upload never needs a second pooled connection.

The request's session already holds one connection from the pool; if the partition DDL
took another from the same pool, many first uploads of an old day arriving at once (each
holding one and waiting for a second) would exhaust the pool and stall every request until
the pool timeout. Here the pool has room for exactly one connection, held by the session.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlmodel import Session

from checkins.db.engine import make_engine
from checkins.db.migrate import upgrade
from checkins.db.partitions import partition_name
from checkins.positions import ingest
from tests.conftest import empty_database


def test_partition_ddl_does_not_wait_for_the_sessions_pool(db_backend, tmp_path) -> None:
    with empty_database(db_backend, tmp_path) as url:
        setup = make_engine(url)
        upgrade(setup)
        setup.dispose()
        engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=3)
        day = dt.date(2026, 3, 2)  # far outside the partitions made ahead of time
        try:
            with Session(engine) as session:
                session.execute(sa.text("SELECT 1"))  # the session holds the only connection
                ingest._ensure_partitions(session, {day}, "Asia/Shanghai")
                found = session.execute(sa.text(
                    "SELECT count(*) FROM pg_class WHERE relname = :n")
                    if db_backend == "postgresql" else sa.text("SELECT 1 WHERE :n IS NULL"),
                    {"n": partition_name(day)}).scalar()
            # PostgreSQL: the partition exists (made on a connection outside the pool);
            # SQLite has no partitions and nothing to make
            assert found == (1 if db_backend == "postgresql" else None)
        finally:
            ingest._known_days.clear()
            for eng in ingest._ddl_engines.values():
                eng.dispose()
            ingest._ddl_engines.clear()
            engine.dispose()
