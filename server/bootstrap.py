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
    from checkins.db import migrate
    from checkins.db.engine import make_engine

    engine = engine or make_engine(settings.resolved_database_url)
    before = migrate.current_revision(engine)
    after = migrate.upgrade(engine)
    if before != after:
        log.info("migrated", backend=engine.dialect.name, from_revision=before,
                 to_revision=after)
    ensure_partitions(settings, engine)
    return engine


def ensure_partitions(settings: Settings, engine: Engine) -> list[str]:
    """PostgreSQL: day partitions of ``position`` from a week back to the days ahead."""
    from checkins.db import partitions

    if engine.dialect.name != "postgresql":
        return []
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    with engine.begin() as conn:
        made = partitions.ensure_position_partitions(
            conn, today - dt.timedelta(days=7), 7 + settings.partition_days_ahead + 1,
            settings.timezone)
    if made:
        log.info("position partitions created", count=len(made), first=made[0], last=made[-1])
    return made


def start_maintenance(settings: Settings, engine: Engine) -> object | None:
    """Background jobs of the server process (APScheduler 3): partitions every 6 hours."""
    if engine.dialect.name != "postgresql":
        return None
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone=settings.timezone)
    scheduler.add_job(ensure_partitions, "interval", hours=6, args=(settings, engine),
                      id="position_partitions", coalesce=True, max_instances=1)
    scheduler.start()
    return scheduler


def database_is_empty(engine: Engine) -> bool:
    """True when no township has been imported or loaded yet."""
    from checkins.township.models import Township

    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(Township)) == 0


def load_demo(settings: Settings, engine: Engine, *, seed: int | None = None,
              day: dt.date | None = None) -> dict[str, Any]:
    """Load the demo township into ``engine`` (committed) and return its counts."""
    from checkins.db.engine import session
    from checkins.demo.service import build_demo, load_demo_cases, load_demo_township

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
        # a few cases of the day, before it is evaluated (NB-ARRIVE/NB-VOLUME read them)
        counts.update(load_demo_cases(s, demo, settings.data_dir))
        s.commit()
    with session(engine) as s:  # so the office pages show the demo day at once
        from checkins.evaluation.flows import evaluate_date

        counts["days_evaluated"] = len(evaluate_date(s, demo.day))
        if settings.environment == "development":
            counts["demo_accounts"] = demo_accounts(s, settings.demo_password,
                                                    sorted({w.village_id for w in demo.workers}))
        s.commit()
    log.info("demo township loaded", day=demo.day.isoformat(), seed=demo.seed, **counts)
    return counts


DEMO_TOWNSHIP_USER = "town"


def demo_village_user(village_id: str) -> str:
    """Username of the demo office user of one village (``v01`` for ``V01``)."""
    return village_id.lower()


def demo_accounts(s: Any, password: str, village_ids: list[str]) -> int:
    """Demo logins (development only): a township office user, one village office user per
    village, and an app account for every worker, all with ``password``; the count created."""
    from checkins.auth.office_users import create_office_user
    from checkins.auth.phone import provision_accounts

    made = 0
    wanted = [(DEMO_TOWNSHIP_USER, "township_office", None)] + [
        (demo_village_user(v), "village_office", v) for v in village_ids]
    for username, role, village in wanted:
        try:
            create_office_user(s, username=username, password=password, role=role,
                               village_id=village, actor="demo")
            made += 1
        except ValueError:  # already there
            pass
    return made + provision_accounts(s, password)
