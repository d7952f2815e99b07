"""Period sums kept current: a subject's day sums per period, updated as day results are saved.

A period score is built from the entered items (few, read live) and the day results (many).
The day part of every sheet is a sum (``scoring.period.DaySums``), so it is kept per township,
period (of each kind the profile scores by items: month, quarter) and subject in
``period_sum``, and changed by a delta when a day result is saved:

* :func:`days_saved` takes the old group's sums out and the new group's in. It runs in the
  flush that writes a ``day_result`` through the ORM (a ``before_flush`` hook), so in the same
  transaction as every writer: the nightly run, a re-evaluation, an office decision, an edit.
  (Bulk Core inserts bypass it: build or verify after those.) A group is one worker-day; under an office profile, the office's
  worker-days of the date (QS-POS-COLLECTIVE is decided among them).
* A period is built once from the stored days (:func:`build`, streaming group by group, memory
  bounded by one group) when it is first read; ``period_sum_state`` records it with the
  profile it was built under (a new profile version rebuilds it) and a version that grows with
  every change.
* :func:`verify` recomputes a period from the days (streaming) and lists every subject whose
  stored sums differ.

Row locks (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite has one writer) keep two
concurrent saves from losing each other's delta.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from checkins.db.base import dialect_insert
from checkins.evaluation.models import DayResult, PeriodSum, PeriodSumState
from checkins.township.models import Township, Village, Worker
from checkins.township.profile import profile_named
from scoring.dayjson import ScoredDay, day_from_json
from scoring.items import Period, parse_period
from scoring.period import DaySums, day_sums, office_profile, sum_periods
from scoring.profiles import Profile

BATCH = 1000
SMALL = 500  # above: read a whole roster or period rather than name thousands of keys


class SumsError(ValueError):
    """A stored day result the sums cannot read."""


# ----------------------------------------------------------------------------- reading days


def _scored(entry: Mapping[str, Any], village_id: str | None, worker_id: str, date: Any
            ) -> ScoredDay:
    where = f"of {worker_id} on {date}"
    # the row's keys are the day's: a result written without them (by hand, or an old row)
    # is still read as that worker's day
    entry = {"worker_id": worker_id, "date": str(date), **entry}
    try:
        return ScoredDay(day_from_json(entry, "day_result", 0).result, village_id)
    except ValueError as exc:
        raise SumsError(f"stored day result {where}: {exc}") from None


def _village_ids(session: Session, township_id: str) -> list[str]:
    return sorted(session.scalars(sa.select(Village.village_id).where(
        Village.township_id == township_id)))


def stream_groups(session: Session, township_id: str, period: Period, profile: Profile
                  ) -> Iterator[tuple[list[ScoredDay], int]]:
    """The township's stored days of ``period``, one group at a time, with its provisional count.

    Ordered by worker then date (worker profile) or office, date (office profile), read in
    batches: memory holds one batch of rows and one group.
    """
    villages = _village_ids(session, township_id)
    if not villages:
        return
    office = office_profile(profile)
    order = ((Worker.village_id, DayResult.work_date, DayResult.worker_id) if office
             else (DayResult.worker_id, DayResult.work_date))
    q = (sa.select(DayResult.worker_id, DayResult.work_date, DayResult.result,
                   DayResult.provisional, Worker.village_id)
         .join(Worker, Worker.worker_id == DayResult.worker_id)
         .where(Worker.village_id.in_(villages), DayResult.work_date >= period.start,
                DayResult.work_date <= period.end)
         .order_by(*order).execution_options(yield_per=BATCH))
    key: tuple[Any, ...] | None = None
    group: list[ScoredDay] = []
    prov = 0
    for wid, date, entry, provisional, village in session.execute(q):
        k = (village, date) if office else (wid, date)
        if k != key and group:
            yield group, prov
            group, prov = [], 0
        key = k
        group.append(_scored(entry, village, wid, date))
        prov += bool(provisional)
    if group:
        yield group, prov


def fold_period(session: Session, township_id: str, period: Period, profile: Profile,
                progress: Callable[[int], None] | None = None
                ) -> tuple[dict[str, DaySums], dict[str, int]]:
    """Sums and provisional counts per subject of ``period`` from the stored days (streaming)."""
    return fold_periods(session, township_id, [period.label], profile, progress)[period.label]


def fold_periods(session: Session, township_id: str, labels: Sequence[str], profile: Profile,
                 progress: Callable[[int], None] | None = None
                 ) -> dict[str, tuple[dict[str, DaySums], dict[str, int]]]:
    """:func:`fold_period` of several periods in one pass over their days.

    A quarter and its months are read once, not twice: each group (one date) is added to
    every period of ``labels`` that holds its date.
    """
    periods = [parse_period(lab) for lab in dict.fromkeys(labels)]
    out: dict[str, tuple[dict[str, DaySums], dict[str, int]]] = {
        p.label: ({}, defaultdict(int)) for p in periods}
    if not periods:
        return out
    span = periods[0] if len(periods) == 1 else Period(
        "span", min(p.start for p in periods), max(p.end for p in periods), "span")
    n = 0
    for group, prov in stream_groups(session, township_id, span, profile):
        date = group[0].result.date
        into = [out[p.label] for p in periods if p.start <= date <= p.end]
        if into:
            for sid, s in day_sums(profile, group).items():
                for sums, provs in into:
                    sums.setdefault(sid, DaySums()).add(s)
                    provs[sid] += prov  # a group is one subject's (a worker-day, an office-date)
        n += len(group)
        if progress is not None and n % BATCH < len(group):
            progress(n)
    return {k: (sums, dict(provs)) for k, (sums, provs) in out.items()}


# ----------------------------------------------------------------------------- state


def _state(session: Session, township_id: str, label: str, *, lock: bool = False
           ) -> PeriodSumState | None:
    q = sa.select(PeriodSumState).where(PeriodSumState.township_id == township_id,
                                        PeriodSumState.period == label)
    if lock:
        q = q.with_for_update()
    return session.scalars(q).first()


def new_stamp() -> int:
    """A new version stamp: random, not a counter, so that a change rolled back and another
    one made after it can never share a stamp (readers cache by it)."""
    return secrets.randbelow(2**31 - 2) + 1


def _current(state: PeriodSumState | None, profile: Profile) -> bool:
    return state is not None and (state.profile, state.profile_version) == (profile.id, profile.version)


def _locked_state(session: Session | OrmSession, township_id: str, label: str
                  ) -> PeriodSumState:
    """The state row of a period, locked; created (not built: no profile) if missing.

    Created with INSERT ... ON CONFLICT DO NOTHING, then locked: two sessions saving the first
    day of a period wait for each other here instead of both building it and one failing on
    the unique key (or both inserting the same ``period_sum`` rows).
    """
    session.execute(dialect_insert(session, PeriodSumState.__table__).values(
        township_id=township_id, period=label, profile="", profile_version=0, version=0,
        built_at=dt.datetime.now(dt.UTC)).on_conflict_do_nothing(
        index_elements=["township_id", "period"]))
    state = _state(session, township_id, label, lock=True)
    assert state is not None  # inserted above or by a concurrent session that committed
    return state


def build(session: Session | OrmSession, township_id: str, label: str, profile: Profile,
          progress: Callable[[int], None] | None = None, *,
          state: PeriodSumState | None = None) -> PeriodSumState:
    """(Re)build the sums of one period from the stored days; its state row (not flushed).

    Streaming: memory holds one batch of day rows and the sums (one small object a subject).
    """
    states = {label: state} if state is not None else None
    return build_periods(session, township_id, [label], profile, progress, states=states)[label]


def build_periods(session: Session | OrmSession, township_id: str, labels: Sequence[str],
                  profile: Profile, progress: Callable[[int], None] | None = None, *,
                  states: Mapping[str, PeriodSumState] | None = None
                  ) -> dict[str, PeriodSumState]:
    """:func:`build` of several periods in one pass over their days (a quarter and its
    months read once)."""
    labels = list(dict.fromkeys(labels))
    got = dict(states or {})
    for label in labels:
        if label not in got:
            got[label] = _locked_state(session, township_id, label)
    folded = fold_periods(session, township_id, labels, profile, progress)
    for label in labels:
        sums, prov = folded[label]
        session.execute(sa.delete(PeriodSum).where(PeriodSum.township_id == township_id,
                                                   PeriodSum.period == label))
        rows = [{"township_id": township_id, "period": label, "subject_id": sid,
                 "sums": s.to_json(), "provisional": prov.get(sid, 0)}
                for sid, s in sorted(sums.items())]
        for i in range(0, len(rows), BATCH):
            session.execute(sa.insert(PeriodSum), rows[i:i + BATCH])
        state = got[label]
        state.profile, state.profile_version = profile.id, profile.version
        state.version = new_stamp()
        state.built_at = dt.datetime.now(dt.UTC)
    return {label: got[label] for label in labels}


@dataclass
class Stored:
    """The stored sums of some periods of a township: per label, per subject."""

    sums: dict[str, dict[str, DaySums]]
    provisional: dict[str, int]
    versions: tuple[int, ...]

    def days(self) -> int:
        """The number of day results summed (over every label)."""
        return sum(s.days for by in self.sums.values() for s in by.values())


def load(session: Session, township_id: str, labels: Sequence[str], profile: Profile,
         subjects: Iterable[str] | None = None) -> Stored:
    """The sums of ``labels`` (folded from the days where not built or under another profile).

    ``subjects``: only these subjects' rows (one sheet); the default is the whole township.
    """
    sums: dict[str, dict[str, DaySums]] = {}
    prov: dict[str, int] = {}
    versions = []
    wanted = None if subjects is None else sorted(set(subjects))
    states = {label: _state(session, township_id, label) for label in labels}
    # not built yet (the first save of a day builds it): folded here, not stored, so a read
    # never writes; in one pass for all such labels
    missing = [label for label in labels if not _current(states[label], profile)]
    folded = fold_periods(session, township_id, missing, profile) if missing else {}
    for label in labels:
        state = states[label]
        if label in folded:
            f_sums, p = folded[label]
            sums[label] = {sid: x for sid, x in f_sums.items()
                           if wanted is None or sid in wanted}
            prov[label] = sum(v for sid, v in p.items() if wanted is None or sid in wanted)
            versions.append(0)
            continue
        versions.append(state.version)
        q = sa.select(PeriodSum.subject_id, PeriodSum.sums, PeriodSum.provisional).where(
            PeriodSum.township_id == township_id, PeriodSum.period == label)
        if wanted is not None:
            q = q.where(PeriodSum.subject_id.in_(wanted))
        by: dict[str, DaySums] = {}
        for sid, doc, p in session.execute(q):
            by[sid] = DaySums.from_json(doc)
            prov[label] = prov.get(label, 0) + (p or 0)
        sums[label] = by
    return Stored(sums, prov, tuple(versions))


def versions(session: Session, township_id: str, labels: Sequence[str]) -> tuple[int, ...]:
    """The current versions of the sums of ``labels`` (0: not built)."""
    got = dict(session.execute(sa.select(PeriodSumState.period, PeriodSumState.version).where(
        PeriodSumState.township_id == township_id, PeriodSumState.period.in_(list(labels)))).all())
    return tuple(got.get(label, 0) for label in labels)


# ----------------------------------------------------------------------------- saving days


@dataclass(frozen=True)
class DayChange:
    """A day result as it was (None: new) and as it is now (None: deleted)."""

    worker_id: str
    date: dt.date
    old: Mapping[str, Any] | None
    old_provisional: bool
    new: Mapping[str, Any] | None
    new_provisional: bool


@event.listens_for(OrmSession, "before_flush")
def _day_results_flushed(session: OrmSession, _ctx: Any, _instances: Any) -> None:
    """Every ORM write of a ``day_result`` (new, changed result or provisional, deleted)
    changes the sums in the same flush, so in the same transaction as the write."""
    new = [o for o in session.new if isinstance(o, DayResult)]
    dirty = [o for o in session.dirty if isinstance(o, DayResult) and _changed(o)]
    gone = [o for o in session.deleted if isinstance(o, DayResult)]
    if not (new or dirty or gone):
        return
    old: dict[int, tuple[Any, bool]] = {}
    for o in (*dirty, *gone):  # the old values the session loaded, if it did
        attrs = sa.inspect(o).attrs
        r, p = attrs.result.history, attrs.provisional.history
        if o.id is not None and (r.deleted or r.unchanged) and (p.deleted or p.unchanged):
            old[o.id] = ((r.deleted or r.unchanged)[0], bool((p.deleted or p.unchanged)[0]))
    ids = [o.id for o in (*dirty, *gone) if o.id is not None and o.id not in old]
    for i in range(0, len(ids), 5000):  # the database still holds the old values here
        for rid, result, prov in session.execute(
                sa.select(DayResult.id, DayResult.result, DayResult.provisional)
                .where(DayResult.id.in_(ids[i:i + 5000]))):
            old[rid] = (result, bool(prov))
    changes = [DayChange(o.worker_id, o.work_date, None, False, o.result, bool(o.provisional))
               for o in new]
    for o in dirty:
        was = old.get(o.id, (None, False))
        changes.append(DayChange(o.worker_id, o.work_date, was[0], was[1], o.result, bool(o.provisional)))
    for o in gone:
        was = old.get(o.id, (None, False))
        changes.append(DayChange(o.worker_id, o.work_date, was[0], was[1], None, False))
    days_saved(session, changes)


# columns of day_result that no sum reads: bulk writes of only these keep the sums valid
_NOT_SUMMED = frozenset({"needs_reevaluation", "evaluated_at"})


@event.listens_for(OrmSession, "do_orm_execute")
def _day_results_bulk_written(state: Any) -> None:
    """A bulk INSERT/UPDATE/DELETE of ``day_result`` through a session (``session.execute(
    sa.update(DayResult)...)``) bypasses the flush hook: every stored period is marked not built
    in the same transaction (reads fold the days again, the next save of a day rebuilds its
    periods, ``gridpatrol score --verify-period P --rebuild`` rebuilds them at once).

    Marking the re-evaluation flag (``needs_reevaluation``) changes no sum and is let through.
    Writes through a bare connection or raw SQL are not seen here: run the verify after them.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) != DayResult.__tablename__:
        return
    if state.is_update:
        keys = {getattr(k, "key", k) for k in (getattr(state.statement, "_values", None) or {})}
        params = state.parameters
        for p in (params if isinstance(params, list) else [params] if params else []):
            keys |= {k for k in p if k not in ("id", "worker_id", "work_date")}
        if keys and keys <= _NOT_SUMMED:
            return
    mark_stale(state.session)


