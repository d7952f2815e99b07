"""The worker's side of the field day, as the phone app sees it (services of the mobile API).

Every function takes the authenticated worker's id and only reads or writes that worker's
rows: ids coming from the phone (a patrol id in a path, for instance) are looked up
*together with* the worker id, so another worker's id is simply "not found".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from checkins.evaluation.models import DayResult
from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
from checkins.township.models import Grid, GridAssignment, Village, Worker
from geo import crs
from geo.calendar import CalendarNotCoveredError, is_working_day
from geo.localtime import day_range, local_date
from geo.types import Exemption as GeoExemption
from geo.types import GeoParams, Place, WorkerDay, rule_of


class NotFound(LookupError):
    """The row does not exist *for this worker* (another worker's id looks the same)."""


class Invalid(ValueError):
    """A request that is well-formed but not acceptable; names the field."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@lru_cache(maxsize=16)
def geo_params(profile: str) -> GeoParams:
    """The detection parameters of a rule profile (scoring.profiles)."""
    from scoring.profiles import load_profile

    return load_profile(profile).geo_params()


def _to_datum(geom: BaseGeometry, datum: str) -> BaseGeometry:
    if datum == "wgs84":
        return geom

    def fn(coords: np.ndarray) -> np.ndarray:
        lon, lat = crs.from_wgs84(coords[:, 0], coords[:, 1], datum)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fn)


def _geojson(geom: BaseGeometry) -> dict[str, Any]:
    def lists(v: Any) -> Any:
        if isinstance(v, tuple | list):
            return [lists(x) for x in v]
        return round(float(v), 7) if isinstance(v, float) else v

    m = mapping(geom)
    return {"type": m["type"], "coordinates": lists(m["coordinates"])}


def _point(lon: float, lat: float, datum: str) -> tuple[float, float]:
    a, b = crs.to_wgs84(np.array([lon]), np.array([lat]), datum)
    return float(a[0]), float(b[0])


def worker_of(session: Session, worker_id: str) -> Worker:
    """The worker row (it exists: the token was checked against it)."""
    w = session.get(Worker, worker_id)
    if w is None:
        raise NotFound(worker_id)
    return w


def grid_on(session: Session, worker_id: str, day: dt.date) -> Grid | None:
    """The grid the worker is assigned to on local date ``day``."""
    q = (
        sa.select(Grid)
        .join(GridAssignment, GridAssignment.grid_id == Grid.grid_id)
        .where(GridAssignment.worker_id == worker_id, GridAssignment.valid_from <= day,
               sa.or_(GridAssignment.valid_to.is_(None), GridAssignment.valid_to > day))
        .order_by(GridAssignment.valid_from.desc())
        .limit(1)
    )
    return session.scalars(q).first()


def office_place(session: Session, village_id: str, params: GeoParams) -> Place | None:
    """The village office geofence (WGS-84), radius from the village or the profile."""
    v = session.get(Village, village_id)
    if v is None or v.office is None:
        return None
    radius = v.radius_m if v.radius_m is not None else params.signin_radius_m
    return Place(lon=float(v.office.x), lat=float(v.office.y), radius_m=float(radius))


def exemptions_on(session: Session, worker_id: str, day: dt.date, tz: str,
                  *, approved_only: bool = True) -> list[Exemption]:
    """The worker's exemptions overlapping local date ``day``."""
    a, b = day_range(day, tz)
    q = sa.select(Exemption).where(Exemption.worker_id == worker_id, Exemption.start_at < b,
                                   Exemption.end_at > a)
    if approved_only:
        q = q.where(Exemption.status == "approved")
    return list(session.scalars(q.order_by(Exemption.start_at)))


def exemption_out(e: Exemption, datum: str = "wgs84") -> dict[str, Any]:
    """An exemption as the phone sees it."""
    place = None
    if e.place is not None:
        lon, lat = float(e.place.x), float(e.place.y)
        if datum != "wgs84":
            a, b = crs.from_wgs84(np.array([lon]), np.array([lat]), datum)
            lon, lat = float(a[0]), float(b[0])
        place = {"lon": round(lon, 7), "lat": round(lat, 7),
                 "radius_m": float(e.place_radius_m or 0), "datum": datum}
    return {"id": str(e.id), "kind": e.kind, "start": e.start_at, "end": e.end_at,
            "status": e.status, "reason": e.note, "place": place}


def _working_day_or_none(day: dt.date, params: GeoParams) -> bool | None:
    try:
        return is_working_day(day, params.working_days, params.calendar_overrides)
    except CalendarNotCoveredError:  # a year the calendar and the profile do not cover yet
        return None


def assignment(session: Session, worker_id: str, *, now: dt.datetime, datum: str,
               params: GeoParams) -> dict[str, Any]:
    """Today's assignment: grid (in ``datum``), office geofence, windows, requirements."""
    w = worker_of(session, worker_id)
    day = local_date(now, params.timezone)
    grid = grid_on(session, worker_id, day)
    office = office_place(session, w.village_id, params)
    office_out = None
    if office is not None:
        lon, lat = office.lon, office.lat
        if datum != "wgs84":
            a, b = crs.from_wgs84(np.array([lon]), np.array([lat]), datum)
            lon, lat = float(a[0]), float(b[0])
        office_out = {"lon": round(lon, 7), "lat": round(lat, 7), "radius_m": office.radius_m,
                      "datum": datum}
    return {
        "worker_id": worker_id,
        "date": day,
        "timezone": params.timezone,
        "role": w.role,
        "working_day": _working_day_or_none(day, params),
        "grid_id": grid.grid_id if grid else None,
        "grid": _geojson(_to_datum(grid.geom, datum)) if grid else None,
        "datum": datum,
        "office": office_out,
        "patrol_windows": [{"name": k, "start": v[0], "end": v[1]}
                           for k, v in params.patrol_windows.items()],
        "required_patrol_s": int(params.required_patrol_s.get(w.role, 0)),
        "duty_windows": [{"name": f"duty{i + 1}", "start": a, "end": b}
                         for i, (a, b) in enumerate(params.duty_windows)],
        "signin_required": w.role in params.signin_roles,
        "signin_deadline": params.signin_deadline.get(w.role),
        "exemptions": [exemption_out(e, datum) for e in exemptions_on(session, worker_id, day,
                                                                      params.timezone)],
    }


# ------------------------------------------------------------------ sign-in
@dataclass(frozen=True)
class SigninVerdict:
    """Whether one sign-in counts, and why not."""

    signin_id: int
    counts: bool
    status: str
    reason: str | None
    distance_m: float | None
    radius_m: float | None
    deadline: str | None
    signed_at: dt.datetime
    duplicate: bool


_SIGNIN_REASONS = {
    "ok": None,
    "late": "after the sign-in deadline",
    "outside": "not inside the village office geofence (or accuracy too low)",
    "not_required": "your role does not sign in",
    "missing": "no usable sign-in",
}


def judge_signin(session: Session, worker: Worker, s: Signin, params: GeoParams) -> dict[str, Any]:
    """Verdict of this one sign-in by the geo rule (GEO-SIGNIN, YK-SIGNIN-PLACE, YK-LOG)."""
    from geo.duty import duty_intervals, local_instant
    from geo.signin import judge_signin as rule

    day = local_date(s.signed_at, params.timezone)
    office = office_place(session, worker.village_id, params)
    working = is_working_day(day, params.working_days, params.calendar_overrides)
    ex = tuple(_geo_exemption(e) for e in exemptions_on(session, worker.worker_id, day, params.timezone))
    wd = WorkerDay(worker_id=worker.worker_id, date=day, role=worker.role,  # type: ignore[arg-type]
                   grid_id="", grid=shapely.Polygon(), exemptions=ex)
    on_duty = duty_intervals(wd, params.duty_windows, params.timezone, working)
    required = working and worker.role in params.signin_roles and bool(on_duty)
    radius = None
    dist = np.array([np.inf])
    if office is not None:
        radius = office.radius_m if office.radius_m > 0 else params.signin_radius_m
        dist = np.atleast_1d(crs.distance_m(s.geom.x, s.geom.y, office.lon, office.lat)).astype(float)
    deadline = params.signin_deadline.get(worker.role)
    res = rule(required=required, times=np.array([s.signed_at.timestamp()]), distance_m=dist,
               accuracy_m=np.array([np.nan if s.accuracy_m is None else s.accuracy_m]),
               radius_m=radius, max_accuracy_m=params.signin_max_accuracy_m,
               deadline_t=None if deadline is None else local_instant(day, deadline, params.timezone))
    distance = None if office is None else round(float(dist[0]), 1)
    return {"status": res.status, "counts": res.status == "ok",
            "reason": _SIGNIN_REASONS.get(res.status), "distance_m": distance,
            "radius_m": radius, "deadline": deadline}


def _geo_exemption(e: Exemption) -> GeoExemption:
    place = Place(e.place.x, e.place.y, e.place_radius_m or 0.0) if e.place is not None else None
    return GeoExemption(start=e.start_at.timestamp(), end=e.end_at.timestamp(),
                        kind=e.kind, place=place)  # type: ignore[arg-type]


def sign_in(session: Session, *, worker_id: str, device_id: int, client_id: str, lon: float,
            lat: float, datum: str, accuracy_m: float | None, signed_at: dt.datetime,
            mock: bool, params: GeoParams) -> dict[str, Any]:
    """Store a sign-in (idempotent on the client id) and judge it at once."""
    w = worker_of(session, worker_id)
    existing = session.scalars(sa.select(Signin).where(  # the unique key, worker first
        Signin.worker_id == worker_id, Signin.device_id == device_id,
        Signin.client_id == client_id)).first()
    duplicate = existing is not None
    if existing is None:
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise Invalid("validation_failed", "coordinates out of range", "fix.lat")
        glon, glat = _point(lon, lat, datum)
        existing = Signin(worker_id=worker_id, device_id=device_id, client_id=client_id,
                          signed_at=signed_at, lon=lon, lat=lat, datum=datum,
                          geom=shapely.Point(glon, glat), accuracy_m=accuracy_m,
                          village_id=w.village_id)
        session.add(existing)
        session.flush()
    try:
        verdict = judge_signin(session, w, existing, params)
    except CalendarNotCoveredError as exc:
        session.rollback()
        raise Invalid("date_not_covered", str(exc), "fix.recorded_at") from exc
    if mock:
        verdict.update(status="rejected", counts=False, reason="mock_location")
    session.commit()
    return {"id": str(existing.id), "signed_at": existing.signed_at, "duplicate": duplicate,
            **verdict}


# ------------------------------------------------------------------ patrols
def start_patrol(session: Session, *, worker_id: str, device_id: int, client_id: str,
                 started_at: dt.datetime, params: GeoParams) -> dict[str, Any]:
    """Start a patrol (idempotent on the client id)."""
    p = session.scalars(sa.select(PatrolSession).where(  # the unique key, worker first
        PatrolSession.worker_id == worker_id, PatrolSession.device_id == device_id,
        PatrolSession.client_id == client_id)).first()
    duplicate = p is not None
    if p is None:
        grid = grid_on(session, worker_id, local_date(started_at, params.timezone))
        p = PatrolSession(worker_id=worker_id, device_id=device_id, client_id=client_id,
                          grid_id=grid.grid_id if grid else None, started_at=started_at)
        session.add(p)
        session.commit()
    return {"id": str(p.id), "started_at": p.started_at, "ended_at": p.ended_at,
            "duplicate": duplicate}


def _own_patrol(session: Session, worker_id: str, patrol_id: str) -> PatrolSession:
    try:
        pid = int(patrol_id)
    except ValueError as exc:
        raise NotFound(patrol_id) from exc
    p = session.scalars(sa.select(PatrolSession).where(
        PatrolSession.id == pid, PatrolSession.worker_id == worker_id)).first()
    if p is None:
        raise NotFound(patrol_id)
    return p


def stop_patrol(session: Session, *, worker_id: str, patrol_id: str,
                ended_at: dt.datetime) -> dict[str, Any]:
    """Stop one of the worker's patrols (a repeated stop keeps the first end time)."""
    p = _own_patrol(session, worker_id, patrol_id)
    duplicate = p.ended_at is not None
    if p.ended_at is None:
        if ended_at < p.started_at:
            raise Invalid("validation_failed", "ended_at is before started_at", "ended_at")
        p.ended_at = ended_at
        session.commit()
    return {"id": str(p.id), "started_at": p.started_at, "ended_at": p.ended_at,
            "duplicate": duplicate}


def find_patrol_log(session: Session, *, worker_id: str, client_id: str | None
                    ) -> PatrolLog | None:
    """The worker's patrol log the phone already sent under ``client_id`` (a resend)."""
    if not client_id:
        return None
    return session.scalars(sa.select(PatrolLog).where(
        PatrolLog.worker_id == worker_id, PatrolLog.client_id == client_id)).first()


def add_patrol_log(session: Session, *, worker_id: str, patrol_id: str | None, text: str,
                   photos: list[dict[str, Any]], written_at: dt.datetime,
                   client_id: str | None = None) -> dict[str, Any]:
    """Write a patrol log entry (巡查日志) with its photos' records.

    Idempotent with a ``client_id``: a resend answers the entry stored the first time.
    """
    existing = find_patrol_log(session, worker_id=worker_id, client_id=client_id)
    if existing is not None:
        return patrol_log_out(existing) | {"duplicate": True}
    pid = _own_patrol(session, worker_id, patrol_id).id if patrol_id else None
    log = PatrolLog(worker_id=worker_id, patrol_session_id=pid, written_at=written_at,
                    text=text, photos=photos, client_id=client_id)
    session.add(log)
    try:
        session.commit()
    except sa.exc.IntegrityError:  # the same resend raced us: answer the stored one
        session.rollback()
        existing = find_patrol_log(session, worker_id=worker_id, client_id=client_id)
        if existing is None:
            raise
        return patrol_log_out(existing) | {"duplicate": True}
    return patrol_log_out(log) | {"duplicate": False}


def patrol_log_out(log: PatrolLog) -> dict[str, Any]:
    """A patrol log as the phone sees it."""
    keys = ("id", "content_type", "size_bytes", "sha256", "exif_taken_at", "exif_lon", "exif_lat")
    return {"id": str(log.id),
            "patrol_session_id": None if log.patrol_session_id is None else str(log.patrol_session_id),
            "text": log.text, "created_at": log.written_at,
            "photos": [{k: p.get(k) for k in keys} for p in (log.photos or [])]}


# ------------------------------------------------------------------ requests
def _own_request(session: Session, worker_id: str, client_id: str | None) -> Exemption | None:
    if not client_id:
        return None
    return session.scalars(sa.select(Exemption).where(
        Exemption.worker_id == worker_id, Exemption.client_id == client_id)).first()


def request_exemption(session: Session, *, worker_id: str, kind: str, start: dt.datetime,
                      end: dt.datetime, reason: str | None,
                      place: tuple[float, float, str, float] | None,
                      client_id: str | None = None) -> dict[str, Any]:
    """Ask for leave, field duty (with its place) or a special case; status ``requested``.

    Idempotent with a ``client_id``: a resend answers the request stored the first time
    (with its current status), never a second request.
    """
    existing = _own_request(session, worker_id, client_id)
    if existing is not None:
        return exemption_out(existing)
    if end <= start:
        raise Invalid("validation_failed", "end must be after start", "end")
    if kind == "field_duty" and place is None:
        raise Invalid("validation_failed", "field duty needs its place", "place")
    geom = radius = None
    if place is not None:
        lon, lat, datum, radius = place
        glon, glat = _point(lon, lat, datum)
        geom = shapely.Point(glon, glat)
    e = Exemption(worker_id=worker_id, kind=kind, start_at=start, end_at=end, place=geom,
                  place_radius_m=radius, note=reason, status="requested",
                  requested_by=f"worker:{worker_id}", client_id=client_id)
    session.add(e)
    try:
        session.commit()
    except sa.exc.IntegrityError:  # the same resend raced us: answer the stored one
        session.rollback()
        existing = _own_request(session, worker_id, client_id)
        if existing is None:
            raise
        return exemption_out(existing)
    return exemption_out(e)


def list_exemptions(session: Session, *, worker_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The worker's own requests, newest first."""
    rows = session.scalars(sa.select(Exemption).where(Exemption.worker_id == worker_id)
                           .order_by(Exemption.requested_at.desc(), Exemption.id.desc())
                           .limit(limit))
    return [exemption_out(e) for e in rows]


def get_exemption(session: Session, *, worker_id: str, exemption_id: str) -> dict[str, Any]:
    """One of the worker's own requests."""
    try:
        eid = int(exemption_id)
    except ValueError as exc:
        raise NotFound(exemption_id) from exc
    e = session.scalars(sa.select(Exemption).where(Exemption.id == eid,
                                                   Exemption.worker_id == worker_id)).first()
    if e is None:
        raise NotFound(exemption_id)
    return exemption_out(e)


# ------------------------------------------------------------------ own view
def my_day(session: Session, *, worker_id: str, now: dt.datetime, params: GeoParams,
           profile: str | None = None) -> dict[str, Any]:
    """Today's patrol progress (geo engine), flags raised, and the month's points so far.

    Today is judged by the nightly job's own builder and engine call
    (:func:`checkins.evaluation.flows.judge_worker_days`, with outages and office decisions),
    up to ``now``: the rest of the day is not yet received, never a phone-off.
    """
    from checkins.evaluation.flows import judge_worker_days, township_profile

    w = worker_of(session, worker_id)
    day = local_date(now, params.timezone)
    grid = grid_on(session, worker_id, day)
    patrols: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    signin_status = None
    judged = judge_worker_days(
        session, [(worker_id, day)], until=now.timestamp(),
        profile=profile or township_profile(session, w.village_id)) if grid is not None else []
    if judged:
        res = judged[0][0]
        for name, p in res.patrols.items():
            patrols.append({"window": name, "status": p.status, "in_grid_s": int(p.in_grid_s),
                            "in_grid_min": round(p.in_grid_s / 60.0, 1),
                            "required_s": int(p.required_s), "started_in_app": p.started_in_app})
        signin_status = res.signin.status
        tz = ZoneInfo(params.timezone)

        def ts(x: float) -> dt.datetime:
            return dt.datetime.fromtimestamp(x, tz)

        for sf in res.suspect_fixes:
            flags.append({"kind": "suspect_fix", "rule": rule_of("suspect_fix"), "date": day,
                          "detail": ",".join(sf.reasons), "start": ts(sf.t), "end": None})
        for fl in res.spoof_flags:  # review flags: nothing excluded, nothing deducted unreviewed
            flags.append({"kind": "suspect_fix", "rule": rule_of("suspect_fix"), "date": day,
                          "detail": fl.reason, "start": ts(fl.start), "end": ts(fl.end)})
        for o in res.offpost:
            flags.append({"kind": o.kind, "rule": rule_of(o.kind),
                          "date": day, "detail": o.other_grid_id or "", "start": ts(o.start), "end": ts(o.end)})
        for ph in res.phone_off:
            flags.append({"kind": "phone_off", "rule": rule_of("phone_off"), "date": day,
                          "detail": ph.cause, "start": ts(ph.start), "end": ts(ph.end)})
        for reason, count in res.rejected.items():
            flags.append({"kind": "rejected_fixes", "rule": rule_of("rejected_fixes"), "date": day,
                          "detail": f"{reason}: {count}", "start": None, "end": None})
    month_start = day.replace(day=1)
    results = session.scalars(sa.select(DayResult).where(
        DayResult.worker_id == worker_id, DayResult.work_date >= month_start,
        DayResult.work_date < day).order_by(DayResult.work_date)).all()
    deductions: list[dict[str, Any]] = []
    for r in results:
        for d in (r.result or {}).get("deductions", []) or []:
            deductions.append({"date": r.work_date.isoformat(), **d})
        for o in (r.result or {}).get("offpost", []) or []:
            kind = o.get("kind", "offpost")
            flags.append({"kind": kind, "rule": rule_of(kind), "date": r.work_date,
                          "detail": "", "start": o.get("start"), "end": o.get("end")})
        n_suspect = (r.result or {}).get("suspect_fixes") or 0
        if n_suspect:
            flags.append({"kind": "suspect_fix", "rule": rule_of("suspect_fix"), "date": r.work_date,
                          "detail": f"{n_suspect} suspect fixes", "start": None, "end": None})
        for fl in (r.result or {}).get("spoof_flags", []) or []:
            flags.append({"kind": "suspect_fix", "rule": rule_of("suspect_fix"), "date": r.work_date,
                          "detail": ",".join(fl.get("reasons") or []), "start": fl.get("start"),
                          "end": fl.get("end")})
    points = round(sum(float(d.get("points", 0)) for d in deductions), 2)
    return {"worker_id": worker_id, "date": day, "provisional": True, "patrols": patrols,
            "signin_status": signin_status, "flags": flags, "month": f"{day:%Y-%m}",
            "month_points": points, "month_deductions": deductions}


def data_dir_photos(data_dir: Path) -> Path:
    """Where patrol-log photos are kept."""
    return Path(data_dir) / "photos"
