"""Start-up work shared by ``serve``, ``demo`` and ``import``: migrate, partitions, demo."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.logs import get_logger
from server.settings import Settings

log = get_logger("gridpatrol.bootstrap")


def prepare_database(settings: Settings, engine: Engine | None = None) -> Engine:
    """Engine for the settings' database, migrated to head, day partitions ensured (PG)."""
    from checkins.db import migrate, partitions
    from checkins.db.engine import make_engine

    engine = engine or make_engine(settings.resolved_database_url)
    before = migrate.current_revision(engine)
    after = migrate.upgrade(engine)
    if before != after:
        log.info("migrated", backend=engine.dialect.name, from_revision=before,
                 to_revision=after)
    if engine.dialect.name == "postgresql":
        today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
        with engine.begin() as conn:
            made = partitions.ensure_position_partitions(
                conn, today - dt.timedelta(days=7), 7 + settings.partition_days_ahead + 1,
                settings.timezone)
        if made:
            log.info("position partitions created", count=len(made), first=made[0],
                     last=made[-1])
    return engine


def database_is_empty(engine: Engine) -> bool:
    """True when no township has been imported or loaded yet."""
    from checkins.models import Township

    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Township)) == 0


def load_demo(settings: Settings, engine: Engine, *, seed: int | None = None,
              day: dt.date | None = None) -> dict[str, Any]:
    """Load the demo township into ``engine`` (committed) and return its counts."""
    from checkins.db.engine import session
    from checkins.demo import build_demo, load_demo_township

    demo = build_demo(seed=settings.demo_seed if seed is None else seed, day=day,
                      timezone=settings.timezone, township_id=settings.township_id,
                      township_name=settings.township_name, profile=settings.profile)
    if engine.dialect.name == "postgresql":
        from checkins.db import partitions

        with engine.begin() as conn:
            partitions.ensure_position_partitions(conn, demo.day - dt.timedelta(days=1), 3,
                                                  settings.timezone)
    with session(engine) as s:
        counts = load_demo_township(s, demo)
        s.commit()
    log.info("demo township loaded", day=demo.day.isoformat(), seed=demo.seed, **counts)
    return counts