def mark_stale(session: Session | OrmSession, township_id: str | None = None) -> int:
    """Mark every stored period (of one township) not built; the number of periods marked."""
    q = sa.update(PeriodSumState.__table__).values(profile="", profile_version=0, version=0)
    if township_id is not None:
        q = q.where(PeriodSumState.township_id == township_id)
    return session.connection().execute(q).rowcount or 0


def _changed(o: DayResult) -> bool:
    attrs = sa.inspect(o).attrs
    return attrs.result.history.has_changes() or attrs.provisional.history.has_changes()


def days_saved(session: Session | OrmSession, changes: Sequence[DayChange]) -> int:
    """Apply the delta of day results being saved to the built period sums; the rows changed.

    Called before the flush that writes them (the database still holds the old days).
    """
    if not changes:
        return 0
    workers = sorted({c.worker_id for c in changes})
    where: dict[str, tuple[str, str, str | None]] = {}
    q = (sa.select(Worker.worker_id, Worker.village_id, Village.township_id, Township.profile)
         .join(Village, Village.village_id == Worker.village_id)
         .join(Township, Township.township_id == Village.township_id))
    wanted = set(workers)
    # a nightly run saves thousands of workers: the whole roster in one read is cheaper than
    # statements with thousands of parameters
    chunks = [None] if len(workers) > SMALL else [workers]
    for chunk in chunks:
        for wid, vid, tid, prof in session.execute(
                q if chunk is None else q.where(Worker.worker_id.in_(chunk))):
            if wid in wanted:
                where[wid] = (vid, tid, prof)
    by_town: dict[str, list[DayChange]] = defaultdict(list)
    for c in changes:
        if c.worker_id in where:
            by_town[where[c.worker_id][1]].append(c)
    n = 0
    for tid, town_changes in sorted(by_town.items()):
        profile = profile_named(where[town_changes[0].worker_id][2])
        labels = sorted({p.label for c in town_changes for p in sum_periods(profile, c.date)})
        built = {label: _locked_state(session, tid, label) for label in labels}
        stale = [label for label in labels if not _current(built[label], profile)]
        if stale:
            # the first save in a period (or under a new profile) builds it from the days
            # as stored so far (cheap at the start of a period); this save's delta follows
            built.update(build_periods(session, tid, stale, profile,
                                       states={lab: built[lab] for lab in stale}))
        delta = _delta(session, profile, town_changes, where)
        n += _apply(session, tid, built, delta)
    return n


