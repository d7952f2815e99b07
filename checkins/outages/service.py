"""The server's own outages (GEO-PHONEOFF: never charged as a worker's phone-off).

RULES.md GEO-PHONEOFF: "intervals when the server itself was not receiving (its own
outage) are excluded and never charged". This module records those intervals:

* :func:`record_tick` -- the liveness beat every API process writes every few seconds
  (``server.liveness``): an upsert of the current UTC minute's ``server_tick`` row keeping
  the first and the last beat of that minute, so the processes behind a load balancer share
  one row per minute and a beat never fails on a conflict;
* :func:`detect_outages` -- a gap between two consecutive beats longer than ``gap_s`` (a
  server setting, not a rule parameter) becomes one ``server_outage`` row, cause
  ``detected``, start = the last beat before the gap, end = the first beat after it. Only
  the ticks since the end of the latest detected outage are scanned, and the insert is
  ``ON CONFLICT DO NOTHING`` on (cause, start, end): running it again, or in two processes
  at once, never records an outage twice;
* :func:`add_outage` -- a known outage recorded by hand (township office or admin,
  ``gridpatrol outage add``), one audit row each;
* :func:`outage_dates` -- the local dates an outage touches.

Every new outage changes the saved results of the dates it touches: the evaluation room,
above this one, records and marks them in one step (:mod:`checkins.evaluation.outage_days`,
what the server calls; the ``reevaluation`` job re-judges them, docs/jobs.md). The
evaluation flow reads the outages of a day with :func:`outages_between`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.outages.models import ServerOutage, ServerTick
from checkins.township.models import Township

RULE_ID = "GEO-PHONEOFF"
TICK_KEEP = dt.timedelta(days=7)  # ticks older than this are purged after a detection
MAX_REASON_LEN = 500


def _aware(t: dt.datetime, name: str) -> dt.datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{name}: a timestamp needs a UTC offset")
    return t.astimezone(dt.UTC)


def _insert(session: Session, table: Any) -> Any:
    """The dialect's INSERT (both have ``on_conflict_do_*``)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def parse_time(value: str, field: str, tz: str) -> dt.datetime:
    """ISO 8601 date-time; without an offset it is ``tz`` local time. ``ValueError`` naming
    the field."""
    try:
        t = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r} is not an ISO 8601 date-time") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=ZoneInfo(tz))
    return t


def minute_of(t: dt.datetime) -> dt.datetime:
    """The UTC minute ``t`` falls in."""
    return _aware(t, "now").replace(second=0, microsecond=0)


def record_tick(session: Session, now: dt.datetime) -> None:
    """One liveness beat at ``now``: create or widen the row of its minute (not committed)."""
    now = _aware(now, "now")
    table = ServerTick.__table__
    stmt = _insert(session, table).values(minute_at=minute_of(now), first_at=now, last_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.minute_at],
        set_={"first_at": sa.func.min(table.c.first_at, stmt.excluded.first_at)
              if session.get_bind().dialect.name == "sqlite"
              else sa.func.least(table.c.first_at, stmt.excluded.first_at),
              "last_at": sa.func.max(table.c.last_at, stmt.excluded.last_at)
              if session.get_bind().dialect.name == "sqlite"
              else sa.func.greatest(table.c.last_at, stmt.excluded.last_at)})
    session.execute(stmt)


def tick_gaps(ticks: Iterable[tuple[dt.datetime, dt.datetime]], gap_s: float
              ) -> list[tuple[dt.datetime, dt.datetime]]:
    """(last beat, next first beat) of every gap longer than ``gap_s`` between consecutive
    ``(first_at, last_at)`` minute rows given in time order."""
    out = []
    prev_last: dt.datetime | None = None
    for first, last in ticks:
        if prev_last is not None and (first - prev_last).total_seconds() > gap_s:
            out.append((prev_last, first))
        prev_last = last if prev_last is None else max(prev_last, last)
    return out


def _new_outage(session: Session, *, start: dt.datetime, end: dt.datetime, cause: str,
                reason: str | None, actor: str, now: dt.datetime) -> int | None:
    """Insert an outage unless the same (cause, start, end) exists; its id, or None."""
    table = ServerOutage.__table__
    stmt = (_insert(session, table)
            .values(start_at=start, end_at=end, cause=cause, reason=reason,
                    recorded_by=actor, recorded_at=now)
            .on_conflict_do_nothing(index_elements=["cause", "start_at", "end_at"])
            .returning(table.c.id))
    return session.execute(stmt).scalar()


