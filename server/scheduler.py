"""The APScheduler (3.x) wiring of the scheduled jobs inside the server process.

:func:`register` (called by :func:`server.app.create_app`)
hooks the app's lifespan: on start-up, when ``settings.scheduler_on``, a
``BackgroundScheduler`` runs the jobs of :data:`JOB_NAMES`; on shutdown it stops. Every run
goes through :func:`checkins.jobs.scheduled.run_job` (lock, ``job_run`` record, log), so several
server processes can each run a scheduler and a job still runs once at a time, and a
failing job does not stop the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from server.logs import get_logger
from server.settings import Settings

log = get_logger("gridpatrol.scheduler")

JOB_NAMES = ("live_checks", "reevaluation", "nightly_evaluation", "position_partitions",
             "position_retention", "nightly_backup", "notify_alerts")


def run_named_job(name: str, settings: Settings, engine: Engine,
                  now: dt.datetime | None = None) -> dict[str, Any]:
    """Run one scheduled job by name now (locked, recorded); its outcome."""
    from sqlmodel import Session

    from checkins.jobs import scheduled

    grace_s = settings.result_grace_hours * 3600.0
    key = None
    fn: Callable[[Any], Any]
    if name == "live_checks":
        def fn(s: Any) -> Any:
            return scheduled.live_checks(s, now=now)
    elif name == "reevaluation":
        def fn(s: Any) -> Any:
            return scheduled.reevaluation(s, now=now, grace_s=grace_s)
    elif name == "nightly_evaluation":
        with Session(engine) as s:
            day = scheduled.previous_local_day(s, now)
        key = day.isoformat()

        def fn(s: Any) -> Any:
            return scheduled.nightly_evaluation(s, date=day, now=now, grace_s=grace_s)
    elif name == "position_partitions":
        from server.bootstrap import ensure_partitions

        def fn(s: Any) -> Any:
            return {"created": ensure_partitions(settings, engine)}
    elif name == "position_retention":
        def fn(s: Any) -> Any:
            return scheduled.position_retention(
                s, now=now, retention_days=settings.position_retention_days,
                offduty_keep_days=settings.offduty_keep_days, timezone=settings.timezone)
    elif name == "nightly_backup":
        from checkins.db.backup import nightly_backup

        def fn(s: Any) -> Any:  # reads through its own connection (or pg_dump)
            return nightly_backup(engine, settings.resolved_backup_dir,
                                  keep=settings.backup_keep, now=now)
    elif name == "notify_alerts":
        from checkins.jobs.notify import notify_alerts

        if not settings.webhook_url:
            raise ValueError("notify_alerts needs GRIDPATROL_WEBHOOK_URL")

        def fn(s: Any) -> Any:
            return notify_alerts(s, url=str(settings.webhook_url), kind=settings.webhook_kind,
                                 now=now, attempts=settings.webhook_attempts,
                                 backoff_s=settings.webhook_backoff_s,
                                 secret=(settings.webhook_secret.get_secret_value()
                                         if settings.webhook_secret else None))
    else:
        raise ValueError(f"unknown job {name!r} (known: {', '.join(JOB_NAMES)})")
    return scheduled.run_job(engine, name, fn, key=key)


def build_scheduler(settings: Settings, engine: Engine) -> Any:
    """A (not started) ``BackgroundScheduler`` with the jobs and their triggers."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BackgroundScheduler(timezone=settings.timezone)
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 600}

    def add(name: str, trigger: Any, **kw: Any) -> None:
        scheduler.add_job(_safe_run, trigger, args=(name, settings, engine), id=name,
                          name=name, **common, **kw)

    add("live_checks", "interval", minutes=settings.live_check_minutes)
    add("reevaluation", "interval", minutes=settings.reevaluate_minutes)
    hh, mm = (int(v) for v in settings.nightly_at.split(":"))
    add("nightly_evaluation", CronTrigger(hour=hh, minute=mm, timezone=settings.timezone))
    rh, rm = (int(v) for v in settings.retention_at.split(":"))
    add("position_retention", CronTrigger(hour=rh, minute=rm, timezone=settings.timezone))
    if settings.backup_at:
        bh, bm = (int(v) for v in settings.backup_at.split(":"))
        add("nightly_backup", CronTrigger(hour=bh, minute=bm, timezone=settings.timezone))
    if engine.dialect.name == "postgresql":
        add("position_partitions", "interval", hours=6)
    if settings.webhook_url:
        add("notify_alerts", "interval", minutes=settings.notify_minutes)
    return scheduler


def _safe_run(name: str, settings: Settings, engine: Engine) -> None:
    """APScheduler entry: run the job; even a failure of the runner itself is only logged."""
    try:
        out = run_named_job(name, settings, engine)
        log.info("job run", job=name, status=out["status"])
    except Exception:  # noqa: BLE001 - a scheduler thread must survive anything
        log.exception("job runner failed", job=name)


def start_scheduler(settings: Settings, engine: Engine) -> Any | None:
    """Start the jobs' scheduler if ``settings.scheduler_on``; the scheduler or None."""
    if not settings.scheduler_on:
        return None
    scheduler = build_scheduler(settings, engine)
    scheduler.start()
    log.info("scheduler started", jobs=[j.id for j in scheduler.get_jobs()])
    return scheduler


def register(app: FastAPI) -> None:
    """Hook the scheduler into the app's lifespan (wrapping any lifespan already set)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        scheduler = start_scheduler(a.state.settings, a.state.engine)
        a.state.scheduler = scheduler
        try:
            async with inner(a) as state:
                yield state
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
                log.info("scheduler stopped")

    app.router.lifespan_context = lifespan