def _delta(session: Session | OrmSession, profile: Profile, changes: Sequence[DayChange],
           where: Mapping[str, tuple[str, str, str | None]]
           ) -> dict[tuple[str, str], tuple[DaySums, int]]:
    """(period label, subject) -> (sums to add, provisional to add) for ``changes``."""
    out: dict[tuple[str, str], tuple[DaySums, int]] = {}

    def add(date: dt.date, sums: Mapping[str, DaySums], sign: int, prov: Mapping[str, int]) -> None:
        for per in sum_periods(profile, date):
            for sid in set(sums) | set(prov):
                cur, p = out.get((per.label, sid), (DaySums(), 0))
                if sid in sums:
                    cur.add(sums[sid], sign)
                out[(per.label, sid)] = (cur, p + sign * prov.get(sid, 0))

    if not office_profile(profile):
        for c in changes:
            vid = where[c.worker_id][0]
            if c.old is not None:
                add(c.date, day_sums(profile, [_scored(c.old, vid, c.worker_id, c.date)]), -1,
                    {c.worker_id: int(c.old_provisional)})
            if c.new is not None:
                add(c.date, day_sums(profile, [_scored(c.new, vid, c.worker_id, c.date)]), 1,
                    {c.worker_id: int(c.new_provisional)})
        return out
    # an office profile: the office's days of the date before and after, as whole groups
    by_group: dict[tuple[str, dt.date], dict[str, DayChange]] = defaultdict(dict)
    for c in changes:
        by_group[(where[c.worker_id][0], c.date)][c.worker_id] = c
    for (vid, date), mine in sorted(by_group.items()):
        stored = {w: r for w, r in session.execute(
            sa.select(DayResult.worker_id, DayResult.result)
            .join(Worker, Worker.worker_id == DayResult.worker_id)
            .where(Worker.village_id == vid, DayResult.work_date == date))}
        before = [_scored(r, vid, w, date) for w, r in sorted(stored.items())]
        now_entries = {**stored, **{w: c.new for w, c in mine.items()}}
        now = [_scored(r, vid, w, date) for w, r in sorted(now_entries.items())
               if r is not None]
        prov_old = sum(int(c.old_provisional) for c in mine.values() if c.old is not None)
        prov_new = sum(int(c.new_provisional) for c in mine.values() if c.new is not None)
        add(date, day_sums(profile, before), -1, {vid: prov_old})
        add(date, day_sums(profile, now), 1, {vid: prov_new})
    return out