def detect_outages(session: Session, *, now: dt.datetime, gap_s: float,
                   actor: str = "server") -> list[ServerOutage]:
    """Record every tick gap longer than ``gap_s`` not recorded yet; the new outages.

    Scans the ticks since the end of the latest detected outage (all ticks the first time),
    then purges ticks older than :data:`TICK_KEEP` (the newest one is always kept). Flushed,
    not committed. Marking their days: :func:`checkins.evaluation.outage_days.detect_outages`.
    """
    now = _aware(now, "now")
    since = session.scalar(sa.select(sa.func.max(ServerOutage.end_at))
                           .where(ServerOutage.cause == "detected"))
    q = sa.select(ServerTick.first_at, ServerTick.last_at).order_by(ServerTick.minute_at)
    if since is not None:
        q = q.where(ServerTick.last_at >= since)
    gaps = tick_gaps(session.execute(q).all(), gap_s)
    new_ids = [i for s, e in gaps
               if (i := _new_outage(session, start=s, end=e, cause="detected", reason=None,
                                    actor=actor, now=now)) is not None]
    new = [session.get(ServerOutage, i) for i in new_ids]
    out = [o for o in new if o is not None]
    newest = session.scalar(sa.select(sa.func.max(ServerTick.minute_at)))
    if newest is not None:
        session.execute(sa.delete(ServerTick).where(
            ServerTick.minute_at < min(now - TICK_KEEP, newest)))
    session.flush()
    return out


def add_outage(session: Session, *, start: dt.datetime, end: dt.datetime, reason: str,
               actor: str, now: dt.datetime | None = None) -> ServerOutage:
    """Record a known outage by hand; the row.

    ``ValueError`` naming the field for a naive or reversed interval, an interval ending in
    the future, a missing reason or an outage already recorded. One audit row
    (``server_outage.add``). Flushed, not committed. Marking its days:
    :func:`checkins.evaluation.outage_days.add_outage`.
    """
    from checkins.audit.service import write_audit

    now = _aware(now or dt.datetime.now(dt.UTC), "now")
    start, end = _aware(start, "from"), _aware(end, "to")
    if end <= start:
        raise ValueError("to: must be after from")
    if end > now:
        raise ValueError("to: an outage is recorded once it is over (to is in the future)")
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason: required (what happened)")
    if len(reason) > MAX_REASON_LEN:
        raise ValueError(f"reason: at most {MAX_REASON_LEN} characters")
    oid = _new_outage(session, start=start, end=end, cause="manual", reason=reason,
                      actor=actor[:64], now=now)
    if oid is None:
        dup = session.scalar(sa.select(ServerOutage.id).where(
            ServerOutage.cause == "manual", ServerOutage.start_at == start,
            ServerOutage.end_at == end))
        raise ValueError(f"from/to: this outage is already recorded (id {dup})")
    row = session.get(ServerOutage, oid)
    assert row is not None
    write_audit(session, actor=actor[:64], action="server_outage.add", entity="server_outage",
                entity_id=str(oid), reason=reason, after=outage_json(row))
    session.flush()
    return row


def outage_timezones(session: Session) -> set[str]:
    """The timezones of the townships' rule profiles (the local days an outage touches)."""
    from scoring.profiles import load_profile

    names = set(session.scalars(sa.select(Township.profile).distinct())) or {"yangkou-2022"}
    return {load_profile(n).timezone for n in names}


def outage_dates(start: dt.datetime, end: dt.datetime, tz: str) -> list[dt.date]:
    """The local dates of ``tz`` that the interval [start, end) touches."""
    z = ZoneInfo(tz)
    d0 = start.astimezone(z).date()
    d1 = (end - dt.timedelta(microseconds=1)).astimezone(z).date()
    return [d0 + dt.timedelta(days=k) for k in range((d1 - d0).days + 1)]


def outages_between(session: Session, start: dt.datetime, end: dt.datetime
                    ) -> list[ServerOutage]:
    """The outages overlapping [start, end), in time order."""
    return list(session.scalars(
        sa.select(ServerOutage).where(ServerOutage.start_at < end, ServerOutage.end_at > start)
        .order_by(ServerOutage.start_at, ServerOutage.id)))


def list_outages(session: Session, start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> list[ServerOutage]:
    """Every outage (overlapping [start, end) when given), in time order."""
    q = sa.select(ServerOutage).order_by(ServerOutage.start_at, ServerOutage.id)
    if start is not None:
        q = q.where(ServerOutage.end_at > start)
    if end is not None:
        q = q.where(ServerOutage.start_at < end)
    return list(session.scalars(q))


def outage_json(o: ServerOutage, tz: str | None = None) -> dict[str, Any]:
    """An outage as JSON: times ISO 8601 (in ``tz`` when given, else UTC)."""
    z = ZoneInfo(tz) if tz else dt.UTC

    def iso(t: dt.datetime) -> str:
        return t.astimezone(z).isoformat(timespec="seconds")

    return {"id": o.id, "start": iso(o.start_at), "end": iso(o.end_at), "cause": o.cause,
            "reason": o.reason, "recorded_by": o.recorded_by,
            "minutes": round((o.end_at - o.start_at).total_seconds() / 60, 1),
            "recorded_at": iso(o.recorded_at)}


__all__ = ["RULE_ID", "add_outage", "detect_outages", "list_outages", "minute_of",
           "outage_dates", "outage_json", "outage_timezones", "outages_between", "parse_time",
           "record_tick", "tick_gaps"]
