"""What the office pages show: day table, week view, worker-day, live status, audit log.

Read-only. Every function takes the caller's :class:`~checkins.auth.office.OfficeScope` and
applies it (a village office sees its own village only); a worker or village outside the
scope raises :class:`~checkins.auth.office.NotVisible`. Day results are read from
``day_result`` (written by :mod:`checkins.evaluation.flows`); nothing here judges a day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.models import AuditLog
from checkins.auth.models import Device
from checkins.auth.office import OfficeScope
from checkins.evaluation.models import DayResult
from checkins.evaluation.provisional import DEFAULT_GRACE_S
from checkins.evaluation.provisional import is_provisional as rule_is_provisional
from checkins.field.models import Exemption, PatrolSession
from checkins.office.decisions import flag_decisions_for, flags_of
from checkins.positions.models import Position
from checkins.positions.uploads import upload_status
from checkins.township.models import Grid, GridAssignment, Township, Village, Worker
from geo.localtime import day_range

GRACE_S = DEFAULT_GRACE_S  # the routers pass GRIDPATROL_RESULT_GRACE_HOURS
MAX_TRACK_POINTS = 20_000
ROLE_ZH = {"head": "网格长", "fulltime": "专职网格员", "parttime": "兼职网格员"}
PATROL_ZH = {"ok": "合格", "short": "不足", "missing": "缺失", "exempt": "免除",
             "not_required": "无需"}
SIGNIN_ZH = {"ok": "正常", "late": "迟到", "missing": "未签到", "outside": "范围外",
             "not_required": "无需"}
DAY_COLUMNS = ("worker_id", "name", "role", "grid_id", "signin_status", "signin_at",
               "am_status", "am_in_grid_min", "pm_status", "pm_in_grid_min", "offpost_count",
               "offpost_min", "phone_off_count", "phone_off_min", "suspect_fixes", "points",
               "provisional", "evaluated", "missing_items")


def township_tz(session: Session, village_id: str | None = None) -> str:
    """The timezone of the township (of ``village_id`` if given)."""
    q = sa.select(Township.timezone)
    if village_id:
        q = q.join(Village, Village.township_id == Township.township_id).where(
            Village.village_id == village_id)
    return session.scalar(q.limit(1)) or "Asia/Shanghai"


def local_today(session: Session, village_id: str | None = None) -> dt.date:
    """Today in the township's timezone."""
    return dt.datetime.now(ZoneInfo(township_tz(session, village_id))).date()


def is_provisional(row: DayResult | None, tz: str, now: dt.datetime | None = None,
                   grace_s: float = GRACE_S) -> bool:
    """A day result is provisional until the grace period after its local day has passed
    (by the clock, not by the row's snapshot flag, which is only refreshed on evaluation)."""
    if row is None:
        return True
    return rule_is_provisional(row.work_date, tz, now or dt.datetime.now(dt.UTC), grace_s)


def _minutes(seconds: float | int | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 60.0, 1)


def day_row(worker: Worker, row: DayResult | None, tz: str, grace_s: float = GRACE_S
            ) -> dict[str, Any]:
    """One line of the day table from a worker and their day result (if evaluated)."""
    r = row.result if row else {}
    patrols = r.get("patrols") or {}
    am, pm = patrols.get("am") or {}, patrols.get("pm") or {}
    signin = r.get("signin") or {}
    offpost = r.get("offpost") or []
    phone_off = r.get("phone_off") or []
    deductions = r.get("deductions") or []
    return {
        "worker_id": worker.worker_id, "name": worker.name, "role": worker.role,
        "grid_id": r.get("grid_id"),
        "signin_status": signin.get("status"), "signin_at": signin.get("at"),
        "am_status": am.get("status"), "am_in_grid_min": _minutes(am.get("in_grid_s")),
        "pm_status": pm.get("status"), "pm_in_grid_min": _minutes(pm.get("in_grid_s")),
        "offpost_count": len(offpost),
        "offpost_min": _minutes(sum(o.get("duration_s", 0) for o in offpost)),
        "phone_off_count": len(phone_off),
        "phone_off_min": _minutes(sum(p.get("duration_s", 0) for p in phone_off)),
        "suspect_fixes": int(r.get("suspect_fixes") or 0),
        "spoof_flags": len(r.get("spoof_flags") or []),
        "points": round(sum(float(d.get("points", 0)) for d in deductions), 2),
        "rules": sorted({d.get("rule") for d in deductions if d.get("rule")}),
        "provisional": is_provisional(row, tz, grace_s=grace_s) if row else None,
        "evaluated": row is not None,
        "needs_reevaluation": bool(row.needs_reevaluation) if row else False,
    }