def _apply(session: Session | OrmSession, township_id: str, built: Mapping[str, PeriodSumState],
           delta: Mapping[tuple[str, str], tuple[DaySums, int]]) -> int:
    """Add ``delta`` to the stored rows: locked, then written back in bulk.

    Missing rows are first inserted empty (ON CONFLICT DO NOTHING): a concurrent session
    creating the same row makes this one wait, then both add their delta to the locked row
    instead of one failing on the unique key or overwriting the other.
    """
    keys = sorted(k for k in delta if k[0] in built)
    if not keys:
        return 0
    t = PeriodSum.__table__
    by_label: dict[str, list[str]] = defaultdict(list)
    for label, sid in keys:
        by_label[label].append(sid)
    rows: dict[tuple[str, str], tuple[int, dict[str, Any], int]] = {}

    def read(label: str, sids: list[str]) -> None:
        q = sa.select(t.c.id, t.c.subject_id, t.c.sums, t.c.provisional).where(
            t.c.township_id == township_id, t.c.period == label)
        wanted = set(sids)
        if len(sids) <= SMALL:  # else the whole period (one subject a row): fewer parameters
            q = q.where(t.c.subject_id.in_(sids))
        for rid, sid, doc, prov in session.execute(q.with_for_update()):
            if sid in wanted:
                rows[(label, sid)] = (rid, doc, prov or 0)

    for label, sids in sorted(by_label.items()):
        read(label, sids)
        missing = [sid for sid in sids if (label, sid) not in rows]
        if missing:
            empty = DaySums().to_json()
            for i in range(0, len(missing), BATCH):
                session.execute(dialect_insert(session, t).on_conflict_do_nothing(
                    index_elements=["township_id", "period", "subject_id"]),
                    [{"township_id": township_id, "period": label, "subject_id": sid,
                      "sums": empty, "provisional": 0} for sid in missing[i:i + BATCH]])
            read(label, missing)
    # every row exists and is locked now: written back by key in one executemany
    out = []
    for key in keys:
        add, prov = delta[key]
        rid, doc, p = rows[key]
        out.append({"rid": rid, "new_sums": DaySums.from_json(doc).add(add).to_json(),
                    "new_prov": p + prov})
    upd = (sa.update(t).where(t.c.id == sa.bindparam("rid"))
           .values(sums=sa.bindparam("new_sums", type_=t.c.sums.type),
                   provisional=sa.bindparam("new_prov")))
    for i in range(0, len(out), BATCH):
        session.execute(upd, out[i:i + BATCH])
    for label in by_label:
        built[label].version = new_stamp()
    return len(keys)


