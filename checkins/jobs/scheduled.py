"""Scheduled job functions and the runner that makes them safe to schedule everywhere.

:func:`run_job` runs one job function once: under a lock so that it never runs twice at the
same time even with several server processes (a PostgreSQL advisory lock; on SQLite a
``job_lock`` row that expires if abandoned), skipped when a ``key`` (e.g. the nightly run's
date) already has a successful run, recorded in ``job_run`` (started, finished, ok, error,
summary) and logged. A failing job is recorded and logged, never raised: the scheduler and
the other jobs go on.

Job functions take a ``Session`` and return a JSON-able summary; the caller commits:

* :func:`live_checks` -- today's alerts (:func:`checkins.jobs.alerts.live_check`);
* :func:`nightly_evaluation` -- the final evaluation of the previous local day, plus the
  provisional days whose grace period has passed (:func:`finalize_due`);
* :func:`reevaluation` -- the worker-days marked ``needs_reevaluation``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from checkins.evaluation.flows import (
    DEFAULT_GRACE_S,
    evaluate_date,
    evaluate_worker_days,
    reevaluate_pending,
    township_profile,
)
from checkins.evaluation.models import DayResult
from checkins.jobs.models import JobLock, JobRun

log = logging.getLogger("gridpatrol.jobs")

JobFn = Callable[[Session], dict[str, Any] | None]
LOCK_TTL_S = 6 * 3600.0  # a SQLite lock row older than this is taken as abandoned


def holder_id() -> str:
    """``host:pid`` of this process (who holds a lock, who ran a job)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- locks


class JobLockHandle:
    """A held job lock; :meth:`release` frees it."""

    def __init__(self, engine: Engine, name: str, holder: str, conn: Any = None):
        self.engine, self.name, self.holder, self.conn = engine, name, holder, conn

    def release(self) -> None:
        """Free the lock (advisory unlock on PostgreSQL, delete the row on SQLite)."""
        if self.conn is not None:
            try:
                self.conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"),
                                  {"k": f"gridpatrol.job:{self.name}"})
                self.conn.commit()
            finally:
                self.conn.close()
            return
        with self.engine.begin() as conn:
            conn.execute(sa.delete(JobLock).where(JobLock.name == self.name,
                                                  JobLock.holder == self.holder))


def try_lock(engine: Engine, name: str, holder: str | None = None,
             ttl_s: float = LOCK_TTL_S) -> JobLockHandle | None:
    """Take the lock of job ``name`` without waiting; None if someone else holds it."""
    holder = holder or holder_id()
    if engine.dialect.name == "postgresql":
        conn = engine.connect()
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"),
                           {"k": f"gridpatrol.job:{name}"}).scalar()
        conn.commit()
        if not got:
            conn.close()
            return None
        return JobLockHandle(engine, name, holder, conn)
    now = _now()
    expires = now + dt.timedelta(seconds=ttl_s)
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(JobLock).values(name=name, holder=holder, acquired_at=now,
                                                   expires_at=expires))
        return JobLockHandle(engine, name, holder)
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as conn:  # an abandoned lock (a process died) may be taken over
        res = conn.execute(sa.update(JobLock).where(JobLock.name == name,
                                                    JobLock.expires_at < now)
                           .values(holder=holder, acquired_at=now, expires_at=expires))
    return JobLockHandle(engine, name, holder) if res.rowcount == 1 else None


# --------------------------------------------------------------------------- runner


def run_job(engine: Engine, name: str, fn: JobFn, *, key: str | None = None,
            holder: str | None = None) -> dict[str, Any]:
    """Run ``fn`` as job ``name`` once, locked and recorded; never raises for ``fn``.

    Returns ``{"name", "status", ...}`` with status ``ok``, ``failed``, ``locked`` (another
    process or thread is running it) or ``done_before`` (``key`` already ran successfully).
    """
    holder = holder or holder_id()
    lock = try_lock(engine, name, holder)
    if lock is None:
        log.info("job %s skipped (key=%s): running elsewhere", name, key)
        return {"name": name, "key": key, "status": "locked"}
    try:
        if key is not None:
            with Session(engine) as s:
                done = s.scalar(sa.select(sa.func.count()).select_from(JobRun).where(
                    JobRun.name == name, JobRun.run_key == key, JobRun.ok.is_(True)))
            if done:
                log.info("job %s skipped (key=%s): done before", name, key)
                return {"name": name, "key": key, "status": "done_before"}
        with Session(engine, expire_on_commit=False) as s:
            run = JobRun(name=name, run_key=key, host=holder, started_at=_now())
            s.add(run)
            s.commit()
            run_id = run.id
        log.info("job %s started (key=%s, run %s)", name, key, run_id)
        ok, error, summary = True, None, None
        try:
            with Session(engine, expire_on_commit=False) as s:
                summary = fn(s)
                s.commit()
        except Exception as exc:  # noqa: BLE001 - recorded and logged, never raised
            ok = False
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"[:8000]
            log.exception("job %s failed (key=%s, run %s)", name, key, run_id)
        with Session(engine) as s:
            s.execute(sa.update(JobRun).where(JobRun.id == run_id).values(
                finished_at=_now(), ok=ok, error=error,
                summary=_jsonable(summary) if summary is not None else None))
            s.commit()
        if ok:
            log.info("job %s finished (key=%s, run %s)", name, key, run_id)
        return {"name": name, "key": key, "status": "ok" if ok else "failed",
                "run_id": run_id, "summary": summary, "error": error}
    finally:
        lock.release()


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    return v