def _workers(session: Session, scope: OfficeScope, village_id: str) -> list[Worker]:
    scope.village(session, village_id)
    return list(session.scalars(sa.select(Worker).where(
        Worker.village_id == village_id).order_by(Worker.worker_id)))


def _results(session: Session, worker_ids: list[str], dates: list[dt.date]
             ) -> dict[tuple[str, dt.date], DayResult]:
    if not worker_ids:
        return {}
    rows = session.scalars(sa.select(DayResult).where(
        DayResult.worker_id.in_(worker_ids), DayResult.work_date.in_(dates)))
    return {(r.worker_id, r.work_date): r for r in rows}


def _matches(row: dict[str, Any], status: str | None, role: str | None, q: str | None) -> bool:
    if role and row["role"] != role:
        return False
    if q and q not in row["name"] and q not in row["worker_id"]:
        return False
    if status == "problem":
        return (bool(row["points"]) or row["offpost_count"] > 0 or row["suspect_fixes"] > 0
                or row["spoof_flags"] > 0)
    if status == "ok":
        return row["evaluated"] and not row["points"]
    # the dashboard's numbers link here (checkins.office.dashboard counts the same things)
    if status == "deducted":
        return bool(row["points"])
    if status == "patrol":
        return bool({row["am_status"], row["pm_status"]} & {"short", "missing"})
    if status == "nosignin":
        return row["signin_status"] in ("missing", "outside")
    if status == "offpost":
        return row["offpost_count"] > 0
    if status == "phoneoff":
        return row["phone_off_count"] > 0
    if status == "suspect":
        return row["suspect_fixes"] > 0 or row["spoof_flags"] > 0
    if status == "unevaluated":
        return not row["evaluated"]
    if status:
        return status in (row["am_status"], row["pm_status"], row["signin_status"])
    return True


def _sort_key(column: str) -> Any:
    def key(row: dict[str, Any]) -> Any:
        v = row.get(column)
        return (v is None, v if not isinstance(v, list) else len(v))
    return key


def day_table(session: Session, scope: OfficeScope, village_id: str, date: dt.date, *,
              status: str | None = None, role: str | None = None, q: str | None = None,
              sort: str = "worker_id", desc: bool = False, grace_s: float = GRACE_S
              ) -> dict[str, Any]:
    """The day table of a village: one row per worker, filtered and sorted."""
    village = scope.village(session, village_id)
    tz = township_tz(session, village_id)
    workers = _workers(session, scope, village_id)
    results = _results(session, [w.worker_id for w in workers], [date])
    rows = [day_row(w, results.get((w.worker_id, date)), tz, grace_s) for w in workers]
    # a silent phone vs a lost upload: per-device sequence gaps (checkins.positions.uploads)
    uploads = upload_status(session, [w.worker_id for w in workers])
    for r in rows:
        u = uploads[r["worker_id"]]
        r["uploads"] = u.status
        r["missing_items"] = u.missing_items
        r["seq_jumps"] = len(u.jumps)
    rows = [r for r in rows if _matches(r, status, role, q)]
    if sort not in DAY_COLUMNS:
        sort = "worker_id"
    rows.sort(key=_sort_key(sort), reverse=desc)
    return {"village_id": village.village_id, "village_name": village.name,
            "date": date.isoformat(), "timezone": tz, "rows": rows,
            "filters": {"status": status, "role": role, "q": q, "sort": sort, "desc": desc}}


def week_start(date: dt.date) -> dt.date:
    """The Monday of ``date``'s week."""
    return date - dt.timedelta(days=date.weekday())


