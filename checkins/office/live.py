"""The live map: every worker's latest position and state now, with the open alerts.

States, first match wins (the duty rules are GEO-DUTY's and YK-DAYS's, from the profile):

==============  =========  ===================================================================
state           label      when
==============  =========  ===================================================================
``off_duty``    非工作时间  not a working day (YK-DAYS), outside the duty windows (GEO-DUTY), or
                           an approved exemption that removes duty (leave, special case)
``unreachable`` 失联       on duty and nothing received for longer than ``max_gap_s``
                           (GEO-PHONEOFF), or an open phone-off alert
``off_post``    脱岗       an open GEO-OFFPOST / GEO-CROSSPOST alert, or the latest usable fix
                           outside every allowed zone (own grid, village office, an approved
                           field-duty place) but not yet for ``offpost_min_s`` (said so)
``on_patrol``   巡查中     a patrol session open now
``in_grid``     在网格     otherwise (latest usable fix in an allowed zone)
==============  =========  ===================================================================

The one live board (issue 19): the live page, its JSON/SSE feed and the office API
(``checkins.office.queries.live``) all answer from :func:`live_map`. It reads state kept
current as data arrives, not ``position``: the latest item and usable fix of each worker
from ``live_state`` (written by ingest in its own transaction), the intervals in progress
from the open ``alert`` rows (the incremental live check, ``checkins.jobs.alerts``). Only a
worker with no ``live_state`` row for the day (rows written behind ingest's back, e.g. the
demo loader) or asked about before its latest item is read from ``position``.
Positions are precise personal data: the page that shows them writes an audit row when
opened (``server.office.pages``); the API answers without them.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from pyproj import Geod
from sqlalchemy.orm import Session

from checkins.auth.office import OfficeScope
from checkins.field.models import Exemption, PatrolSession
from checkins.jobs.models import Alert
from checkins.positions.models import LiveState, Position
from checkins.township.models import GridAssignment, Worker
from checkins.township.profile import township_profile
from geo.calendar import is_working_day
from geo.duty import local_instant

_GEOD = Geod(ellps="WGS84")
STATES = ("on_patrol", "in_grid", "off_post", "unreachable", "off_duty")
STATE_ZH = {"on_patrol": "巡查中", "in_grid": "在网格", "off_post": "脱岗",
            "unreachable": "失联", "off_duty": "非工作时间"}
ALERT_ZH = {"phone_off": "关机/失联", "offpost": "脱岗", "crosspost": "串岗"}
EXEMPTION_ZH = {"sick_leave": "病假", "personal_leave": "事假", "field_duty": "外勤",
                "special": "特殊情况"}


def _latest(session: Session, ids: list[str], since: dt.datetime, at: dt.datetime,
            *, fixes: bool) -> dict[str, Any]:
    """Per worker: the latest item (``fixes=False``) or the latest usable fix with its
    position (``fixes=True``) in [since, at], read from ``position`` (the fallback of
    :func:`_kept`)."""
    if not ids:
        return {}
    usable = [Position.kind == "fix", Position.geom.is_not(None),
              Position.suspect.is_(False), Position.reject_reason.is_(None)] if fixes else []
    cols = [Position.worker_id, Position.recorded_at, Position.grid_id]
    if fixes:
        cols.append(Position.geom)
    if session.get_bind().dialect.name == "postgresql":
        w = sa.select(Worker.worker_id).where(Worker.worker_id.in_(ids)).subquery("w")
        p = (sa.select(*cols).where(Position.worker_id == w.c.worker_id,
                                    Position.recorded_at >= since, Position.recorded_at <= at,
                                    *usable)
             .order_by(Position.recorded_at.desc()).limit(1).lateral("p"))
        q = sa.select(*p.c).select_from(w).join(p, sa.true())
    else:
        last = (sa.select(Position.worker_id, sa.func.max(Position.recorded_at).label("t"))
                .where(Position.worker_id.in_(ids),
                       Position.recorded_at >= since, Position.recorded_at <= at, *usable)
                .group_by(Position.worker_id).subquery())
        q = (sa.select(*cols).join(last, sa.and_(last.c.worker_id == Position.worker_id,
                                                 last.c.t == Position.recorded_at))
             .where(*usable))
    return {r.worker_id: r for r in session.execute(q)}


def _kept(session: Session, vids: list[str], ids: list[str], day: dt.date,
          since: dt.datetime, at: dt.datetime) -> tuple[dict[str, Any], dict[str, Any]]:
    """The latest item and latest usable fix per worker, from ``live_state`` (kept by ingest):
    one indexed read for every worker. A worker without a row for the day, or whose latest
    item is after ``at`` (the board asked about the past), is read from ``position``."""
    last: dict[str, Any] = {}
    fix: dict[str, Any] = {}
    rows = session.execute(sa.select(  # columns, not ORM objects; by village, not 5,000 ids
        LiveState.worker_id, LiveState.last_seen_at, LiveState.last_fix_at,
        LiveState.last_lon, LiveState.last_lat, LiveState.last_grid_id)
        .join(Worker, Worker.worker_id == LiveState.worker_id)
        .where(Worker.village_id.in_(vids), Worker.active.is_(True),
               LiveState.work_date == day, LiveState.last_seen_at.is_not(None),
               LiveState.last_seen_at <= at, LiveState.last_seen_at >= since)) if ids else []
    for w, seen, fix_at, lon, lat, gid in rows:
        last[w] = SimpleNamespace(recorded_at=seen, grid_id=gid)
        if fix_at is not None and lon is not None:
            fix[w] = SimpleNamespace(recorded_at=fix_at, grid_id=gid,
                                     geom=SimpleNamespace(x=lon, y=lat))
    rest = [w for w in ids if w not in last]
    if rest:
        last.update(_latest(session, rest, since, at, fixes=False))
        fix.update(_latest(session, rest, since, at, fixes=True))
    return last, fix


def _metres(a: Any, b: Any) -> float:
    """Geodesic distance in metres between two WGS-84 shapely points."""
    return float(_GEOD.inv(a.x, a.y, b.x, b.y)[2])


def _on_duty(day: dt.date, at: dt.datetime, params: Any) -> str | None:
    """None when ``at`` is within duty hours of a working day, else why not (Chinese)."""
    try:
        working = is_working_day(day, params.working_days, params.calendar_overrides)
    except ValueError:  # no calendar for that year: judge it a working day, as the engine fails
        working = True
    if not working:
        return "休息日"
    t = at.timestamp()
    for a, b in params.duty_windows:
        if local_instant(day, a, params.timezone) <= t < local_instant(day, b, params.timezone):
            return None
    return "工作时间外"


def live_map(session: Session, scope: OfficeScope, village_id: str | None = None,
             at: dt.datetime | None = None) -> dict[str, Any]:
    """Rows (one per active worker of the village, or of every visible village), the open
    alerts beside them, the counts per state; times local, ``at`` default now."""
    villages = [scope.village(session, village_id)] if village_id else scope.villages(session)
    vids = [v.village_id for v in villages]
    names = {v.village_id: v.name for v in villages}
    at = at or dt.datetime.now(dt.UTC)
    profile = township_profile(session, vids[0] if vids else None)
    params = profile.geo_params()
    z = ZoneInfo(params.timezone)
    local = at.astimezone(z)
    day = local.date()
    since = dt.datetime.combine(day, dt.time(0), tzinfo=z)
    workers = list(session.execute(sa.select(
        Worker.worker_id, Worker.name, Worker.role, Worker.village_id).where(
        Worker.village_id.in_(vids), Worker.active.is_(True)).order_by(Worker.worker_id))) \
        if vids else []
    ids = [w.worker_id for w in workers]
    in_ids = Worker.village_id.in_(vids)
    grid_of: dict[str, str] = {}
    for wid, gid in session.execute(
            sa.select(GridAssignment.worker_id, GridAssignment.grid_id)
            .join(Worker, Worker.worker_id == GridAssignment.worker_id)
            .where(in_ids, GridAssignment.valid_from <= day,
                   sa.or_(GridAssignment.valid_to.is_(None), GridAssignment.valid_to > day))
            .order_by(GridAssignment.valid_from)):
        grid_of[wid] = gid  # the latest valid_from wins
    alerts: dict[str, list[Alert]] = {}
    for al in session.scalars(sa.select(Alert).join(Worker, Worker.worker_id == Alert.worker_id)
                              .where(in_ids, Alert.status == "open", Alert.work_date == day,
                                     Alert.start_at <= at).order_by(Alert.start_at)):
        alerts.setdefault(al.worker_id, []).append(al)
    patrolling = set(session.scalars(
        sa.select(PatrolSession.worker_id).join(Worker, Worker.worker_id == PatrolSession.worker_id)
        .where(in_ids, PatrolSession.started_at >= since, PatrolSession.started_at <= at,
               sa.or_(PatrolSession.ended_at.is_(None), PatrolSession.ended_at > at))))
    exempt: dict[str, Exemption] = {}
    for e in session.scalars(sa.select(Exemption).join(Worker, Worker.worker_id == Exemption.worker_id)
                             .where(in_ids, Exemption.status == "approved",
                                    Exemption.start_at <= at, Exemption.end_at > at)):
        exempt[e.worker_id] = e
    last, fix = _kept(session, vids, ids, day, since, at)
    off_hours = _on_duty(day, at, params)
    offices = {v.village_id: (v.office, v.radius_m if v.radius_m is not None
                              else params.signin_radius_m)
               for v in villages if v.office is not None}

    rows = []
    for w in workers:
        seen, f, e = last.get(w.worker_id), fix.get(w.worker_id), exempt.get(w.worker_id)
        grid = grid_of.get(w.worker_id)
        kinds = {a.kind for a in alerts.get(w.worker_id, [])}
        silent_s = (at - seen.recorded_at).total_seconds() if seen else None
        in_place = False  # allowed zones besides the grid (GEO-OFFPOST): a field-duty place
        at_office = False  # or the village office; only asked when the fix is not in the grid
        if f is not None and f.grid_id != grid:
            if e is not None and e.kind == "field_duty" and e.place is not None:
                in_place = _metres(e.place, f.geom) <= (e.place_radius_m or 0.0)
            office = offices.get(w.village_id)
            if office is not None:
                at_office = _metres(office[0], f.geom) <= office[1]
        reason = None
        if off_hours:
            state, reason = "off_duty", off_hours
        elif e is not None and (e.kind != "field_duty" or e.place is None):
            state, reason = "off_duty", EXEMPTION_ZH.get(e.kind, e.kind)
        elif seen is None or silent_s > params.max_gap_s or "phone_off" in kinds:
            state = "unreachable"
        elif kinds & {"offpost", "crosspost"}:
            state = "off_post"
        elif f is not None and f.grid_id != grid and not in_place and not at_office:
            # outside every allowed zone, without (yet) the live check's alert, which needs
            # offpost_min_s of it
            state, reason = "off_post", "不在网格，尚无脱岗告警"
        elif w.worker_id in patrolling:
            state = "on_patrol"
        else:
            state = "in_grid"
        if state in ("in_grid", "on_patrol"):
            if f is None:
                reason = "今日无定位"
            elif f.grid_id != grid:
                reason = "外勤地点" if in_place else "村部"
        rows.append({
            "worker_id": w.worker_id, "name": w.name, "role": w.role,
            "village_id": w.village_id, "village_name": names.get(w.village_id),
            "grid_id": grid, "state": state, "state_zh": STATE_ZH[state], "reason": reason,
            "patrolling": w.worker_id in patrolling,
            "last_seen": seen.recorded_at.astimezone(z).strftime("%H:%M") if seen else None,
            "last_seen_at": seen.recorded_at.astimezone(z).isoformat() if seen else None,
            "silent_min": round(silent_s / 60) if silent_s is not None else None,
            "fix_at": f.recorded_at.astimezone(z).strftime("%H:%M") if f else None,
            "lat": round(float(f.geom.y), 6) if f else None,
            "lon": round(float(f.geom.x), 6) if f else None,
            "fix_grid_id": f.grid_id if f else None,
        })
    by_id = {r["worker_id"]: r for r in rows}
    open_alerts = [{"id": a.id, "worker_id": a.worker_id, "name": by_id[a.worker_id]["name"],
                    "village_name": by_id[a.worker_id]["village_name"],
                    "kind": a.kind, "kind_zh": ALERT_ZH.get(a.kind, a.kind), "rule": a.rule,
                    "start": a.start_at.astimezone(z).strftime("%H:%M"),
                    "end": a.end_at.astimezone(z).strftime("%H:%M"),
                    "minutes": round((a.end_at - a.start_at).total_seconds() / 60),
                    "other_grid_id": a.other_grid_id}
                   for wid in by_id for a in alerts.get(wid, [])]
    open_alerts.sort(key=lambda x: x["start"])
    counts = dict.fromkeys(STATES, 0)
    for r in rows:
        counts[r["state"]] += 1
    return {"at": local.strftime("%Y-%m-%d %H:%M:%S"), "date": day.isoformat(),
            "timezone": params.timezone, "max_gap_min": round(params.max_gap_s / 60),
            "max_gap_s": params.max_gap_s,
            "off_hours": off_hours, "duty_windows": [list(w) for w in params.duty_windows],
            "counts": counts, "rows": rows, "alerts": open_alerts}


def grid_features(session: Session, scope: OfficeScope, village_id: str | None = None
                  ) -> dict[str, Any]:
    """The grids of the village (or of every visible village) as a GeoJSON collection."""
    import shapely

    from checkins.township.models import Grid

    vids = ([scope.village(session, village_id).village_id] if village_id
            else [v.village_id for v in scope.villages(session)])
    feats = [{"type": "Feature", "geometry": shapely.geometry.mapping(g.geom),
              "properties": {"grid_id": g.grid_id, "name": g.name, "village_id": g.village_id}}
             for g in session.scalars(sa.select(Grid).where(
                 Grid.village_id.in_(vids)).order_by(Grid.grid_id))] if vids else []
    return {"type": "FeatureCollection", "features": feats}


__all__ = ["ALERT_ZH", "STATES", "STATE_ZH", "grid_features", "live_map"]
