"""Live alerts: today's phone-off and off-post intervals in progress (GEO-PHONEOFF,
GEO-OFFPOST, GEO-CROSSPOST) become open ``alert`` rows, closed when the condition ends.

:func:`live_check` judges today's data up to *now* with the same engine and flow as the
nightly run (:func:`checkins.evaluation.flows.judge_worker_days`); the rest of the day after *now* is
passed to the engine as time not yet received, so the future is never a phone-off. An
interval is *in progress* when it reaches *now* (phone-off) or the worker's latest known
position within ``max_gap_s`` of *now* (off-post). Re-running is idempotent: a worker has at
most one open alert per kind, updated in place. The check is incremental (issue 19): each
worker is judged from the point ``live_state`` says is settled, so its cost follows the
fixes that are new, not the hour of the day. The live board that reads these alerts and
``live_state`` is :func:`checkins.office.live.live_map`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from checkins.db.engine import write_apart
from checkins.db.types import UTCDateTime
from checkins.evaluation.flows import judge_worker_days, township_profile, workers_on
from checkins.jobs.models import Alert
from checkins.positions.models import LiveState
from checkins.township.models import Worker
from geo.types import rule_of
from scoring.profiles import Profile, load_profile


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def in_progress(result: Any, now_s: float, max_gap_s: float) -> list[dict[str, Any]]:
    """The intervals of an engine ``DayResult`` still going on at ``now_s`` (POSIX s)."""
    out: list[dict[str, Any]] = []
    for p in result.phone_off:
        if p.start <= now_s and p.end >= now_s - 1.0:
            out.append({"kind": "phone_off", "start": p.start, "end": min(p.end, now_s),
                        "cause": p.cause, "other_grid_id": None})
    for o in result.offpost:
        if o.start <= now_s and o.end >= now_s - max_gap_s:
            out.append({"kind": o.kind, "start": o.start, "end": min(o.end, now_s),
                        "cause": None, "other_grid_id": o.other_grid_id})
    return out


def lookback_s(params: Any) -> float:
    """How far before the earliest interval in progress (or *now*) the next live check
    starts judging a worker: an off-post or phone-off run not yet long enough to be an
    interval may have begun up to ``offpost_min_s`` / ``phoneoff_min_s`` earlier; two
    ``max_gap_s`` more give the engine the fixes around its start."""
    return max(params.offpost_min_s, params.phoneoff_min_s) + 2.0 * params.max_gap_s


def _judge_from(st: LiveState | None, now: dt.datetime, look: float) -> float | None:
    """Where the incremental check starts judging a worker (POSIX s); None: the whole day."""
    if st is None or st.settled_at is None or st.judged_until is None or st.judged_until > now:
        return None
    f = st.settled_at.timestamp()
    if st.dirty_from is not None and st.dirty_from.timestamp() < f + look:
        # a late, out-of-order item: re-judge from before it (its context included)
        f = min(f, st.dirty_from.timestamp() - look)
    return f


def live_states(session: Session, workers: Sequence[str], day: dt.date) -> dict[str, LiveState]:
    """The ``live_state`` rows of ``workers`` on ``day``."""
    out: dict[str, LiveState] = {}
    ids = list(workers)
    for i in range(0, len(ids), 5000):
        for st in session.scalars(sa.select(LiveState).where(
                LiveState.work_date == day, LiveState.worker_id.in_(ids[i:i + 5000]))):
            out[st.worker_id] = st
    return out


_STATE_UPSERT = sa.text(
    "INSERT INTO live_state (worker_id, work_date, ingest_seq, judged_seq, judged_until,"
    " settled_at, open_intervals) VALUES (:w, :d, 0, :seq, :until, :settled, :iv)"
    " ON CONFLICT (worker_id, work_date) DO UPDATE SET judged_seq = excluded.judged_seq,"
    " judged_until = excluded.judged_until, settled_at = excluded.settled_at,"
    " open_intervals = excluded.open_intervals,"
    # only what was read is cleared: an item stored meanwhile keeps the worker dirty
    " dirty_from = CASE WHEN live_state.ingest_seq = excluded.judged_seq THEN NULL"
    " ELSE live_state.dirty_from END"
).bindparams(sa.bindparam("d", type_=sa.Date()), sa.bindparam("until", type_=UTCDateTime()),
             sa.bindparam("settled", type_=UTCDateTime()), sa.bindparam("iv", type_=sa.JSON()))


def live_check(session: Session, *, now: dt.datetime | None = None,
               village_id: str | None = None,
               profile: Profile | str | None = None, full: bool = False,
               timings: dict[str, float] | None = None) -> dict[str, int]:
    """Open, update and close today's alerts, keep ``live_state``; the counts.

    Incremental: each worker is judged from its ``live_state.settled_at`` (or earlier, from
    a late item ingest reported) to *now*, not from the start of the day; ``full`` (or no
    state yet) judges the whole day. Both find the same intervals in progress. The writes
    are one short transaction of their own after the judging (SQLite: no write lock is
    held while judging); the caller may commit or not.
    """
    now = now or dt.datetime.now(dt.UTC)
    if profile is None:
        prof = township_profile(session, village_id)
    else:
        prof = profile if isinstance(profile, Profile) else load_profile(profile)
    params = prof.geo_params()
    today = now.astimezone(ZoneInfo(prof.timezone)).date()
    workers = workers_on(session, today, village_id)
    now_s = now.timestamp()
    look = lookback_s(params)
    states = {} if full else live_states(session, workers, today)
    since: dict[str, float] = {}
    for w in workers:
        f = _judge_from(states.get(w), now, look)
        if f is not None:
            since[w] = f
    seqs = {w: (st.ingest_seq if (st := states.get(w)) is not None else 0) for w in workers}
    if full:  # the counters are still needed to clear dirty_from correctly
        seqs.update({w: st.ingest_seq for w, st in live_states(session, workers, today).items()})
    judged = judge_worker_days(session, [(w, today) for w in workers], profile=prof,
                               until=now_s, since=since or None, score=False,
                               timings=timings)
    village = dict(session.execute(sa.select(Worker.worker_id, Worker.village_id)
                                   .where(Worker.worker_id.in_(workers))).all()) if workers \
        else {}
    current: dict[tuple[str, str], dict[str, Any]] = {}
    finished: dict[tuple[str, str], list[Any]] = {}
    kept: list[dict[str, Any]] = []
    for result, _ in judged:
        w = result.worker_id
        ivs = in_progress(result, now_s, params.max_gap_s)
        for iv in ivs:
            current[(w, iv["kind"])] = iv
        for p in result.phone_off:
            finished.setdefault((w, "phone_off"), []).append(p)
        for o in result.offpost:
            finished.setdefault((w, o.kind), []).append(o)
        settled = min([iv["start"] for iv in ivs] + [now_s]) - look
        kept.append({"w": w, "d": today, "seq": seqs.get(w, 0), "until": now,
                     "settled": _utc(settled), "iv": [_iv_json(iv) for iv in ivs]})
    counts = {"checked": len(judged), "incremental": len(since), "opened": 0, "updated": 0,
              "closed": 0}

    def write(s: Session) -> None:
        q = sa.select(Alert).where(Alert.status == "open")
        if village_id is not None:
            q = q.where(Alert.village_id == village_id)
        open_alerts = {(a.worker_id, a.kind): a for a in s.scalars(q)}
        for key, alert in open_alerts.items():
            if key in current and alert.work_date == today:
                iv = current[key]
                alert.start_at = min(alert.start_at, _utc(iv["start"]))
                alert.end_at = _utc(iv["end"])
                alert.cause = iv["cause"]
                alert.other_grid_id = iv["other_grid_id"]
                alert.updated_at = now
                counts["updated"] += 1
                continue
            # ended: its end is the end of the finished interval that overlaps it, if any
            a0 = alert.start_at.timestamp()
            ends = [iv.end for iv in finished.get(key, ()) if iv.end >= a0 and iv.start <= now_s]
            if ends and alert.work_date == today:
                alert.end_at = _utc(min(max(ends), now_s))
            alert.status = "closed"
            alert.closed_at = now
            alert.updated_at = now
            counts["closed"] += 1
        for key, iv in current.items():
            if key in open_alerts and open_alerts[key].status == "open":
                continue
            w, kind = key
            s.add(Alert(worker_id=w, village_id=village.get(w), work_date=today, kind=kind,
                        rule=rule_of(kind), start_at=_utc(iv["start"]), end_at=_utc(iv["end"]),
                        other_grid_id=iv["other_grid_id"], cause=iv["cause"],
                        status="open", opened_at=now, updated_at=now))
            counts["opened"] += 1
        s.flush()
        if kept:
            s.execute(_STATE_UPSERT, kept)
        counts["open"] = s.scalar(sa.select(sa.func.count()).select_from(Alert).where(
            Alert.status == "open")) or 0

    write_apart(session, write)
    return counts


def _iv_json(iv: dict[str, Any]) -> dict[str, Any]:
    return {"kind": iv["kind"], "start": iv["start"], "end": iv["end"], "cause": iv["cause"],
            "other_grid_id": iv["other_grid_id"]}


__all__ = ["in_progress", "live_check", "live_states", "lookback_s"]