def job_status(session: Session, *, limit_per_job: int = 5) -> list[dict[str, Any]]:
    """Per job name: the last runs (newest first), the last success and the last failure."""
    names = sorted(session.scalars(sa.select(JobRun.name).distinct()))
    out = []
    for name in names:
        runs = session.scalars(sa.select(JobRun).where(JobRun.name == name)
                               .order_by(JobRun.started_at.desc(), JobRun.id.desc())
                               .limit(limit_per_job)).all()
        last_ok = session.scalar(sa.select(sa.func.max(JobRun.finished_at)).where(
            JobRun.name == name, JobRun.ok.is_(True)))
        last_fail = session.scalar(sa.select(sa.func.max(JobRun.finished_at)).where(
            JobRun.name == name, JobRun.ok.is_(False)))
        out.append({
            "name": name,
            "state": ("running" if runs and runs[0].ok is None
                      else "ok" if runs and runs[0].ok else "failed"),
            "last_success_at": last_ok.isoformat() if last_ok else None,
            "last_failure_at": last_fail.isoformat() if last_fail else None,
            "runs": [{"id": r.id, "key": r.run_key, "host": r.host,
                      "started_at": r.started_at.isoformat(),
                      "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                      "ok": r.ok, "error": r.error, "summary": r.summary} for r in runs],
        })
    return out


# --------------------------------------------------------------------------- jobs


def live_checks(session: Session, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Job: today's live alerts (phone-off, off-post in progress)."""
    from checkins.jobs.alerts import live_check

    return live_check(session, now=now)


def previous_local_day(session: Session, now: dt.datetime | None = None) -> dt.date:
    """Yesterday in the township's time zone."""
    tz = ZoneInfo(township_profile(session).timezone)
    return (now or _now()).astimezone(tz).date() - dt.timedelta(days=1)


def finalize_due(session: Session, *, now: dt.datetime | None = None,
                 grace_s: float = DEFAULT_GRACE_S) -> int:
    """Re-judge provisional day results whose grace period has passed: they become final."""
    now = now or _now()
    prof = township_profile(session)
    tz = ZoneInfo(prof.timezone)
    # the grace ends grace_s after the end of the local day: work_date <= cutoff
    cutoff = (now - dt.timedelta(seconds=grace_s)).astimezone(tz).date() - dt.timedelta(days=1)
    items = [(w, d) for w, d in session.execute(
        sa.select(DayResult.worker_id, DayResult.work_date).where(
            DayResult.provisional.is_(True), DayResult.work_date <= cutoff))]
    if not items:
        return 0
    return len(evaluate_worker_days(session, items, profile=prof, evaluated_at=now,
                                    grace_s=grace_s))


def nightly_evaluation(session: Session, *, date: dt.date | None = None,
                       now: dt.datetime | None = None,
                       grace_s: float = DEFAULT_GRACE_S) -> dict[str, Any]:
    """Job: evaluate every worker on the previous local day; finalize due days."""
    date = date or previous_local_day(session, now)
    entries = evaluate_date(session, date, evaluated_at=now, grace_s=grace_s)
    finalized = finalize_due(session, now=now, grace_s=grace_s)
    return {"date": date.isoformat(), "worker_days": len(entries), "finalized": finalized}


def reevaluation(session: Session, *, now: dt.datetime | None = None,
                 grace_s: float = DEFAULT_GRACE_S) -> dict[str, Any]:
    """Job: re-judge the worker-days marked ``needs_reevaluation``."""
    entries = reevaluate_pending(session, evaluated_at=now, grace_s=grace_s)
    return {"worker_days": len(entries),
            "items": [f"{e['worker_id']}@{e['date']}" for e in entries[:200]]}


def position_retention(session: Session, *, now: dt.datetime | None = None,
                       retention_days: int, offduty_keep_days: int,
                       timezone: str) -> dict[str, Any]:
    """Job: raw retention and duty-hours minimisation of positions
    (:func:`checkins.positions.retention.purge_positions`), keeping the off-window positions
    an approved exemption covers."""
    from checkins.field.exemptions import covered_by_approved_exemption
    from checkins.positions.retention import purge_positions

    return purge_positions(session, now=now, retention_days=retention_days,
                           offduty_keep_days=offduty_keep_days, timezone=timezone,
                           keep=covered_by_approved_exemption())


__all__ = [
    "JobLockHandle", "finalize_due", "holder_id", "job_status", "live_checks",
    "nightly_evaluation", "position_retention", "previous_local_day", "reevaluation",
    "run_job", "try_lock",
]
