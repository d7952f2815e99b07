"""Office decisions: exemptions, devices, flags. Each writes exactly one audit row.

A decision never edits a day result: it changes its own row (the exemption's status, the
device's status, a new ``flag_decision``), marks the affected worker-days
``needs_reevaluation`` and asks the evaluation flow (:mod:`checkins.evaluation.flows`) to evaluate them
again inside a savepoint. When the flow fails, the marks stay and the
scheduler's ``reevaluate_pending`` job picks the days up; the decision stands either way.
Callers check the office's village scope first (:class:`checkins.auth.office.OfficeScope`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.auth.models import Device
from checkins.evaluation.models import DayResult
from checkins.field.models import Exemption
from checkins.office.models import FLAG_KINDS, FlagDecision
from checkins.township.models import Township, Village, Worker

log = logging.getLogger("gridpatrol.decisions")

MAX_REEVALUATED_DAYS = 62  # a longer exemption re-evaluates its first 62 past days now
MIN_REASON_CHARS = 2


class DecisionError(ValueError):
    """A decision that cannot be taken: ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise DecisionError(422, "a reason is required")
    return text


def worker_timezone(session: Session, worker: Worker) -> str:
    """The timezone of the worker's township."""
    tz = session.scalar(sa.select(Township.timezone).join(
        Village, Village.township_id == Township.township_id)
        .where(Village.village_id == worker.village_id))
    return tz or "Asia/Shanghai"


def local_dates(start_at: dt.datetime, end_at: dt.datetime, tz: str,
                until: dt.date | None = None) -> list[dt.date]:
    """Local dates touched by ``[start_at, end_at)``, not after ``until``, at most 62."""
    z = ZoneInfo(tz)
    first = start_at.astimezone(z).date()
    last = (end_at - dt.timedelta(microseconds=1)).astimezone(z).date()
    if until is not None:
        last = min(last, until)
    out: list[dt.date] = []
    d = first
    while d <= last and len(out) < MAX_REEVALUATED_DAYS:
        out.append(d)
        d += dt.timedelta(days=1)
    return out


def reevaluate(session: Session, pairs: Sequence[tuple[str, dt.date]]) -> str:
    """Mark the worker-days and run the flow on them: ``evaluated``, ``pending`` or ``none``."""
    from checkins.evaluation.flows import evaluate_worker_days, mark_for_reevaluation

    pairs = sorted(set(pairs))
    if not pairs:
        return "none"
    mark_for_reevaluation(session, pairs)
    session.flush()
    try:
        with session.begin_nested():
            evaluate_worker_days(session, list(pairs))
    except Exception:  # the decision stands; the pending job retries the marked days
        log.exception("re-evaluation after a decision failed; left pending")
        return "pending"
    return "evaluated"


def _today(tz: str) -> dt.date:
    return dt.datetime.now(ZoneInfo(tz)).date()


def exemption_state(e: Exemption) -> dict[str, Any]:
    """The audited fields of an exemption."""
    return {"status": e.status, "decided_by": e.decided_by,
            "decided_at": e.decided_at.isoformat() if e.decided_at else None,
            "decision_reason": e.decision_reason, "worker_id": e.worker_id, "kind": e.kind,
            "start_at": e.start_at.isoformat(), "end_at": e.end_at.isoformat()}


def decide_exemption(session: Session, *, exemption_id: int, decision: str, reason: str | None,
                     actor: str) -> dict[str, Any]:
    """Approve or deny a leave, field-duty or special-case request; re-evaluate its days."""
    if decision not in ("approve", "deny"):
        raise DecisionError(422, "decision must be approve or deny")
    text = _reason(reason)
    e = session.scalars(sa.select(Exemption).where(  # its key is (worker_id, id)
        Exemption.id == exemption_id)).first()
    if e is None:
        raise DecisionError(404, f"exemption {exemption_id} not found")
    status = "approved" if decision == "approve" else "denied"
    if e.status == status:
        raise DecisionError(409, f"exemption {exemption_id} is already {status}")
    worker = session.get(Worker, e.worker_id)
    tz = worker_timezone(session, worker) if worker else "Asia/Shanghai"
    before = exemption_state(e)
    e.status = status
    e.decided_by = actor
    e.decided_at = dt.datetime.now(dt.UTC)
    e.decision_reason = text
    session.flush()
    days = local_dates(e.start_at, e.end_at, tz, until=_today(tz))
    after = exemption_state(e) | {"reevaluate": [d.isoformat() for d in days]}
    write_audit(session, actor=actor, action=f"exemption.{decision}", entity="exemption",
                entity_id=str(e.id), reason=text, before=before, after=after)
    outcome = reevaluate(session, [(e.worker_id, d) for d in days])
    return {"exemption_id": e.id, "status": e.status, "reevaluated_days": after["reevaluate"],
            "reevaluation": outcome}


