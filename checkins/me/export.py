"""A worker's download of all data held about them (PIPL right of access and copy).

:func:`export_summary` returns everything except the raw positions: the worker record,
phones, login sessions, live alerts, sign-ins, patrols, patrol logs (photo metadata), requests and their decisions, flag
decisions, entered items, day results, the worker's sheets of stored period results, audit
rows about the worker or their requests and phones, and the number of stored positions per
local day. :func:`export_positions` returns every stored position (fix or heartbeat, with
its GEO-VALID / GEO-SPOOF marks) of one local day; a phone downloads the days listed.
Nothing here takes a worker id from a request: the caller passes the token's worker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.models import AuditLog
from checkins.auth.models import Device, MobileSession
from checkins.cases.models import Case, CaseInstruction
from checkins.evaluation.models import DayResult, FlagDecision
from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
from checkins.jobs.models import Alert
from checkins.positions.models import Position
from checkins.scores.models import EnteredItem, PeriodResult
from checkins.township.models import Township, Village, Worker
from geo.localtime import day_range

EXPORT_VERSION = 1
_SKIP = {"geom", "place", "password_hash", "token_hash"}


def _plain(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def _row(obj: Any) -> dict[str, Any]:
    out = {}
    for col in obj.__table__.columns:
        if col.name in _SKIP:
            continue
        out[col.name] = _plain(getattr(obj, col.name))
    if getattr(obj, "place", None) is not None:
        out["place_wgs84"] = [float(obj.place.x), float(obj.place.y)]
    return out


def _all(session: Session, model: Any, *where: Any, order: Any) -> list[dict[str, Any]]:
    return [_row(r) for r in session.scalars(sa.select(model).where(*where).order_by(order))]


def _timezone(session: Session, worker: Worker) -> str:
    tz = session.scalar(sa.select(Township.timezone).join(
        Village, Village.township_id == Township.township_id).where(
        Village.village_id == worker.village_id))
    return tz or "Asia/Shanghai"


def positions_by_day(session: Session, worker_id: str, timezone: str) -> dict[str, int]:
    """Number of stored positions per local day of ``worker_id`` (ISO date -> count)."""
    tz = ZoneInfo(timezone)
    counts: dict[str, int] = {}
    for (at,) in session.execute(sa.select(Position.recorded_at).where(
            Position.worker_id == worker_id)):
        day = at.astimezone(tz).date().isoformat()
        counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))


def export_summary(session: Session, worker_id: str) -> dict[str, Any]:
    """Everything held about ``worker_id`` except raw positions (listed per day)."""
    w = session.get(Worker, worker_id)
    if w is None:
        raise LookupError(worker_id)
    tz = _timezone(session, w)
    devices = _all(session, Device, Device.worker_id == worker_id, order=Device.id)
    exemptions = _all(session, Exemption, Exemption.worker_id == worker_id, order=Exemption.id)
    dev_ids = [str(d["id"]) for d in devices]
    ex_ids = [str(e["id"]) for e in exemptions]
    about_me = sa.or_(
        sa.and_(AuditLog.entity == "worker_day", AuditLog.entity_id.like(f"{worker_id}/%")),
        sa.and_(AuditLog.entity == "worker", AuditLog.entity_id == worker_id),
        sa.and_(AuditLog.entity == "device", AuditLog.entity_id.in_(dev_ids)),
        sa.and_(AuditLog.entity == "exemption", AuditLog.entity_id.in_(ex_ids)),
    )
    audit = [{k: v for k, v in r.items() if k not in ("prev_hash", "hash")}
             for r in _all(session, AuditLog, about_me, order=AuditLog.id)]
    sheets = []
    for pr in session.scalars(sa.select(PeriodResult).order_by(PeriodResult.id)):
        for s in (pr.result or {}).get("sheets", []):
            if s.get("subject_id") == worker_id:
                sheets.append({"period": pr.period, "status": pr.status,
                               "revision": pr.revision, "sheet": s})
    worker = _row(w)
    return {
        "export_version": EXPORT_VERSION,
        "generated_at": dt.datetime.now(dt.UTC).isoformat(),
        "worker": worker,
        "timezone": tz,
        "devices": devices,
        "signins": _all(session, Signin, Signin.worker_id == worker_id, order=Signin.id),
        "sessions": _all(session, MobileSession, MobileSession.worker_id == worker_id,
                         order=MobileSession.created_at),
        "alerts": _all(session, Alert, Alert.worker_id == worker_id, order=Alert.id),
        "patrols": _all(session, PatrolSession, PatrolSession.worker_id == worker_id,
                        order=PatrolSession.id),
        "patrol_logs": _all(session, PatrolLog, PatrolLog.worker_id == worker_id,
                            order=PatrolLog.id),
        "requests": exemptions,
        "cases": _all(session, Case, Case.reporter_id == worker_id, order=Case.id),
        "instructions": _all(session, CaseInstruction, CaseInstruction.worker_id == worker_id,
                             order=CaseInstruction.id),
        "flag_decisions": _all(session, FlagDecision, FlagDecision.worker_id == worker_id,
                               order=FlagDecision.id),
        "entered_items": _all(session, EnteredItem, EnteredItem.subject_id == worker_id,
                              order=EnteredItem.id),
        "day_results": _all(session, DayResult, DayResult.worker_id == worker_id,
                            order=DayResult.work_date),
        "period_sheets": sheets,
        "audit": audit,
        "positions_by_day": positions_by_day(session, worker_id, tz),
    }


def export_positions(session: Session, worker_id: str, day: dt.date | None) -> dict[str, Any]:
    """Every stored position of ``worker_id`` on local ``day`` (default today)."""
    w = session.get(Worker, worker_id)
    if w is None:
        raise LookupError(worker_id)
    tz = ZoneInfo(_timezone(session, w))
    day = day or dt.datetime.now(tz).date()
    lo, hi = day_range(day, tz)
    rows = []
    for p in session.scalars(sa.select(Position).where(
            Position.worker_id == worker_id, Position.recorded_at >= lo,
            Position.recorded_at < hi).order_by(Position.recorded_at, Position.id)):
        r = _row(p)
        r["lon_wgs84"] = float(p.geom.x) if p.geom is not None else None
        r["lat_wgs84"] = float(p.geom.y) if p.geom is not None else None
        rows.append(r)
    return {"date": day.isoformat(), "timezone": str(tz), "count": len(rows), "items": rows}