# ----------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class Difference:
    """A subject whose stored sums differ from a recomputation (None: no row)."""

    period: str
    subject_id: str
    stored: dict[str, Any] | None
    computed: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"period": self.period, "subject_id": self.subject_id, "stored": self.stored,
                "computed": self.computed}


def verify(session: Session, township_id: str, labels: Sequence[str], profile: Profile,
           progress: Callable[[int], None] | None = None) -> list[Difference]:
    """Recompute ``labels`` from the stored days and list the subjects whose sums differ.

    A period not built (or built under another profile) has nothing stored to be wrong (its
    reads fold the days): skipped here, listed by :func:`verify_period`.
    """
    out: list[Difference] = []
    labels = [label for label in labels if _current(_state(session, township_id, label), profile)]
    folded = fold_periods(session, township_id, labels, profile, progress)
    for label in labels:
        computed, prov = folded[label]
        stored = {sid: (DaySums.from_json(doc), p) for sid, doc, p in session.execute(
            sa.select(PeriodSum.subject_id, PeriodSum.sums, PeriodSum.provisional).where(
                PeriodSum.township_id == township_id, PeriodSum.period == label))}
        for sid in sorted(set(computed) | set(stored)):
            c = computed.get(sid) or DaySums()
            s, p = stored.get(sid, (DaySums(), 0))
            if not s.same(c) or p != prov.get(sid, 0):
                out.append(Difference(label, sid, {**s.to_json(), "provisional": p} if sid in stored else None,
                                      {**c.to_json(), "provisional": prov.get(sid, 0)}
                                      if sid in computed else None))
    return out