def decide_device(session: Session, *, device_id: int, decision: str, reason: str | None,
                  actor: str) -> dict[str, Any]:
    """Approve or revoke a phone (through :mod:`checkins.auth.phone`, which writes the audit row)."""
    from checkins.auth.phone import approve_device, revoke_device

    if decision not in ("approve", "revoke"):
        raise DecisionError(422, "decision must be approve or revoke")
    text = _reason(reason)
    d = session.get(Device, device_id)
    if d is None:
        raise DecisionError(404, f"device {device_id} not found")
    target = "approved" if decision == "approve" else "revoked"
    if d.status == target:
        raise DecisionError(409, f"device {device_id} is already {target}")
    fn = approve_device if decision == "approve" else revoke_device
    d = fn(session, device_id=device_id, actor=actor, reason=text)
    return {"device_id": d.id, "status": d.status}


def flags_of(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The flags of one kind in a day result JSON, each with its ``key``."""
    if kind == "suspect":  # suspect fixes (by time), then GEO-SPOOF review flags (own key)
        return ([f | {"key": f["at"]} for f in result.get("suspect_fix_details") or []]
                + [dict(f) for f in result.get("spoof_flags") or []])
    return [f | {"key": f["start"]} for f in result.get("offpost") or []]


def flag_decisions_for(session: Session, worker_id: str, day: dt.date
                       ) -> dict[tuple[str, str], FlagDecision]:
    """The decision in force per ``(kind, flag_key)`` of a worker-day (the latest one)."""
    rows = session.scalars(sa.select(FlagDecision).where(
        FlagDecision.worker_id == worker_id, FlagDecision.work_date == day)
        .order_by(FlagDecision.decided_at, FlagDecision.id))
    return {(r.kind, r.flag_key): r for r in rows}


def decide_flag(session: Session, *, worker_id: str, day: dt.date, kind: str, key: str,
                decision: str, reason: str | None, actor: str) -> dict[str, Any]:
    """Confirm or dismiss a suspect-location fix or an off-post interval of a worker-day."""
    if kind not in FLAG_KINDS:
        raise DecisionError(422, f"kind must be one of {', '.join(FLAG_KINDS)}")
    if decision not in ("confirm", "dismiss"):
        raise DecisionError(422, "decision must be confirm or dismiss")
    text = _reason(reason)
    row = session.scalars(sa.select(DayResult).where(
        DayResult.worker_id == worker_id, DayResult.work_date == day)).first()
    flag = next((f for f in flags_of(row.result, kind) if f["key"] == key), None) if row else None
    if flag is None:
        raise DecisionError(404, f"no {kind} flag at {key} on {day} for {worker_id}")
    previous = flag_decisions_for(session, worker_id, day).get((kind, key))
    value = "confirmed" if decision == "confirm" else "dismissed"
    if previous is not None and previous.decision == value:
        raise DecisionError(409, f"flag already {value}")
    fd = FlagDecision(worker_id=worker_id, work_date=day, kind=kind, flag_key=key,
                      decision=value, reason=text, decided_by=actor)
    session.add(fd)
    session.flush()
    flag_plain = {k: v for k, v in flag.items() if k != "key"}
    before = {"flag": flag_plain, "decision": previous.decision if previous else None}
    after = {"flag": flag_plain, "decision": value, "flag_decision_id": fd.id}
    write_audit(session, actor=actor, action=f"flag.{decision}", entity="worker_day",
                entity_id=f"{worker_id}/{day.isoformat()}", reason=text, before=before,
                after=after)
    outcome = reevaluate(session, [(worker_id, day)])
    return {"flag_decision_id": fd.id, "kind": kind, "key": key, "decision": value,
            "reevaluation": outcome}