def week_view(session: Session, scope: OfficeScope, village_id: str, start: dt.date, *,
              grace_s: float = GRACE_S) -> dict[str, Any]:
    """Seven days from ``start`` for every worker of a village: points and patrol statuses."""
    village = scope.village(session, village_id)
    tz = township_tz(session, village_id)
    dates = [start + dt.timedelta(days=i) for i in range(7)]
    workers = _workers(session, scope, village_id)
    results = _results(session, [w.worker_id for w in workers], dates)
    rows = []
    for w in workers:
        days = []
        for d in dates:
            r = day_row(w, results.get((w.worker_id, d)), tz, grace_s)
            days.append({"date": d.isoformat(), "evaluated": r["evaluated"],
                         "points": r["points"] if r["evaluated"] else None,
                         "am_status": r["am_status"], "pm_status": r["pm_status"],
                         "signin_status": r["signin_status"],
                         "provisional": r["provisional"]})
        total = round(sum(x["points"] or 0 for x in days), 2)
        rows.append({"worker_id": w.worker_id, "name": w.name, "role": w.role,
                     "days": days, "points": total})
    return {"village_id": village.village_id, "village_name": village.name,
            "start": start.isoformat(), "dates": [d.isoformat() for d in dates], "rows": rows}


def _grid_on(session: Session, worker_id: str, day: dt.date) -> Grid | None:
    q = (sa.select(Grid).join(GridAssignment, GridAssignment.grid_id == Grid.grid_id)
         .where(GridAssignment.worker_id == worker_id, GridAssignment.valid_from <= day,
                sa.or_(GridAssignment.valid_to.is_(None), GridAssignment.valid_to > day))
         .order_by(GridAssignment.valid_from.desc()).limit(1))
    return session.scalars(q).first()


def _geojson(geom: Any) -> dict[str, Any]:
    return shapely.geometry.mapping(geom)  # type: ignore[return-value]


def worker_day(session: Session, scope: OfficeScope, worker_id: str, day: dt.date, *,
               grace_s: float = GRACE_S) -> dict[str, Any]:
    """Everything the worker-day page shows: the result, the track, the grids, the office."""
    from checkins.evaluation.flows import township_profile

    worker = scope.worker(session, worker_id)
    village = session.get(Village, worker.village_id)
    tz = township_tz(session, worker.village_id)
    z = ZoneInfo(tz)
    row = session.scalars(sa.select(DayResult).where(
        DayResult.worker_id == worker_id, DayResult.work_date == day)).first()
    result = row.result if row else None
    grid = _grid_on(session, worker_id, day)
    grids = session.scalars(sa.select(Grid).where(Grid.village_id == worker.village_id)
                            .order_by(Grid.grid_id))
    params = township_profile(session, worker.village_id).geo_params()
    office = None
    if village is not None and village.office is not None:
        radius = village.radius_m if village.radius_m is not None else params.signin_radius_m
        office = {"lon": float(village.office.x), "lat": float(village.office.y),
                  "radius_m": float(radius)}
    a, b = day_range(day, tz)
    suspect_at = {f.get("at") for f in (result or {}).get("suspect_fix_details") or []}
    track = []
    for p in session.execute(
            sa.select(Position.recorded_at, Position.kind, Position.geom, Position.accuracy_m,
                      Position.grid_id, Position.suspect, Position.reject_reason)
            .where(Position.worker_id == worker_id, Position.recorded_at >= a,
                   Position.recorded_at < b)
            .order_by(Position.recorded_at).limit(MAX_TRACK_POINTS)):
        if p.kind != "fix" or p.geom is None:
            continue
        at = p.recorded_at.astimezone(z).isoformat()
        if p.suspect or p.reject_reason or at in suspect_at:
            cls = "suspect"
        elif grid is not None and p.grid_id == grid.grid_id:
            cls = "inside"
        else:
            cls = "outside"
        track.append({"at": at, "lon": round(float(p.geom.x), 7), "lat": round(float(p.geom.y), 7),
                      "accuracy_m": p.accuracy_m, "class": cls,
                      "reason": p.reject_reason or (p.suspect and "suspect") or None})
    decisions = flag_decisions_for(session, worker_id, day)
    flags = []
    for kind in ("suspect", "offpost"):
        for f in flags_of(result or {}, kind):
            d = decisions.get((kind, f["key"]))
            flags.append({"kind": kind, **f,
                          "decision": d.decision if d else None,
                          "decision_reason": d.reason if d else None,
                          "decided_by": d.decided_by if d else None})
    patrol_sessions = [
        {"start": ps.started_at.astimezone(z).isoformat(),
         "end": ps.ended_at.astimezone(z).isoformat() if ps.ended_at else None}
        for ps in session.scalars(sa.select(PatrolSession).where(
            PatrolSession.worker_id == worker_id, PatrolSession.started_at < b,
            sa.or_(PatrolSession.ended_at.is_(None), PatrolSession.ended_at > a))
            .order_by(PatrolSession.started_at))]
    exemptions = session.scalars(sa.select(Exemption).where(
        Exemption.worker_id == worker_id, Exemption.start_at < b, Exemption.end_at > a)
        .order_by(Exemption.start_at))
    return {
        "worker": {"worker_id": worker.worker_id, "name": worker.name, "role": worker.role,
                   "village_id": worker.village_id},
        "date": day.isoformat(), "timezone": tz,
        "day_start": a.isoformat(), "day_end": b.isoformat(),
        "evaluated": row is not None,
        "provisional": is_provisional(row, tz, grace_s=grace_s) if row else True,
        "evaluated_at": row.evaluated_at.isoformat() if row else None,
        "needs_reevaluation": bool(row.needs_reevaluation) if row else False,
        "result": result,
        "summary": day_row(worker, row, tz, grace_s),
        "grid": ({"grid_id": grid.grid_id, "name": grid.name, "geometry": _geojson(grid.geom)}
                 if grid is not None else None),
        "village_grids": [{"grid_id": g.grid_id, "name": g.name, "geometry": _geojson(g.geom)}
                          for g in grids],
        "office": office,
        "track": track,
        "flags": flags,
        "exemptions": [exemption_out(e, tz) for e in exemptions],
        "patrol_sessions": patrol_sessions,
    }


