"""The server's outages and the saved days they change (GEO-PHONEOFF).

The outages room records outages (:mod:`checkins.outages.service`); an outage changes the
saved results of every local date it touches, which this room owns. These are the steps
the server runs: record, then mark those ``day_result`` rows ``needs_reevaluation`` (the
``reevaluation`` job re-judges them, docs/jobs.md). Flushed, not committed.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.evaluation.models import DayResult
from checkins.outages import service as outages
from checkins.outages.models import ServerOutage


def mark_outage_days(session: Session, start: dt.datetime, end: dt.datetime) -> int:
    """Mark the saved results of every local date the outage touches for re-evaluation."""
    dates = sorted({d for tz in outages.outage_timezones(session)
                    for d in outages.outage_dates(start, end, tz)})
    res = session.execute(sa.update(DayResult).where(DayResult.work_date.in_(dates))
                          .values(needs_reevaluation=True))
    return res.rowcount or 0


def detect_outages(session: Session, *, now: dt.datetime, gap_s: float,
                   actor: str = "server") -> list[ServerOutage]:
    """Record the tick gaps not recorded yet (:func:`checkins.outages.service.detect_outages`)
    and mark the days each new outage touches; the new outages."""
    new = outages.detect_outages(session, now=now, gap_s=gap_s, actor=actor)
    for o in new:
        mark_outage_days(session, o.start_at, o.end_at)
    session.flush()
    return new


def add_outage(session: Session, *, start: dt.datetime, end: dt.datetime, reason: str,
               actor: str, now: dt.datetime | None = None) -> tuple[ServerOutage, int]:
    """Record a known outage by hand (:func:`checkins.outages.service.add_outage`, the same
    ``ValueError`` naming the field) and mark its days; the row and the number marked."""
    row = outages.add_outage(session, start=start, end=end, reason=reason, actor=actor, now=now)
    marked = mark_outage_days(session, row.start_at, row.end_at)
    session.flush()
    return row, marked


__all__ = ["add_outage", "detect_outages", "mark_outage_days"]
