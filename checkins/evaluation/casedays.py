"""Stored day results follow their cases: a case's change reaches the days that list it.

A day result carries the case records of its worker-day (``cases``, ``reports``: what
NB-ARRIVE, NB-VOLUME and YK-CASE-SLA are judged from; see docs/cases.md). When the office
accepts, rejects or closes a case, or the worker acknowledges or resolves an instruction,
the record in those days is patched in the same transaction (so the period sums, which
follow every ORM write of a day result, follow the case too):

* the case's report entry in its reporter's day, and each of its instruction entries in
  the instructed worker's day, get the record's new fields (valid, accepted/closed times,
  complexity, category); the day's ``reports`` counts are recounted;
* a report not yet listed in an evaluated day is added (a report needs no fixes);
* an instruction not yet listed (sent after its day was judged) marks the day for
  re-evaluation: its arrival is judged from the fixes (``needs_reevaluation``);
* a cancelled instruction is taken out of its day;
* the entries of cases found by others in the worker's grid (kind ``grid``, YK-HAZARD /
  YK-SAFETY) get the record's new fields, and whether the worker reported them too is
  judged again from the day's reports (a report added or rejected changes it). A grid case
  reported after its day was judged is picked up when the day is next judged.

Only the record fields change: arrivals (judged from the fixes) are kept. A day evaluated
without case records (no ``reports`` key) is left alone.

The changes are noted after each flush (the ids are known then) and applied right after it;
the patched day results are written by the next flush (at the latest the commit's).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from checkins.cases.models import Case, CaseInstruction
from checkins.cases.service import instruction_record, report_record
from checkins.evaluation.files import grid_near_m
from checkins.evaluation.models import DayResult
from checkins.township.models import GridAssignment, Township, Village, Worker
from checkins.township.profile import profile_named
from geo.arrival import cases_json, own_report_s
from geo.types import CaseRecord, CaseVerdict

# the record fields a status change can alter (cases_json's names)
RECORD_KEYS = ("valid", "accepted_at", "closed_at", "complex", "category")
CASE_ATTRS = ("valid", "accepted_at", "closed_at", "complex", "category", "reported_at")
INSTRUCTION_ATTRS = ("acknowledged_at", "resolved_at", "status")
_INFO = "gridpatrol_cases_changed"


def _changed(o: Any, attrs: Iterable[str]) -> bool:
    state = sa.inspect(o)
    return any(state.attrs[a].history.has_changes() for a in attrs)


@event.listens_for(OrmSession, "after_flush")
def _note(session: OrmSession, _ctx: Any) -> None:
    ids: set[int] = set()
    for o in (*session.new, *session.dirty):
        if isinstance(o, Case) and (o in session.new or _changed(o, CASE_ATTRS)):
            ids.add(o.id)  # type: ignore[arg-type]
        elif isinstance(o, CaseInstruction) and (o in session.new or _changed(o, INSTRUCTION_ATTRS)):
            ids.add(o.case_id)
    if ids:
        session.info.setdefault(_INFO, set()).update(i for i in ids if i is not None)


@event.listens_for(OrmSession, "after_flush_postexec")
def _apply(session: OrmSession, _ctx: Any) -> None:
    ids = session.info.pop(_INFO, None)
    if ids:
        cases_changed(session, sorted(ids))


def _local(t: float, tz: str) -> dt.date:
    return dt.datetime.fromtimestamp(t, ZoneInfo(tz)).date()


def cases_changed(session: OrmSession, case_ids: Iterable[int]) -> int:
    """Patch the stored days listing these cases (see the module text); the rows changed."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    cases = {c.id: c for c in session.scalars(sa.select(Case).where(Case.id.in_(ids)))}
    instructions = list(session.scalars(sa.select(CaseInstruction).where(CaseInstruction.case_id.in_(ids))))
    # the workers of the cases' grids list them as found by others (kind ``grid``)
    grid_ids = sorted({c.grid_id for c in cases.values() if c.grid_id})
    in_grid: dict[str, set[str]] = defaultdict(set)
    if grid_ids:
        for wid, gid in session.execute(sa.select(GridAssignment.worker_id, GridAssignment.grid_id)
                                        .where(GridAssignment.grid_id.in_(grid_ids))):
            in_grid[gid].add(wid)
    workers = sorted({c.reporter_id for c in cases.values() if c.reporter_id}
                     | {i.worker_id for i in instructions} | {w for ws in in_grid.values() for w in ws})
    tz_of: dict[str, str] = {}
    near_of: dict[str, float] = {}
    for wid, name in session.execute(
            sa.select(Worker.worker_id, Township.profile).join(Village, Village.village_id == Worker.village_id)
            .join(Township, Township.township_id == Village.township_id)
            .where(Worker.worker_id.in_(workers))):
        tz_of[wid] = profile_named(name).timezone
        near_of[wid] = grid_near_m(profile_named(name))
    # (worker, local date) -> the records of these cases that belong to that day; plus the
    # entries (kind, case id) every touched day must drop when no longer its own
    wanted: dict[tuple[str, dt.date], list[tuple[CaseRecord, bool]]] = defaultdict(list)
    for c in cases.values():
        if c.reporter_id in tz_of:
            rec = report_record(c)
            wanted[(c.reporter_id, _local(rec.created_at, tz_of[c.reporter_id]))].append((rec, True))  # type: ignore[index]
    for ins in instructions:
        if ins.worker_id in tz_of and ins.status != "cancelled":
            rec = instruction_record(ins, cases[ins.case_id])
            wanted[(ins.worker_id, _local(rec.created_at, tz_of[ins.worker_id]))].append((rec, True))
    grid_keys = sorted({(w, _local(c.reported_at.timestamp(), tz_of[w])) for c in cases.values()
                        for w in in_grid.get(c.grid_id or "", ()) if w in tz_of and w != c.reporter_id})
    keys = sorted(wanted) + grid_keys + sorted({(i.worker_id, _local(i.created_at.timestamp(), tz_of[i.worker_id]))
                                    for i in instructions if i.status == "cancelled" and i.worker_id in tz_of})
    n = 0
    for wid, date in dict.fromkeys(keys):
        row = session.scalars(sa.select(DayResult).where(DayResult.worker_id == wid,
                                                         DayResult.work_date == date)).first()
        if row is None or not isinstance(row.result, dict) or "reports" not in row.result:
            continue  # not judged yet, or judged without case records: the nightly run reads them
        reports = {str(c.id): report_record(c) for c in cases.values()}
        new, reeval = _patched(row.result, {str(i) for i in ids}, wanted.get((wid, date), []), tz_of[wid],
                               reports, near_of[wid])
        if new != row.result:
            row.result = new
            n += 1
        if reeval and not row.needs_reevaluation:
            row.needs_reevaluation = True
    return n