def exemption_out(e: Exemption, tz: str) -> dict[str, Any]:
    """An exemption for the office pages (local times)."""
    z = ZoneInfo(tz)
    return {"id": e.id, "worker_id": e.worker_id, "kind": e.kind,
            "start_at": e.start_at.astimezone(z).isoformat(),
            "end_at": e.end_at.astimezone(z).isoformat(), "note": e.note, "status": e.status,
            "place": ({"lon": float(e.place.x), "lat": float(e.place.y),
                       "radius_m": e.place_radius_m} if e.place is not None else None),
            "requested_at": e.requested_at.astimezone(z).isoformat() if e.requested_at else None,
            "decided_by": e.decided_by, "decision_reason": e.decision_reason,
            "decided_at": e.decided_at.astimezone(z).isoformat() if e.decided_at else None}


def exemptions(session: Session, scope: OfficeScope, *, village_id: str | None = None,
               status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Exemption requests of the visible villages (one village if given), newest first."""
    q = sa.select(Exemption, Worker).join(Worker, Worker.worker_id == Exemption.worker_id)
    q = scope.restrict(q, Worker.village_id)
    if village_id:
        scope.village(session, village_id)
        q = q.where(Worker.village_id == village_id)
    if status:
        q = q.where(Exemption.status == status)
    tz = township_tz(session, village_id)
    out = []
    for e, w in session.execute(q.order_by(Exemption.requested_at.desc(), Exemption.id.desc())
                                .limit(min(max(limit, 1), 1000))):
        out.append(exemption_out(e, tz) | {"worker_name": w.name, "village_id": w.village_id})
    return out


def devices(session: Session, scope: OfficeScope, *, village_id: str | None = None,
            status: str | None = None) -> list[dict[str, Any]]:
    """Phones bound to workers of the visible villages."""
    q = sa.select(Device, Worker).join(Worker, Worker.worker_id == Device.worker_id)
    q = scope.restrict(q, Worker.village_id)
    if village_id:
        scope.village(session, village_id)
        q = q.where(Worker.village_id == village_id)
    if status:
        q = q.where(Device.status == status)
    return [{"id": d.id, "device_uid": d.device_uid, "worker_id": w.worker_id,
             "worker_name": w.name, "village_id": w.village_id, "platform": d.platform,
             "model": d.model, "status": d.status,
             "registered_at": d.registered_at.isoformat() if d.registered_at else None,
             "decided_by": d.decided_by}
            for d, w in session.execute(q.order_by(Device.id))]


# the API's status words for the live board's states (checkins.office.live.STATES)
_API_STATUS = {"on_patrol": "on_patrol", "in_grid": "not_patrolling", "off_post": "off_post",
               "unreachable": "unreachable", "off_duty": "off_duty"}


def live(session: Session, scope: OfficeScope, village_id: str, at: dt.datetime | None = None
         ) -> dict[str, Any]:
    """Who is on patrol, off post or unreachable at ``at`` (default now) in a village: the
    office API's view of the one live board (:func:`checkins.office.live.live_map`),
    without coordinates (precise positions only on the audited worker-day page).

    ``status``: the board's state in the API's words; ``on_leave`` for a worker off duty by
    an approved exemption, ``off_duty`` outside duty hours or on a rest day.
    """
    from checkins.office.live import live_map

    village = scope.village(session, village_id)
    at = at or dt.datetime.now(dt.UTC)
    data = live_map(session, scope, village_id, at)
    z = ZoneInfo(data["timezone"])
    alerts = _open_alerts(session, [r["worker_id"] for r in data["rows"]],
                          dt.date.fromisoformat(data["date"]), at)
    rows = []
    for r in data["rows"]:
        status = _API_STATUS[r["state"]]
        if r["state"] == "off_duty" and not data["off_hours"]:
            status = "on_leave"
        rows.append({
            "worker_id": r["worker_id"], "name": r["name"], "role": r["role"],
            "grid_id": r["grid_id"], "status": status,
            "last_seen_at": r["last_seen_at"],
            "silent_min": r["silent_min"],
            "in_grid": (r["fix_grid_id"] == r["grid_id"]) if r["fix_at"] else None,
            "patrolling": r["patrolling"], "alerts": alerts.get(r["worker_id"], []),
        })
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    return {"village_id": village.village_id, "village_name": village.name,
            "at": at.astimezone(z).isoformat(), "max_gap_s": data["max_gap_s"],
            "counts": counts, "rows": rows}


def _open_alerts(session: Session, worker_ids: list[str], day: dt.date, at: dt.datetime
                 ) -> dict[str, list[dict[str, Any]]]:
    """Open live alerts of today (the scheduler's ``alert`` table), per worker."""
    try:
        from checkins.jobs.models import Alert
    except ImportError:
        return {}
    out: dict[str, list[dict[str, Any]]] = {}
    if not worker_ids:
        return out
    for al in session.scalars(sa.select(Alert).where(
            Alert.worker_id.in_(worker_ids), Alert.work_date == day, Alert.status == "open",
            Alert.start_at <= at)):
        out.setdefault(al.worker_id, []).append(
            {"kind": al.kind, "rule": al.rule, "start_at": al.start_at.isoformat(),
             "end_at": al.end_at.isoformat(), "other_grid_id": al.other_grid_id})
    return out


def audit_rows(session: Session, *, action: str | None = None, entity: str | None = None,
               actor: str | None = None, limit: int = 200, before_id: int | None = None
               ) -> list[dict[str, Any]]:
    """Audit log rows, newest first (filters by action prefix, entity, actor)."""
    q = sa.select(AuditLog)
    if action:
        q = q.where(AuditLog.action.startswith(action))
    if entity:
        q = q.where(AuditLog.entity == entity)
    if actor:
        q = q.where(AuditLog.actor == actor)
    if before_id:
        q = q.where(AuditLog.id < before_id)
    q = q.order_by(AuditLog.id.desc()).limit(min(max(limit, 1), 100_000))
    return [{"id": r.id, "at": r.at.isoformat(), "actor": r.actor, "action": r.action,
             "entity": r.entity, "entity_id": r.entity_id, "reason": r.reason,
             "before": r.before, "after": r.after, "hash": r.hash}
            for r in session.scalars(q)]


def log_live_view(session: Session, actor: str, village_id: str | None, at: str) -> None:
    """One audit row per opening of the live map (every worker's precise position, PIPL),
    written apart like :func:`log_track_view`."""
    from checkins.audit.service import write_audit
    from checkins.db.engine import write_apart

    write_apart(session, lambda s: write_audit(
        s, actor=actor, action="live.view", entity="village", entity_id=village_id or "*",
        after={"at": at}))


def log_track_view(session: Session, actor: str, worker_id: str, date: dt.date, via: str) -> None:
    """One audit row per view of a worker's track (precise location is sensitive, PIPL);
    committed at once, so a read that shows a track always leaves its trace.

    Written in a short transaction of its own after the page's reads: on SQLite a write on
    the reading snapshot fails at once with "database is locked" when another writer (the
    liveness beat, an upload) committed meanwhile (:func:`checkins.db.engine.write_apart`).
    """
    from checkins.audit.service import write_audit
    from checkins.db.engine import write_apart

    write_apart(session, lambda s: write_audit(
        s, actor=actor, action="track.view", entity="worker_day",
        entity_id=f"{worker_id}/{date.isoformat()}", after={"via": via}))


PENDING_FLAG_DAYS = 14  # flagged days older than this are not counted as pending


def pending_counts(session: Session, scope: OfficeScope, *, today: dt.date | None = None
                   ) -> dict[str, int]:
    """What waits for the office's decision in its scope (the menu's badges).

    ``exemptions``: requests (leave, field duty, special); ``devices``: phones waiting for
    approval; ``suspect_days`` / ``offpost_days`` / ``crosspost_days``: worker-days of the
    last 14 days with a flag of that kind (GEO-SPOOF suspect fixes or review flags, off-post,
    cross-post intervals) and no decision of its family yet; ``flag_days``: their sum;
    ``cases``: reported cases (事件) waiting to be accepted; ``total``: everything.

    Counted in SQL (one query per kind, the day's JSON read with a text test, so the menu
    stays cheap for a county; a village office's counts touch its own village only).
    """
    from checkins.cases.models import Case
    from checkins.evaluation.models import FlagDecision

    ex = scope.restrict(sa.select(sa.func.count()).select_from(Exemption).join(
        Worker, Worker.worker_id == Exemption.worker_id)
        .where(Exemption.status == "requested"), Worker.village_id)
    dev = scope.restrict(sa.select(sa.func.count()).select_from(Device).join(
        Worker, Worker.worker_id == Device.worker_id)
        .where(Device.status == "pending"), Worker.village_id)
    since = (today or dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=PENDING_FLAG_DAYS)

    def undecided(family: str) -> Any:
        return ~sa.select(FlagDecision.id).where(
            FlagDecision.worker_id == DayResult.worker_id,
            FlagDecision.work_date == DayResult.work_date,
            FlagDecision.kind == family).exists()

    # the interval list as JSON text: a kind is present if its quoted value is ("kind":
    # "crosspost"; the rule ids are GEO-..., so "offpost" with its quotes is the kind only)
    off = DayResult.result["offpost"].as_string()
    spoof = DayResult.result["spoof_flags"].as_string()
    has = {
        "suspect_days": (sa.or_(DayResult.result["suspect_fixes"].as_integer() > 0,
                                spoof.like("%{%")), "suspect"),
        "offpost_days": (off.like('%"offpost"%'), "offpost"),
        "crosspost_days": (off.like('%"crosspost"%'), "offpost"),  # decided as off-post family
    }
    out = {"exemptions": int(session.scalar(ex) or 0), "devices": int(session.scalar(dev) or 0)}
    for key, (cond, family) in has.items():
        q = scope.restrict(sa.select(sa.func.count()).select_from(DayResult).join(
            Worker, Worker.worker_id == DayResult.worker_id).where(
            DayResult.work_date >= since, cond, undecided(family)), Worker.village_id)
        out[key] = int(session.scalar(q) or 0)
    out["flag_days"] = out["suspect_days"] + out["offpost_days"] + out["crosspost_days"]
    cases = scope.restrict(sa.select(sa.func.count()).select_from(Case)
                           .where(Case.status == "reported"), Case.village_id)
    out["cases"] = int(session.scalar(cases) or 0)
    out["total"] = (out["exemptions"] + out["devices"] + out["flag_days"] + out["cases"])
    return out
