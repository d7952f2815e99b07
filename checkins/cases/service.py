"""Cases (事件): report, accept or reject, dispatch, acknowledge, arrive, resolve, close.

Every transition is checked against :data:`TRANSITIONS` and written to the audit log
(entity ``case``, who/when/why, status before and after); the case page's history is read
back from there. Locations arrive in their datum and are stored in WGS-84 (GEO-CRS); a case
is tagged with the grid containing it by the ingest's grid index (the one grid-tagging
helper). A worker sees only the cases they reported and the instructions sent to them; a
village office only its village's cases (:func:`scope_of`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from checkins.audit.models import AuditLog
from checkins.audit.service import write_audit
from checkins.cases.models import DEFAULT_CATEGORIES, Case, CaseCategory, CaseInstruction
from checkins.db.base import DATUMS, utc_now
from checkins.positions.ingest import grid_index
from checkins.township.models import Grid, Village, Worker
from geo import crs
from geo.types import CaseRecord

# status -> statuses it may go to (rejected and closed are final)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "reported": ("accepted", "rejected"),
    "accepted": ("dispatched", "resolved", "closed", "rejected"),
    "dispatched": ("dispatched", "arrived", "resolved", "closed"),
    "arrived": ("dispatched", "resolved", "closed"),
    "resolved": ("closed", "dispatched"),
    "closed": (),
    "rejected": (),
}
STATUS_WORDS = {"reported": "已上报", "accepted": "已受理", "dispatched": "已派单", "arrived": "已到场",
                "resolved": "已处置", "closed": "已办结", "rejected": "无效"}
OPEN_STATUSES = ("reported", "accepted", "dispatched", "arrived", "resolved")


class CaseNotFound(LookupError):
    """No such case or instruction *for this caller* (another's id looks the same)."""


class CaseInvalid(ValueError):
    """A well-formed request that cannot be done; names the field (a 4xx)."""

    def __init__(self, code: str, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status


@dataclass(frozen=True)
class Scope:
    """Whose cases a caller sees: every village (None) or one village."""

    village_id: str | None = None


# ------------------------------------------------------------------ categories
def township_of_worker(session: Session, worker_id: str) -> str:
    """The township of a worker (through the village)."""
    tid = session.scalar(sa.select(Village.township_id).join(Worker, Worker.village_id == Village.village_id)
                         .where(Worker.worker_id == worker_id))
    if tid is None:
        raise CaseNotFound(worker_id)
    return str(tid)


def default_township(session: Session) -> str | None:
    """The first township (one deployment has one)."""
    return session.scalar(sa.select(Village.township_id).order_by(Village.township_id).limit(1))


def categories(session: Session, township_id: str) -> list[str]:
    """The township's active categories in order; the defaults are created on first use."""
    rows = session.scalars(sa.select(CaseCategory).where(CaseCategory.township_id == township_id)
                           .order_by(CaseCategory.sort, CaseCategory.id)).all()
    if not rows:
        try:
            with session.begin_nested():
                for i, name in enumerate(DEFAULT_CATEGORIES):
                    session.add(CaseCategory(township_id=township_id, name=name, sort=i))
                session.flush()
        except IntegrityError:  # a parallel request created them first: theirs are the same
            pass
        return list(DEFAULT_CATEGORIES)
    return [r.name for r in rows if r.active]


def set_categories(session: Session, township_id: str, names: Sequence[str], *, actor: str) -> list[str]:
    """Replace the township's list: names kept in the given order, others deactivated (old
    cases keep their category)."""
    clean = [n.strip() for n in names if n.strip()]
    if not clean:
        raise CaseInvalid("validation_failed", "at least one category is needed", "categories")
    if len(set(clean)) != len(clean) or any(len(n) > 32 for n in clean):
        raise CaseInvalid("validation_failed", "categories must be distinct, at most 32 characters", "categories")
    before = categories(session, township_id)
    rows = {r.name: r for r in session.scalars(sa.select(CaseCategory).where(
        CaseCategory.township_id == township_id))}
    for r in rows.values():
        r.active = False
    for i, n in enumerate(clean):
        row = rows.get(n) or CaseCategory(township_id=township_id, name=n)
        row.sort, row.active = i, True
        session.add(row)
    session.flush()
    write_audit(session, actor=actor, action="case_category.set", entity="case_category",
                entity_id=township_id, before={"categories": before}, after={"categories": clean})
    return clean


# ------------------------------------------------------------------ places
def to_wgs84(lon: float, lat: float, datum: str, field: str = "datum") -> tuple[float, float]:
    """A point in its datum -> WGS-84 (GEO-CRS: the datum is never guessed)."""
    if datum not in DATUMS:
        raise CaseInvalid("unknown_datum", f"datum must be one of {', '.join(DATUMS)}", field)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or (lon == 0 and lat == 0):
        raise CaseInvalid("out_of_range", "lon/lat out of range", "lon")
    a, b = crs.to_wgs84(np.array([lon]), np.array([lat]), datum)
    return float(a[0]), float(b[0])


def grid_at(session: Session, lon: float, lat: float) -> Grid | None:
    """The grid containing a WGS-84 point (the ingest's grid index), or None."""
    gid = grid_index(session).tag(np.array([lon]), np.array([lat]))[0]
    return None if gid is None else session.get(Grid, gid)


# ------------------------------------------------------------------ audit
def _audit(session: Session, case: Case, action: str, actor: str, before: str | None,
           reason: str | None, at: dt.datetime, **more: Any) -> None:
    write_audit(session, actor=actor, action=f"case.{action}", entity="case", entity_id=str(case.id),
                reason=reason, before=None if before is None else {"status": before},
                after={"status": case.status, "at": at.isoformat(), **more})


def _move(session: Session, case: Case, to: str, *, actor: str, reason: str | None, at: dt.datetime,
          action: str | None = None, **more: Any) -> None:
    if to not in TRANSITIONS[case.status]:
        raise CaseInvalid("invalid_transition",
                          f"case {case.id} is {case.status}; it cannot become {to}", "status", status=409)
    before = case.status
    case.status, case.updated_at = to, at
    session.add(case)
    session.flush()
    _audit(session, case, action or to, actor, before, reason, at, **more)


# ------------------------------------------------------------------ phone: report
def find_report(session: Session, worker_id: str, client_id: str | None) -> Case | None:
    """The case this worker already reported under ``client_id`` (a resend), if any."""
    if client_id is None:
        return None
    return session.scalar(sa.select(Case).where(Case.reporter_id == worker_id, Case.client_id == client_id))


def check_report(session: Session, *, worker_id: str, category: str, lon: float, lat: float, datum: str,
                 reported_at: dt.datetime, max_ahead_s: float = 300.0) -> tuple[float, float]:
    """Refuse a report that cannot be stored (before its photos are written); its WGS-84 point."""
    if reported_at.tzinfo is None:
        raise CaseInvalid("missing_utc_offset", "reported_at needs a UTC offset", "reported_at")
    if (reported_at - utc_now()).total_seconds() > max_ahead_s:
        raise CaseInvalid("device_time_in_future", "reported_at is ahead of the server's time", "reported_at")
    if category not in categories(session, township_of_worker(session, worker_id)):
        raise CaseInvalid("unknown_category", f"category {category!r} is not in the township's list", "category")
    return to_wgs84(lon, lat, datum)


def report_case(session: Session, *, worker_id: str, device_id: int | None, client_id: str | None,
                category: str, text: str, lon: float, lat: float, datum: str,
                reported_at: dt.datetime, photos: list[dict[str, Any]] | None = None,
                address: str | None = None, max_ahead_s: float = 300.0) -> tuple[Case, bool]:
    """Store a worker's report; ``(case, duplicate)``. A resend with the same client id
    returns the stored case and stores nothing (offline phones resend until answered)."""
    seen = find_report(session, worker_id, client_id)
    if seen is not None:
        return seen, True
    now = utc_now()
    wlon, wlat = check_report(session, worker_id=worker_id, category=category, lon=lon, lat=lat,
                              datum=datum, reported_at=reported_at, max_ahead_s=max_ahead_s)
    grid = grid_at(session, wlon, wlat)
    village = grid.village_id if grid else session.scalar(
        sa.select(Worker.village_id).where(Worker.worker_id == worker_id))
    case = Case(reporter_id=worker_id, device_id=device_id, client_id=client_id, category=category,
                text=text, photos=photos or [], lon=lon, lat=lat, datum=datum,
                geom=shapely.Point(wlon, wlat), address=address, grid_id=grid.grid_id if grid else None,
                village_id=village, status="reported", reported_at=reported_at, received_at=now)
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:  # the same client id committed meanwhile by a parallel resend
        seen = find_report(session, worker_id, client_id)
        if seen is None:
            raise
        return seen, True
    _audit(session, case, "report", f"worker:{worker_id}", None, None, reported_at,
           category=category, grid_id=case.grid_id)
    return case, False


# ------------------------------------------------------------------ office: decide
def get_case(session: Session, case_id: int, scope: Scope) -> Case:
    """A case visible in ``scope`` (another village's case is not found)."""
    case = session.get(Case, case_id)
    if case is None or (scope.village_id is not None and case.village_id != scope.village_id):
        raise CaseNotFound(case_id)
    return case


def accept(session: Session, case_id: int, *, scope: Scope, actor: str, complex_: bool = False,
           reason: str | None = None, at: dt.datetime | None = None) -> Case:
    """受理: a valid report (NB-VOLUME counts it); ``complex_``: 15 days to close (YK-CASE-SLA)."""
    at = at or utc_now()
    case = get_case(session, case_id, scope)
    case.valid, case.accepted_at, case.complex = True, at, complex_
    _move(session, case, "accepted", actor=actor, reason=reason, at=at, complex=complex_)
    return case


def reject(session: Session, case_id: int, *, scope: Scope, actor: str, reason: str,
           at: dt.datetime | None = None) -> Case:
    """无效: not a valid report (not counted by NB-VOLUME); the reason is required."""
    if not reason.strip():
        raise CaseInvalid("reason_required", "say why the report is not valid", "reason")
    at = at or utc_now()
    case = get_case(session, case_id, scope)
    case.valid, case.rejected_at = False, at
    _move(session, case, "rejected", actor=actor, reason=reason, at=at)
    return case


def dispatch(session: Session, case_id: int, *, scope: Scope, actor: str, worker_id: str,
             lon: float | None = None, lat: float | None = None, datum: str = "wgs84",
             place_text: str | None = None, deadline_at: dt.datetime | None = None,
             note: str | None = None, at: dt.datetime | None = None,
             deadline_h: float = 24.0) -> CaseInstruction:
    """派单: send a worker to a place (default: the case's location) by a deadline. The
    worker must belong to the case's village when a village office dispatches."""
    at = at or utc_now()
    case = get_case(session, case_id, scope)
    worker = session.get(Worker, worker_id)
    if worker is None or not worker.active or (scope.village_id is not None and worker.village_id != scope.village_id):
        raise CaseInvalid("unknown_worker", f"no such worker {worker_id!r} here", "worker_id")
    if lon is None or lat is None:
        wlon, wlat = float(case.geom.x), float(case.geom.y)
        lon, lat, datum = wlon, wlat, "wgs84"
    else:
        wlon, wlat = to_wgs84(lon, lat, datum)
    deadline_at = deadline_at or at + dt.timedelta(hours=deadline_h)
    if deadline_at <= at:
        raise CaseInvalid("deadline_in_past", "the deadline must be after now", "deadline_at")
    if case.status == "reported":  # dispatching a report accepts it first
        accept(session, case.id, scope=scope, actor=actor, reason="派单时受理", at=at)  # type: ignore[arg-type]
    ins = CaseInstruction(case_id=case.id, worker_id=worker_id, lon=lon, lat=lat, datum=datum,  # type: ignore[arg-type]
                          geom=shapely.Point(wlon, wlat), place_text=place_text, note=note,
                          deadline_at=deadline_at, created_at=at, created_by=actor, status="sent")
    session.add(ins)
    session.flush()
    _move(session, case, "dispatched", actor=actor, reason=note, at=at, action="dispatch",
          worker_id=worker_id, instruction_id=ins.id, deadline_at=deadline_at.isoformat(),
          place=place_text)
    return ins


def close(session: Session, case_id: int, *, scope: Scope, actor: str, reason: str | None = None,
          at: dt.datetime | None = None) -> Case:
    """办结."""
    at = at or utc_now()
    case = get_case(session, case_id, scope)
    case.closed_at = at
    _move(session, case, "closed", actor=actor, reason=reason, at=at)
    return case


# ------------------------------------------------------------------ phone: instructions
def my_instruction(session: Session, worker_id: str, instruction_id: int) -> CaseInstruction:
    """One of *my* instructions (another worker's id is not found)."""
    ins = session.get(CaseInstruction, instruction_id)
    if ins is None or ins.worker_id != worker_id:
        raise CaseNotFound(instruction_id)
    return ins


def acknowledge(session: Session, worker_id: str, instruction_id: int,
                at: dt.datetime | None = None) -> CaseInstruction:
    """签收 (YK-CASE-SLA's acceptance by the worker); a repeat changes nothing."""
    ins = my_instruction(session, worker_id, instruction_id)
    if ins.acknowledged_at is not None or ins.status == "cancelled":
        return ins
    at = at or utc_now()
    ins.acknowledged_at, ins.status = at, "acknowledged"
    session.add(ins)
    case = session.get(Case, ins.case_id)
    assert case is not None
    _audit(session, case, "acknowledge", f"worker:{worker_id}", case.status, None, at, instruction_id=ins.id)
    return ins


def mark(session: Session, worker_id: str, instruction_id: int, what: str, *,
         photos: list[dict[str, Any]], text: str | None = None, at: dt.datetime | None = None) -> CaseInstruction:
    """The worker marks ``arrived`` (到场) or ``resolved`` (处置完毕) with at least one photo.
    A repeat of the same mark changes nothing (the first time counts)."""
    if what not in ("arrived", "resolved"):
        raise CaseInvalid("validation_failed", "arrived or resolved", "status")
    ins = my_instruction(session, worker_id, instruction_id)
    if getattr(ins, f"{what}_at") is not None:
        return ins
    if not photos:
        raise CaseInvalid("photo_required", "a photo of the place is required", "photos")
    at = at or utc_now()
    if ins.acknowledged_at is None:
        ins.acknowledged_at = at
    setattr(ins, f"{what}_at", at)
    ins.status = what
    ins.photos = [*(ins.photos or []), *({**p, "stage": what} for p in photos)]
    if text:
        ins.result_text = text
    session.add(ins)
    case = session.get(Case, ins.case_id)
    assert case is not None
    if what in TRANSITIONS[case.status]:
        _move(session, case, what, actor=f"worker:{worker_id}", reason=text, at=at, instruction_id=ins.id)
    else:  # the case moved on meanwhile (e.g. the office closed it): recorded, status kept
        _audit(session, case, what, f"worker:{worker_id}", case.status, text, at, instruction_id=ins.id)
    return ins


# ------------------------------------------------------------------ JSON
def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _photos(photos: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{k: p.get(k) for k in ("id", "content_type", "width", "height", "exif_taken_at", "stage")}
            for p in photos or []]


def case_json(case: Case) -> dict[str, Any]:
    """A case as the phone and the office API show it (WGS-84 position)."""
    return {"case_id": str(case.id), "client_id": case.client_id, "category": case.category,
            "text": case.text, "status": case.status, "status_text": STATUS_WORDS[case.status],
            "lon": float(case.geom.x), "lat": float(case.geom.y), "datum": "wgs84",
            "grid_id": case.grid_id, "village_id": case.village_id, "reporter_id": case.reporter_id,
            "complex": case.complex, "valid": case.valid, "reported_at": _iso(case.reported_at),
            "accepted_at": _iso(case.accepted_at), "closed_at": _iso(case.closed_at),
            "photos": _photos(case.photos)}


def instruction_json(ins: CaseInstruction, case: Case | None = None) -> dict[str, Any]:
    """An instruction as the phone shows it (the place in WGS-84)."""
    out = {"instruction_id": str(ins.id), "case_id": str(ins.case_id), "status": ins.status,
           "lon": float(ins.geom.x), "lat": float(ins.geom.y), "datum": "wgs84",
           "place_text": ins.place_text, "note": ins.note, "deadline_at": _iso(ins.deadline_at),
           "created_at": _iso(ins.created_at), "acknowledged_at": _iso(ins.acknowledged_at),
           "arrived_at": _iso(ins.arrived_at), "resolved_at": _iso(ins.resolved_at),
           "photos": _photos(ins.photos)}
    if case is not None:
        out["category"], out["text"] = case.category, case.text
    return out


def instruction_out(session: Session, ins: CaseInstruction) -> dict[str, Any]:
    """:func:`instruction_json` with its case's category and text."""
    return instruction_json(ins, session.get(Case, ins.case_id))


def my_cases(session: Session, worker_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The cases I reported, newest first."""
    rows = session.scalars(sa.select(Case).where(Case.reporter_id == worker_id)
                           .order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit))
    return [case_json(c) for c in rows]


def my_instructions(session: Session, worker_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The instructions sent to me, newest first."""
    rows = session.execute(sa.select(CaseInstruction, Case).join(Case, Case.id == CaseInstruction.case_id)
                           .where(CaseInstruction.worker_id == worker_id)
                           .order_by(CaseInstruction.created_at.desc(), CaseInstruction.id.desc())
                           .limit(limit)).all()
    return [instruction_json(i, c) for i, c in rows]


# ------------------------------------------------------------------ office: queue and page
@dataclass(frozen=True)
class SlaParams:
    """YK-CASE-SLA's clocks (profile ``params``) and when a clock shows 即将超时."""

    accept_within_h: float = 24.0
    close_within_d: float = 5.0
    close_complex_within_d: float = 15.0
    warn_share: float = 0.2  # the last 20% of a clock: about to breach

    @staticmethod
    def of(profile: Any) -> SlaParams | None:
        """From a scoring profile's YK-CASE-SLA rule; None if the profile has none."""
        rule = profile.rules.get("YK-CASE-SLA")
        if rule is None:
            return None
        p = rule.params
        return SlaParams(float(p["accept_within_h"]), float(p["close_within_d"]),
                         float(p["close_complex_within_d"]), float(p.get("warn_share", 0.2)))


def sla_clock(case: Case, now: dt.datetime, sla: SlaParams | None) -> dict[str, Any]:
    """The case's running clock: to accept (24 h), then to close (5 or 15 days), from the
    report. ``state``: ``ok``, ``soon`` (即将超时), ``breached`` (已超时) or ``done``."""
    if sla is None or case.status in ("closed", "rejected"):
        return {"state": "done", "due_at": None, "label": "—"}
    start = case.reported_at
    if case.status == "reported":
        span, what = dt.timedelta(hours=sla.accept_within_h), "受理"
    else:
        days = sla.close_complex_within_d if case.complex else sla.close_within_d
        span, what = dt.timedelta(days=days), "办结"
    due = start + span
    left = due - now
    if left.total_seconds() < 0:
        state, label = "breached", f"{what}已超时"
    elif left <= span * sla.warn_share:
        state, label = "soon", f"{what}即将超时"
    else:
        state, label = "ok", f"{what}时限内"
    return {"state": state, "due_at": due, "label": label, "what": what}


def scope_query(q: sa.Select, scope: Scope) -> sa.Select:
    """Restrict a case query to a scope."""
    return q if scope.village_id is None else q.where(Case.village_id == scope.village_id)


def list_cases(session: Session, scope: Scope, *, status: str | None = None, category: str | None = None,
               village_id: str | None = None, clock: str | None = None, now: dt.datetime | None = None,
               sla: SlaParams | None = None, limit: int = 200) -> list[tuple[Case, dict[str, Any]]]:
    """The queue: open cases first by due time; filters by status (``open`` = not closed or
    rejected), category, village and clock state."""
    now = now or utc_now()
    q = scope_query(sa.select(Case), scope)
    if status == "open":
        q = q.where(Case.status.in_(OPEN_STATUSES))
    elif status:
        q = q.where(Case.status == status)
    if category:
        q = q.where(Case.category == category)
    if village_id:
        q = q.where(Case.village_id == village_id)
    # open cases oldest first: every clock starts at the report, so the oldest are due first
    # and a long queue never hides a breached case behind newer ones
    urgent = status == "open" or clock is not None
    order = (Case.reported_at.asc(), Case.id.asc()) if urgent else (Case.reported_at.desc(), Case.id.desc())
    if clock:
        q = q.where(Case.status.in_(OPEN_STATUSES))
    rows = session.scalars(q.order_by(*order).limit(limit * 5 if clock else limit))
    out = [(c, sla_clock(c, now, sla)) for c in rows]
    if clock:
        out = [r for r in out if r[1]["state"] == clock][:limit]
    order = {"breached": 0, "soon": 1, "ok": 2, "done": 3}
    out.sort(key=lambda r: (order[r[1]["state"]], r[1]["due_at"] or now))
    return out


def instructions_of(session: Session, case_id: int) -> list[CaseInstruction]:
    """A case's instructions in order."""
    return list(session.scalars(sa.select(CaseInstruction).where(CaseInstruction.case_id == case_id)
                                .order_by(CaseInstruction.created_at, CaseInstruction.id)))


def history(session: Session, case_id: int) -> list[AuditLog]:
    """The case's transitions from the audit log, oldest first."""
    return list(session.scalars(sa.select(AuditLog).where(AuditLog.entity == "case",
                                                          AuditLog.entity_id == str(case_id))
                                .order_by(AuditLog.id)))


# ------------------------------------------------------------------ evaluation input
def case_records(session: Session, worker_ids: Iterable[str], start: dt.datetime,
                 end: dt.datetime) -> dict[str, list[CaseRecord]]:
    """The engine's case records of workers for [start, end): reports they made (NB-VOLUME,
    ``valid`` from the office's decision) and instructions sent to them (NB-ARRIVE, and
    YK-CASE-SLA with the worker's acknowledgement and resolution as acceptance and close)."""
    ids = list(worker_ids)
    out: dict[str, list[CaseRecord]] = {w: [] for w in ids}
    if not ids:
        return out
    for c in session.scalars(sa.select(Case).where(Case.reporter_id.in_(ids), Case.reported_at >= start,
                                                   Case.reported_at < end)):
        out[c.reporter_id].append(report_record(c))  # type: ignore[index]
    rows = session.execute(sa.select(CaseInstruction, Case).join(Case, Case.id == CaseInstruction.case_id)
                           .where(CaseInstruction.worker_id.in_(ids), CaseInstruction.created_at >= start,
                                  CaseInstruction.created_at < end,
                                  CaseInstruction.status != "cancelled")).all()
    for ins, c in rows:
        out[ins.worker_id].append(instruction_record(ins, c))
    for v in out.values():
        v.sort(key=lambda r: (r.created_at, r.case_id))
    return out


def grid_records(session: Session, worker_grids: dict[str, str | None], start: dt.datetime,
                 end: dt.datetime, categories: Iterable[str]) -> dict[str, list[CaseRecord]]:
    """The cases of ``categories`` reported in [start, end) inside each worker's grid by
    someone else (another worker, the office): YK-HAZARD / YK-SAFETY ask whether the worker
    reported them too (kind ``grid``)."""
    cats = sorted(set(categories))
    by_grid: dict[str, list[str]] = {}
    for w, g in worker_grids.items():
        if g is not None:
            by_grid.setdefault(g, []).append(w)
    out: dict[str, list[CaseRecord]] = {w: [] for w in worker_grids}
    if not cats or not by_grid:
        return out
    for c in session.scalars(sa.select(Case).where(Case.grid_id.in_(sorted(by_grid)), Case.category.in_(cats),
                                                   Case.reported_at >= start, Case.reported_at < end)
                             .order_by(Case.reported_at, Case.id)):
        for w in by_grid[c.grid_id]:  # type: ignore[index]
            if c.reporter_id != w:
                out[w].append(grid_record(c))
    return out


def grid_record(c: Case) -> CaseRecord:
    """A case found by others in a worker's grid, as that worker's record (kind ``grid``)."""
    return dataclasses.replace(report_record(c), kind="grid")


def report_record(c: Case) -> CaseRecord:
    """The engine's record of a report (NB-VOLUME; its reporter's day)."""
    return CaseRecord(case_id=str(c.id), kind="report", created_at=c.reported_at.timestamp(),
                      lon=float(c.geom.x), lat=float(c.geom.y), valid=c.valid,
                      accepted_at=_ts(c.accepted_at), closed_at=_ts(c.closed_at),
                      complex=c.complex, category=c.category)


def instruction_record(ins: CaseInstruction, c: Case) -> CaseRecord:
    """The engine's record of an instruction (NB-ARRIVE, YK-CASE-SLA; the worker's day): the
    worker's acknowledgement and resolution are its acceptance and close."""
    return CaseRecord(case_id=str(c.id), kind="instruction", created_at=ins.created_at.timestamp(),
                      lon=float(ins.geom.x), lat=float(ins.geom.y), valid=c.valid,
                      accepted_at=_ts(ins.acknowledged_at), closed_at=_ts(ins.resolved_at),
                      complex=c.complex, category=c.category)


def _ts(t: dt.datetime | None) -> float | None:
    return None if t is None else t.timestamp()


def local(t: dt.datetime | None, tz: str) -> str:
    """Local time for people (YYYY-MM-DD HH:MM)."""
    return "" if t is None else t.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