def _patched(result: dict[str, Any], touched: set[str], records: list[tuple[CaseRecord, bool]],
             tz: str, reports: dict[str, CaseRecord], near_m: float) -> tuple[dict[str, Any], bool]:
    """The day entry with the touched cases' entries brought up to date; and whether an
    instruction is missing (its arrival needs the engine)."""
    fresh = {(e["kind"], e["case_id"], e["created_at"]): e
             for e in cases_json([CaseVerdict(case=r) for r, _ in records], tz)}
    out, seen, reeval = [], set(), False
    for e in result.get("cases") or ():
        key = (e.get("kind"), str(e.get("case_id")), e.get("created_at"))
        if key[0] == "grid":  # found by others in the grid: its record's fields (own_report_s below)
            rec = reports.get(key[1])
            if rec is not None:
                g = cases_json([CaseVerdict(case=rec)], tz)[0]
                e = {**e, **{k: g[k] for k in RECORD_KEYS}}
            out.append(e)
        elif key[1] not in touched:
            out.append(e)
        elif key in fresh:
            seen.add(key)
            out.append({**e, **{k: fresh[key][k] for k in RECORD_KEYS}})
        # else: no longer this day's (a cancelled instruction, a report moved): dropped
    for key, e in fresh.items():
        if key in seen:
            continue
        if key[0] == "report":
            out.append(e)
        else:
            reeval = True
    out.sort(key=lambda e: (dt.datetime.fromisoformat(e["created_at"]).timestamp(), str(e["case_id"])))
    if any(e.get("kind") == "grid" for e in out):
        own = [_record(e) for e in out if e.get("kind") == "report"]
        out = [{**e, "own_report_s": own_report_s(_record(e), own, near_m)} if e.get("kind") == "grid" else e
               for e in out]
    reports = [e for e in out if e.get("kind") == "report"]
    valid = [str(e["case_id"]) for e in reports if e.get("valid") is True]
    rep = dict(result["reports"] or {})
    rep.update({"rule": "NB-VOLUME", "total": len(reports), "valid": len(valid), "valid_case_ids": valid})
    return {**result, "cases": out, "reports": rep}, reeval


def _record(e: dict[str, Any]) -> CaseRecord:
    """The record fields of a stored case entry (what own_report_s compares)."""
    return CaseRecord(case_id=str(e["case_id"]), kind=e["kind"],
                      created_at=dt.datetime.fromisoformat(e["created_at"]).timestamp(),
                      lon=e.get("lon"), lat=e.get("lat"), valid=e.get("valid"), category=e.get("category"))
