"""Retention of raw positions (PIPL: precise location is sensitive personal information).

Two policies, both applied by :func:`purge_positions` (the ``position_retention`` job):

* **Raw retention** (default 180 days): fixes and heartbeats whose local day is older than
  the retention are removed. On PostgreSQL whole day partitions (``position_pYYYYMMDD``)
  are dropped and old rows of ``position_default`` deleted; on SQLite the rows are deleted.
  Aggregated results (``day_result``, ``period_result``, entered items, decisions, audit) are
  not touched: they are kept for the rules' periods.
* **Duty-hours minimisation**: positions recorded outside every window a rule reads (the
  profile's duty windows and patrol windows, widened by ``margin_s`` so that a segment
  crossing into a window keeps its outer fix) are deleted once they are older than
  ``offduty_keep_days`` (late uploads and re-evaluation still see them in that time), unless
  the caller's ``keep`` condition holds for them: the job
  (:func:`checkins.jobs.scheduled.position_retention`) keeps those an **approved exemption**
  of that worker covers (the proof of a field duty or a special case,
  :func:`checkins.field.exemptions.covered_by_approved_exemption`; exemptions live in a room
  above this one). Non-working days keep the same windows (a township may switch to every
  day, YK-DAYS).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.db.partitions import DEFAULT_PARTITION, list_partitions
from checkins.positions.models import Position
from checkins.township.models import Township, Village, Worker
from geo.localtime import day_range

DEFAULT_RETENTION_DAYS = 180
DEFAULT_OFFDUTY_KEEP_DAYS = 7
DEFAULT_MARGIN_S = 600.0
_PART_RE = re.compile(r"^position_p(\d{8})$")


def _hhmm(text: str) -> dt.time:
    h, m = (int(x) for x in text.split(":")[:2])
    return dt.time(23, 59, 59) if h >= 24 else dt.time(h, m)


def needed_span(profile: Any) -> tuple[dt.time, dt.time]:
    """Earliest start and latest end (local time) of the windows the profile's rules read."""
    params = profile.geo_params()
    windows = list(params.duty_windows) + list(params.patrol_windows.values())
    return min(_hhmm(a) for a, _ in windows), max(_hhmm(b) for _, b in windows)


def _drop_old_partitions(session: Session, cutoff_day: dt.date) -> list[str]:
    conn = session.connection()
    dropped = []
    for name in list_partitions(conn):
        m = _PART_RE.match(name)
        if m and dt.datetime.strptime(m.group(1), "%Y%m%d").date() < cutoff_day:
            conn.execute(sa.text(f'DROP TABLE "{name}"'))
            dropped.append(name)
    return dropped


def _delete(session: Session, *conds: Any) -> int:
    res = session.execute(sa.delete(Position).where(*conds).execution_options(
        synchronize_session=False))
    return int(res.rowcount or 0)


def purge_positions(session: Session, *, now: dt.datetime | None = None,
                    retention_days: int = DEFAULT_RETENTION_DAYS,
                    offduty_keep_days: int = DEFAULT_OFFDUTY_KEEP_DAYS,
                    margin_s: float = DEFAULT_MARGIN_S,
                    timezone: str = "Asia/Shanghai",
                    keep: sa.ColumnElement[bool] | None = None) -> dict[str, Any]:
    """Apply raw retention and duty-hours minimisation; counts of what went (not committed).

    Parameters
    ----------
    now : current time (tz-aware); default the clock.
    retention_days : local days of raw positions kept (before today).
    offduty_keep_days : days an off-window position is kept before it is deleted.
    margin_s : seconds added on each side of the needed windows (GEO-INGRID's max gap).
    timezone : local time of the partitions (``settings.timezone``).
    keep : a condition on ``position`` rows (correlated): off-window positions for which it
        holds are kept (None: none kept for a reason of their own).
    """
    from checkins.township.profile import township_profile  # heavy (profiles, geo)

    now = now or dt.datetime.now(dt.UTC)
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    cutoff_day = today - dt.timedelta(days=retention_days)
    cutoff_at = dt.datetime.combine(cutoff_day, dt.time(0), tzinfo=tz)
    out: dict[str, Any] = {"retention_days": retention_days, "cutoff": cutoff_at.isoformat(),
                           "partitions_dropped": [], "deleted_old": 0, "deleted_off_duty": 0}
    if session.get_bind().dialect.name == "postgresql":
        out["partitions_dropped"] = _drop_old_partitions(session, cutoff_day)
        res = session.execute(sa.text(f"DELETE FROM {DEFAULT_PARTITION} WHERE recorded_at < :c"),
                              {"c": cutoff_at})
        out["deleted_old"] = int(res.rowcount or 0)
    else:
        out["deleted_old"] = _delete(session, Position.recorded_at < cutoff_at)

    keep_after = now - dt.timedelta(days=offduty_keep_days)
    spare = () if keep is None else (~keep,)
    margin = dt.timedelta(seconds=margin_s)
    for township_id, tz_name in session.execute(
            sa.select(Township.township_id, Township.timezone)).all():
        village = session.scalar(sa.select(Village.village_id).where(
            Village.township_id == township_id).limit(1))
        if village is None:
            continue
        start_t, end_t = needed_span(township_profile(session, village))
        ttz = ZoneInfo(tz_name or timezone)
        workers = sa.select(Worker.worker_id).join(
            Village, Village.village_id == Worker.village_id).where(
            Village.township_id == township_id).scalar_subquery()
        first = max(cutoff_day, dt.date(2000, 1, 1))
        last = keep_after.astimezone(ttz).date()
        day = first
        while day <= last:
            d0, d1 = day_range(day, ttz)
            keep0 = dt.datetime.combine(day, start_t, tzinfo=ttz) - margin
            keep1 = dt.datetime.combine(day, end_t, tzinfo=ttz) + margin
            for lo, hi in ((d0, keep0), (keep1, d1)):
                hi = min(hi, keep_after)
                if lo < hi:
                    out["deleted_off_duty"] += _delete(
                        session, Position.worker_id.in_(workers), Position.recorded_at >= lo,
                        Position.recorded_at < hi, *spare)
            day += dt.timedelta(days=1)
    return out
