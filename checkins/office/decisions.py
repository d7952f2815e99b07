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
from checkins.evaluation.models import DayResult, FlagDecision
from checkins.field.models import Exemption
from checkins.township.models import Township, Village, Worker

log = logging.getLogger("gridpatrol.decisions")

MAX_REEVALUATED_DAYS = 62  # a longer exemption re-evaluates its first 62 past days now
MIN_REASON_CHARS = 2
STATUS_ZH = {"approved": "批准", "denied": "驳回", "revoked": "停用", "confirmed": "确认",
             "dismissed": "排除"}


# The kinds an office decides: the day entry's families of flags and the kinds inside them.
# ``crosspost`` (串岗, GEO-CROSSPOST) is an off-post interval with another grid: it is decided
# on its own kind and stored in the ``offpost`` family, keyed by its start, as the
# evaluation flow reads it (``apply_flag_decisions``).
DECIDED_KINDS = ("suspect", "offpost", "crosspost")
FLAG_FAMILY = {"suspect": "suspect", "offpost": "offpost", "crosspost": "offpost"}
MAX_BULK_FLAGS = 5000


class DecisionError(ValueError):
    """A decision that cannot be taken: ``status`` is the HTTP status to answer with,
    ``code`` a stable machine-readable string, the message Chinese (shown to the user)."""

    def __init__(self, status: int, message: str, code: str = "invalid",
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < MIN_REASON_CHARS:
        raise DecisionError(422, "请填写理由（至少 2 个字）", "reason_required", "reason")
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
        raise DecisionError(422, "决定只能是批准或驳回", "bad_decision", "decision")
    text = _reason(reason)
    e = session.scalars(sa.select(Exemption).where(  # its key is (worker_id, id)
        Exemption.id == exemption_id)).first()
    if e is None:
        raise DecisionError(404, f"申请 {exemption_id} 不存在", "not_found")
    status = "approved" if decision == "approve" else "denied"
    if e.status == status:
        raise DecisionError(409, f"申请 {exemption_id} 已经{STATUS_ZH[status]}", "already_decided")
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
        raise DecisionError(422, "决定只能是批准或停用", "bad_decision", "decision")
    text = _reason(reason)
    d = session.get(Device, device_id)
    if d is None:
        raise DecisionError(404, f"设备 {device_id} 不存在", "not_found")
    target = "approved" if decision == "approve" else "revoked"
    if d.status == target:
        raise DecisionError(409, f"设备 {device_id} 已经{STATUS_ZH[target]}", "already_decided")
    fn = approve_device if decision == "approve" else revoke_device
    d = fn(session, device_id=device_id, actor=actor, reason=text)
    return {"device_id": d.id, "status": d.status}


def flags_of(result: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The flags of one kind in a day result JSON, each with its ``key``.

    ``suspect``: suspect fixes (by time), then GEO-SPOOF review flags (own key); ``offpost``:
    every off-post interval including cross-post ones (by start); ``crosspost``: only those.
    """
    if kind == "suspect":
        return ([f | {"key": f["at"]} for f in result.get("suspect_fix_details") or []]
                + [dict(f) for f in result.get("spoof_flags") or []])
    out = [f | {"key": f["start"]} for f in result.get("offpost") or []]
    return [f for f in out if f.get("kind") == "crosspost"] if kind == "crosspost" else out


def flag_decisions_for(session: Session, worker_id: str, day: dt.date
                       ) -> dict[tuple[str, str], FlagDecision]:
    """The decision in force per ``(family, flag_key)`` of a worker-day (the latest one)."""
    rows = session.scalars(sa.select(FlagDecision).where(
        FlagDecision.worker_id == worker_id, FlagDecision.work_date == day)
        .order_by(FlagDecision.decided_at, FlagDecision.id))
    return {(r.kind, r.flag_key): r for r in rows}


def _check(kind: str, decision: str) -> str:
    if kind not in DECIDED_KINDS:
        raise DecisionError(422, "标记类型只能是 可疑定位(suspect)、脱岗(offpost) 或 串岗(crosspost)",
                            "bad_kind", "kind")
    if decision not in ("confirm", "dismiss"):
        raise DecisionError(422, "决定只能是确认或排除", "bad_decision", "decision")
    return "confirmed" if decision == "confirm" else "dismissed"


def _day_row(session: Session, worker_id: str, day: dt.date) -> DayResult | None:
    return session.scalars(sa.select(DayResult).where(
        DayResult.worker_id == worker_id, DayResult.work_date == day)).first()


def decide_flag(session: Session, *, worker_id: str, day: dt.date, kind: str, key: str,
                decision: str, reason: str | None, actor: str) -> dict[str, Any]:
    """Confirm or dismiss a suspect-location fix, an off-post or a cross-post (串岗) interval."""
    value = _check(kind, decision)
    text = _reason(reason)
    row = _day_row(session, worker_id, day)
    flag = next((f for f in flags_of(row.result, kind) if f["key"] == key), None) if row else None
    if flag is None:
        raise DecisionError(404, f"{worker_id} 在 {day} 没有 {key} 的这条标记", "not_found", "key")
    family = FLAG_FAMILY[kind]
    previous = flag_decisions_for(session, worker_id, day).get((family, key))
    if previous is not None and previous.decision == value:
        raise DecisionError(409, f"这条标记已经{STATUS_ZH[value]}", "already_decided")
    fd = FlagDecision(worker_id=worker_id, work_date=day, kind=family, flag_key=key,
                      decision=value, reason=text, decided_by=actor)
    session.add(fd)
    session.flush()
    flag_plain = {k: v for k, v in flag.items() if k != "key"}
    before = {"flag": flag_plain, "decision": previous.decision if previous else None}
    after = {"flag": flag_plain, "kind": kind, "decision": value, "flag_decision_id": fd.id}
    write_audit(session, actor=actor, action=f"flag.{decision}", entity="worker_day",
                entity_id=f"{worker_id}/{day.isoformat()}", reason=text, before=before,
                after=after)
    outcome = reevaluate(session, [(worker_id, day)])
    return {"flag_decision_id": fd.id, "kind": kind, "key": key, "decision": value,
            "reevaluation": outcome}


def decide_flags_bulk(session: Session, *, worker_id: str, day: dt.date, kind: str,
                      decision: str, reason: str | None, actor: str,
                      keys: Sequence[str] | None = None) -> dict[str, Any]:
    """Confirm or dismiss many flags of one worker-day with one reason (e.g. 146 mock fixes).

    ``keys``: the flags to decide (all must exist), or None for every flag of ``kind`` not
    already carrying this decision. One ``flag_decision`` row per flag (the evaluation reads
    them one by one) and ONE audit row ``flag.bulk_<decision>`` listing the keys decided and
    each one's previous decision; the day is re-evaluated once.
    """
    value = _check(kind, decision)
    text = _reason(reason)
    row = _day_row(session, worker_id, day)
    flags = {f["key"]: f for f in flags_of(row.result, kind)} if row else {}
    if keys is not None:
        missing = [k for k in keys if k not in flags]
        if missing:
            raise DecisionError(404, f"{worker_id} 在 {day} 没有这些标记：{', '.join(missing[:5])}",
                                "not_found", "keys")
        wanted = list(dict.fromkeys(keys))
    else:
        wanted = list(flags)
    if len(wanted) > MAX_BULK_FLAGS:
        raise DecisionError(422, f"一次最多处理 {MAX_BULK_FLAGS} 条标记", "too_many", "keys")
    family = FLAG_FAMILY[kind]
    previous = flag_decisions_for(session, worker_id, day)
    todo = [k for k in wanted if not (previous.get((family, k)) is not None
                                      and previous[(family, k)].decision == value)]
    if not todo:
        raise DecisionError(409, f"没有需要{STATUS_ZH[value]}的标记", "already_decided")
    rows = [FlagDecision(worker_id=worker_id, work_date=day, kind=family, flag_key=k,
                         decision=value, reason=text, decided_by=actor) for k in todo]
    session.add_all(rows)
    session.flush()
    before = {"decisions": {k: previous[(family, k)].decision if (family, k) in previous
                            else None for k in todo}}
    after = {"kind": kind, "decision": value, "keys": todo,
             "flag_decision_ids": [r.id for r in rows]}
    write_audit(session, actor=actor, action=f"flag.bulk_{decision}", entity="worker_day",
                entity_id=f"{worker_id}/{day.isoformat()}", reason=text, before=before,
                after=after)
    outcome = reevaluate(session, [(worker_id, day)])
    return {"kind": kind, "decision": value, "decided": len(todo),
            "skipped": len(wanted) - len(todo), "reevaluation": outcome}