def stored_labels(profile: Profile, period: Period) -> list[str]:
    """Every period kept in sums that lies inside ``period`` (2026Q1: the quarter, its months)."""
    labels = {p.label for m in period.sub_periods("month") for p in sum_periods(profile, m.start)
              if period.covers(p)}
    return sorted(labels)


def verify_period(session: Session, label: str, township_id: str | None = None, *,
                  rebuild: bool = False, progress: Callable[[int], None] | None = None
                  ) -> dict[str, Any]:
    """``gridpatrol score --verify-period``: every township (or one), every stored period inside
    ``label``; ``rebuild``: build the periods that differ, or were never built, again (the
    caller commits). Periods not built are listed (``not_built``), not counted as differences."""
    period = parse_period(label)
    q = sa.select(Township.township_id, Township.profile).order_by(Township.township_id)
    if township_id is not None:
        q = q.where(Township.township_id == township_id)
    towns = session.execute(q).all()
    if township_id is not None and not towns:
        raise SumsError(f"no township {township_id!r}")
    out: dict[str, Any] = {"period": period.label, "townships": [], "differences": 0, "rebuilt": []}
    for tid, name in towns:
        profile = profile_named(name)
        labels = stored_labels(profile, period)
        built = [lab for lab in labels if _current(_state(session, tid, lab), profile)]
        diffs = verify(session, tid, built, profile, progress)
        not_built = [lab for lab in labels if lab not in built]
        out["townships"].append({"township_id": tid, "profile": f"{profile.id} v{profile.version}",
                                 "periods": built, "not_built": not_built,
                                 "differences": [d.to_json() for d in diffs]})
        out["differences"] += len(diffs)
        if rebuild:
            again = sorted({d.period for d in diffs} | set(not_built))
            if again:
                build_periods(session, tid, again, profile, progress)
                out["rebuilt"].extend(f"{tid}/{lab}" for lab in again)
    session.flush()
    return out
