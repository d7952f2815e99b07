"""Database evaluation flow: DB rows -> ``geo`` engine -> ``scoring`` -> ``day_result``.

The same judgement as ``gridpatrol evaluate`` (:mod:`checkins.evaluation.files`), on the data the
phones and offices put in the database: each worker-day is built by the shared
:func:`checkins.evaluation.files.make_worker_day`, the whole batch is judged by one
``geo.engine.evaluate_days`` call, and the day entry (:mod:`checkins.evaluation.entry`,
identical in shape to an ``evaluate`` day entry) is upserted into ``day_result``.

:func:`build_db_worker_days` is the one builder of a worker-day from database rows: the
nightly job, re-evaluation, the live check (``checkins.jobs.alerts``) and the worker's own
day (``checkins.me.service.my_day``) all judge through :func:`judge_worker_days`.

Public functions (used by the scheduler, ``gridpatrol evaluate-day`` and office decisions):

* :func:`evaluate_worker_days` -- judge and save the given ``(worker_id, date)`` pairs;
* :func:`evaluate_date` -- every worker with a grid on a date (optionally one village);
* :func:`reevaluate_pending` -- only the rows marked ``needs_reevaluation``;
* :func:`mark_for_reevaluation` -- mark rows (an office decision, a late batch);
* :func:`judge_worker_days` -- judge without saving (live checks, the worker's own day).

The provisional rule: :mod:`checkins.evaluation.provisional`.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from checkins.auth.models import Device
from checkins.cases.service import case_records, grid_records
from checkins.evaluation.entry import day_entry
from checkins.evaluation.files import (
    add_cases,
    batch_by_date,
    grid_categories,
    make_worker_day,
    office_place,
)
from checkins.evaluation.models import DayResult, FlagDecision
from checkins.evaluation.provisional import DEFAULT_GRACE_S, is_provisional
from checkins.field.models import Exemption, PatrolSession, Signin
from checkins.positions.models import Position
from checkins.township.models import Grid, GridAssignment, Village, Worker
from checkins.township.profile import township_profile
from geo.localtime import day_bounds
from geo.types import Exemption as GeoExemption
from geo.types import Fixes, GeoParams, GridIndex, Interval, Place, SignIn, WorkerDay
from scoring.profiles import Profile, load_profile

NEIGHBOUR_LOOKAROUND_S = 86400.0  # how far the nearest item beyond a day's margin is sought
MAX_FIXES_PER_BATCH = 2_000_000
WorkerDate = tuple[str, dt.date]

# Phone state strings the engine's GEO-PHONEOFF cause table looks at (geo/phoneoff.py);
# anything else is read as "other" (the table treats every other value alike).
_APP_STATES = ("background", "background_killed", "boot", "device_boot", "foreground",
               "reboot", "rebooted", "stopped", "terminated")
_NETWORKS = ("2g", "3g", "4g", "5g", "ethernet", "none", "wifi")


@dataclass
class _Context:
    """Everything a batch shares: profile, grids, offices, workers."""

    profile: Profile
    params: GeoParams
    tz: ZoneInfo
    grid_geom: dict[str, Any]
    index: GridIndex
    office: dict[str, Place | None]
    workers: dict[str, tuple[str, str]]  # worker_id -> (role, village_id)
    assignments: dict[str, list[tuple[dt.date, dt.date | None, str]]] = field(default_factory=dict)
    platforms: dict[str, str] = field(default_factory=dict)  # worker_id -> "ios" | "android"

    def grid_on(self, worker_id: str, date: dt.date) -> str | None:
        """The grid assigned to the worker on ``date`` (latest ``valid_from`` wins)."""
        best: tuple[dt.date, str] | None = None
        for vf, vt, gid in self.assignments.get(worker_id, ()):
            if vf <= date and (vt is None or date < vt) and (best is None or vf >= best[0]):
                best = (vf, gid)
        return best[1] if best else None


def _context(session: Session, profile: Profile, worker_ids: Iterable[str]) -> _Context:
    params = profile.geo_params()
    grids = session.execute(sa.select(Grid.grid_id, Grid.geom).order_by(Grid.grid_id)).all()
    grid_geom = {g: geom for g, geom in grids}
    offices = {
        v: office_place(float(p.x), float(p.y), r, params) if p is not None else None
        for v, p, r in session.execute(
            sa.select(Village.village_id, Village.office, Village.radius_m))
    }
    ids = sorted(set(worker_ids))
    workers: dict[str, tuple[str, str]] = {}
    assignments: dict[str, list[tuple[dt.date, dt.date | None, str]]] = {}
    for chunk in _chunks(ids, 5000):
        for w, role, village in session.execute(
                sa.select(Worker.worker_id, Worker.role, Worker.village_id)
                .where(Worker.worker_id.in_(chunk))):
            workers[w] = (role, village)
        for w, vf, vt, g in session.execute(
                sa.select(GridAssignment.worker_id, GridAssignment.valid_from,
                          GridAssignment.valid_to, GridAssignment.grid_id)
                .where(GridAssignment.worker_id.in_(chunk))):
            assignments.setdefault(w, []).append((vf, vt, g))
    return _Context(profile=profile, params=params, tz=ZoneInfo(params.timezone),
                    grid_geom=grid_geom,
                    index=GridIndex(grid_ids=tuple(grid_geom), geoms=tuple(grid_geom.values())),
                    office=offices, workers=workers, assignments=assignments,
                    platforms=worker_platforms(session, ids))


def worker_platforms(session: Session, worker_ids: Sequence[str]) -> dict[str, str]:
    """The phone platform of each worker whose registered, not pending, phones all report
    the same one (lower case: ``ios``, ``android``); others are left out (unknown).

    Only GEO-SPOOF's ``constant_accuracy`` review flag uses it (iPhones hold quantised
    accuracies honestly). ``device.platform`` is what the app reported at registration.
    """
    seen: dict[str, set[str]] = {}
    for chunk in _chunks(list(worker_ids), 5000):
        for w, plat in session.execute(
                sa.select(Device.worker_id, Device.platform).where(
                    Device.worker_id.in_(chunk), Device.status != "pending")):
            seen.setdefault(w, set()).add((plat or "").strip().lower())
    return {w: next(iter(p)) for w, p in seen.items() if len(p) == 1 and "" not in p}


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


# --------------------------------------------------------------------------- positions


def _ts(d: dt.datetime) -> float:
    return d.timestamp()


def _utc(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


# Columns of a read, both backends: worker index (1-based), device time, WGS-84 x/y (the
# stored geom, else the received lon/lat), datum code of a fix stored without geom (to
# convert), accuracy, speed, flags and the phone state the engine reads.
_FIELDS = ("w", "t", "x", "y", "datum", "acc", "spd", "mock", "hb", "recv", "gps", "batt",
           "app", "net")
# PostgreSQL sends 8 fixed-width columns, the flags and states packed in one int4 ``bits``:
# bit 0 mock, 1 heartbeat, 2-3 gps_on (0 null, 1 false, 2 true), 4-11 battery_pct (255 null),
# 12-16 app_state code (0 null, 31 other), 17-20 network code (0 null, 15 other),
# 21-22 datum code of a fix without geom. Fewer columns = a faster COPY (reading is the cost).
_PG_FIELDS = ("w", "t", "x", "y", "acc", "spd", "recv", "bits")
_PG_COPY_SQL = """
COPY (SELECT u.k::int4,
  date_part('epoch', p.recorded_at),
  coalesce(ST_X(p.geom), p.lon, 'NaN')::float8, coalesce(ST_Y(p.geom), p.lat, 'NaN')::float8,
  coalesce(p.accuracy_m, 'NaN')::float8, coalesce(p.speed_mps, 'NaN')::float8,
  date_part('epoch', p.received_at),
  (p.mock::int | ((p.kind = 'heartbeat')::int << 1) | (coalesce(p.gps_on::int + 1, 0) << 2)
   | ((CASE WHEN p.battery_pct IS NULL THEN 255
          ELSE least(greatest(p.battery_pct::int, 0), 254) END) << 4)
   | (coalesce(array_position(%(apps)s::text[], p.app_state::text),
               CASE WHEN p.app_state IS NULL THEN 0 ELSE 31 END) << 12)
   | (coalesce(array_position(%(nets)s::text[], p.network::text),
               CASE WHEN p.network IS NULL THEN 0 ELSE 15 END) << 17)
   | ((CASE WHEN p.geom IS NOT NULL THEN 0 WHEN p.datum = 'gcj02' THEN 1
            WHEN p.datum = 'bd09' THEN 2 ELSE 0 END) << 21))::int4
 FROM {source})
TO STDOUT (FORMAT BINARY)
"""


def _copy_dtype() -> np.dtype:
    types = {"w": ">i4", "bits": ">i4"}
    parts: list[tuple[str, str]] = [("nfields", ">i2")]
    for name in _PG_FIELDS:
        parts.append((f"_{name}_len", ">i4"))
        parts.append((name, types.get(name, ">f8")))
    return np.dtype(parts)


_COPY_DTYPE = _copy_dtype()
# u.k: the worker's 1-based position in the list (a hash join, not a search per row)
_RANGE = ("position p JOIN unnest(%(w)s::text[]) WITH ORDINALITY AS u(wid, k)"
          " ON p.worker_id = u.wid WHERE p.recorded_at >= %(a)s AND p.recorded_at < %(b)s")
# the nearest item of each worker in [a, b): last ("DESC") or first ("ASC"), by index
_NEAREST = ("unnest(%(w)s::text[]) WITH ORDINALITY AS u(wid, k) CROSS JOIN LATERAL (SELECT * FROM position q"
            " WHERE q.worker_id = u.wid AND q.recorded_at >= %(a)s AND q.recorded_at < %(b)s"
            " ORDER BY q.recorded_at {order} LIMIT 1) p")
# ``since`` reads (the live check): each worker from its own point u.f, by index range scan
# per worker (cost follows the rows read, not the day); [a, b) bounds the partitions
_SINCE = ("unnest(%(w)s::text[], %(f)s::timestamptz[]) WITH ORDINALITY AS u(wid, f, k)"
          " CROSS JOIN LATERAL (SELECT * FROM position q WHERE q.worker_id = u.wid"
          " AND q.recorded_at >= u.f AND q.recorded_at >= %(a)s AND q.recorded_at < %(b)s) p")
# the last item of each worker before its own point u.f (and after a)
_BEFORE_SINCE = ("unnest(%(w)s::text[], %(f)s::timestamptz[]) WITH ORDINALITY AS u(wid, f, k)"
                 " CROSS JOIN LATERAL (SELECT * FROM position q WHERE q.worker_id = u.wid"
                 " AND q.recorded_at < u.f AND q.recorded_at >= %(a)s AND q.recorded_at < %(b)s"
                 " AND q.recorded_at >= u.f - make_interval(secs => %(look)s)"
                 " ORDER BY q.recorded_at DESC LIMIT 1) p")


def _pg_columns(session: Session, worker_ids: Sequence[str], a: float, b: float,
                source: str = _RANGE, since: Sequence[float] | None = None,
                look: float = 0.0) -> dict[str, np.ndarray]:
    """Position columns of ``worker_ids`` with ``a <= recorded_at < b``: one binary COPY.

    Every selected value is fixed-width and non-null (NaN / codes), so the stream is parsed
    by one ``numpy.frombuffer`` with a structured dtype.
    """
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    params = {"w": list(worker_ids), "a": _utc(a), "b": _utc(b),
              "apps": list(_APP_STATES), "nets": list(_NETWORKS)}
    if since is not None:
        params.update(f=[_utc(x) for x in since], look=look)
    buf = io.BytesIO()
    with raw.cursor() as cur, cur.copy(_PG_COPY_SQL.format(source=source), params) as copy:
        for data in copy:
            buf.write(data)
    blob = buf.getbuffer()
    header = 11 + 4
    ext_len = struct.unpack(">i", blob[header:header + 4])[0]
    start = header + 4 + ext_len
    end = len(blob) - 2  # the int16 -1 trailer
    rows = np.frombuffer(blob[start:end], dtype=_COPY_DTYPE)
    c = {name: rows[name].astype(rows[name].dtype.newbyteorder("=")) for name in _PG_FIELDS}
    bits = c.pop("bits")
    gps = (bits >> 2) & 3
    batt = (bits >> 4) & 255
    app = (bits >> 12) & 31
    net = (bits >> 17) & 15
    c.update(
        mock=(bits & 1).astype(bool), hb=((bits >> 1) & 1).astype(bool),
        gps=np.where(gps == 0, np.nan, gps - 1.0),
        batt=np.where(batt == 255, np.nan, batt.astype(np.float64)),
        app=np.where(app == 31, -1, app).astype(np.int16),
        net=np.where(net == 15, -1, net).astype(np.int16),
        datum=((bits >> 21) & 3).astype(np.int16),
    )
    return c


def _generic_columns(session: Session, worker_ids: Sequence[str], a: float, b: float,
                     since: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """The same columns through a plain SELECT (SQLite, or small batches); with ``since``
    (aligned with ``worker_ids``) only each worker's rows at or after its own point."""
    pos = {w: i + 1 for i, w in enumerate(worker_ids)}
    cols: dict[str, list[Any]] = {k: [] for k in _FIELDS}
    datum_code = {"wgs84": 0, "gcj02": 1, "bd09": 2}
    q = sa.select(Position.worker_id, Position.recorded_at, Position.geom, Position.lon,
                  Position.lat, Position.datum, Position.accuracy_m, Position.speed_mps,
                  Position.mock, Position.kind, Position.received_at, Position.gps_on,
                  Position.battery_pct, Position.app_state, Position.network)
    for chunk in _chunks(list(worker_ids), 500):
        for r in session.execute(q.where(Position.worker_id.in_(chunk),
                                         Position.recorded_at >= _utc(a),
                                         Position.recorded_at < _utc(b))):
            nan = float("nan")
            cols["w"].append(pos[r.worker_id])
            cols["t"].append(r.recorded_at.timestamp())
            has_geom = r.geom is not None
            cols["x"].append(r.geom.x if has_geom else nan if r.lon is None else r.lon)
            cols["y"].append(r.geom.y if has_geom else nan if r.lat is None else r.lat)
            cols["datum"].append(0 if has_geom else datum_code.get(r.datum, 0))
            cols["acc"].append(nan if r.accuracy_m is None else r.accuracy_m)
            cols["spd"].append(nan if r.speed_mps is None else r.speed_mps)
            cols["mock"].append(bool(r.mock))
            cols["hb"].append(r.kind == "heartbeat")
            cols["recv"].append(r.received_at.timestamp() if r.received_at else nan)
            cols["gps"].append(nan if r.gps_on is None else float(r.gps_on))
            cols["batt"].append(nan if r.battery_pct is None else float(r.battery_pct))
            cols["app"].append(_code(r.app_state, _APP_STATES))
            cols["net"].append(_code(r.network, _NETWORKS))
    types = {"w": np.int32, "datum": np.int16, "mock": bool, "hb": bool, "app": np.int16,
             "net": np.int16}
    out = {k: np.array(v, dtype=types.get(k, np.float64)) for k, v in cols.items()}
    if since is not None and len(out["t"]):
        keep = out["t"] >= np.asarray(since, dtype=np.float64)[out["w"] - 1]
        out = {k: v[keep] for k, v in out.items()}
    return out


def _code(value: str | None, known: tuple[str, ...]) -> int:
    if value is None:
        return 0
    return known.index(value) + 1 if value in known else -1


def _decode(codes: np.ndarray, known: tuple[str, ...]) -> np.ndarray:
    table = np.array([None, *known, "other"], dtype=object)  # -1 -> "other" (last)
    return table[np.where(codes < 0, len(known) + 1, codes)]


def read_fixes(session: Session, worker_ids: Sequence[str], start: float, end: float,
               lookaround_s: float = NEIGHBOUR_LOOKAROUND_S,
               until: float | None = None,
               since: dict[str, float] | None = None) -> dict[str, Fixes]:
    """Per-worker ``Fixes`` (WGS-84, sorted) of ``start <= t < end`` plus the nearest item
    before and after (sought up to ``lookaround_s`` away), as the engine wants them.

    Fixes are the stored WGS-84 ``geom``; a fix stored without one (rejected, GEO-VALID) is
    its received lon/lat converted from its datum (GEO-CRS), for the engine to reject again.
    On PostgreSQL the rows come in one binary COPY per call (set-based, no ORM rows).
    ``until`` (live checks): nothing recorded after it is read, and no item after ``end``.
    ``since`` (the incremental live check): per worker, read only from that point on (and
    the nearest item before it), not from ``start``.
    """
    if not worker_ids:
        return {}
    ids = list(worker_ids)
    if until is not None and until < end:
        end, lookaround_after = until, 0.0
    else:
        lookaround_after = lookaround_s
    pg = session.get_bind().dialect.name == "postgresql"
    f = [max(start, since.get(w, start)) for w in ids] if since else None
    if f is not None and max(f) > start:
        cols = (_pg_columns(session, ids, start, end, source=_SINCE, since=f) if pg
                else _generic_columns(session, ids, min(f), end, since=f))
        neighbours = _neighbours_since(session, ids, f, start, end, lookaround_s,
                                       lookaround_after, pg)
        if neighbours is not None:
            cols = {k: np.concatenate([cols[k], neighbours[k]]) for k in _FIELDS}
        return _to_fixes(cols, ids)
    cols = _pg_columns(session, ids, start, end) if pg else _generic_columns(
        session, ids, start, end)
    neighbours = _neighbours(session, ids, start, end, lookaround_s, lookaround_after, pg)
    if neighbours is not None:
        cols = {k: np.concatenate([cols[k], neighbours[k]]) for k in _FIELDS}
    return _to_fixes(cols, ids)


def _neighbours(session: Session, ids: list[str], start: float, end: float,
                before_s: float, after_s: float, pg: bool) -> dict[str, np.ndarray] | None:
    """The last item before ``start`` and the first after ``end`` of each worker (sought
    up to ``before_s`` / ``after_s`` away)."""
    if pg:
        before = _pg_columns(session, ids, start - before_s, start,
                             source=_NEAREST.format(order="DESC"))
        if after_s <= 0:
            return before
        after = _pg_columns(session, ids, end, end + after_s,
                            source=_NEAREST.format(order="ASC"))
        return {k: np.concatenate([before[k], after[k]]) for k in _FIELDS}
    out = []
    for span in ((start - before_s, start, True), (end, end + after_s, False)):
        if span[1] <= span[0]:
            continue
        cols = _generic_columns(session, ids, span[0], span[1])
        if not len(cols["t"]):
            continue
        keep = np.zeros(len(cols["t"]), dtype=bool)
        for w in np.unique(cols["w"]):
            m = np.flatnonzero(cols["w"] == w)
            k = np.argmax(cols["t"][m]) if span[2] else np.argmin(cols["t"][m])
            keep[m[k]] = True
        out.append({k: v[keep] for k, v in cols.items()})
    if not out:
        return None
    return {k: np.concatenate([o[k] for o in out]) for k in _FIELDS}


def _neighbours_since(session: Session, ids: list[str], f: list[float], start: float,
                      end: float, before_s: float, after_s: float, pg: bool
                      ) -> dict[str, np.ndarray] | None:
    """:func:`_neighbours` when each worker's read starts at its own point ``f``: the last
    item before it (sought ``before_s`` back), and the first after ``end`` as there."""
    if pg:
        before = _pg_columns(session, ids, min(f) - before_s, max(f), source=_BEFORE_SINCE,
                             since=f, look=before_s)
    else:
        before = _generic_columns(session, ids, min(f) - before_s, max(f))
        fw = np.asarray(f, dtype=np.float64)
        if len(before["t"]):
            fr = fw[before["w"] - 1]
            m = (before["t"] < fr) & (before["t"] >= fr - before_s)
            before = {k: v[m] for k, v in before.items()}
            keep = np.zeros(len(before["t"]), dtype=bool)
            for w in np.unique(before["w"]):
                idx = np.flatnonzero(before["w"] == w)
                keep[idx[np.argmax(before["t"][idx])]] = True
            before = {k: v[keep] for k, v in before.items()}
    if after_s <= 0:
        return before
    after = _neighbours(session, ids, start, end, 0.0, after_s, pg)
    if after is None:
        return before
    return {k: np.concatenate([before[k], after[k]]) for k in _FIELDS}


def _to_fixes(cols: dict[str, np.ndarray], ids: list[str]) -> dict[str, Fixes]:
    from geo.crs import to_wgs84

    lon = cols["x"].copy()
    lat = cols["y"].copy()
    for code, datum in ((1, "gcj02"), (2, "bd09")):  # fixes stored without a WGS-84 geom
        m = (cols["datum"] == code) & np.isfinite(lon) & np.isfinite(lat)
        if m.any():
            lon[m], lat[m] = to_wgs84(lon[m], lat[m], datum)
    hb = cols["hb"]
    lon[hb] = np.nan
    lat[hb] = np.nan
    order = np.lexsort((cols["t"], cols["w"]))
    w = cols["w"][order]
    bounds = np.searchsorted(w, np.arange(1, len(ids) + 2))
    app = _decode(cols["app"][order], _APP_STATES)
    net = _decode(cols["net"][order], _NETWORKS)
    out: dict[str, Fixes] = {}
    for i, wid in enumerate(ids):
        a, b = int(bounds[i]), int(bounds[i + 1])
        if a == b:
            continue
        sl = order[a:b]
        out[wid] = Fixes(
            t=cols["t"][sl], lon=lon[sl], lat=lat[sl], accuracy_m=cols["acc"][sl],
            speed_mps=cols["spd"][sl], mock=cols["mock"][sl], is_heartbeat=hb[sl],
            received_at=cols["recv"][sl], gps_on=cols["gps"][sl], app_state=app[a:b],
            network=net[a:b], battery_pct=cols["batt"][sl],
        )
    return out


# --------------------------------------------------------------------------- other inputs


def _point_lonlat(geom: Any, lon: float, lat: float, datum: str) -> tuple[float, float]:
    if geom is not None:
        return float(geom.x), float(geom.y)
    if datum in ("gcj02", "bd09"):
        from geo.crs import to_wgs84

        x, y = to_wgs84(lon, lat, datum)
        return float(x), float(y)
    return float(lon), float(lat)


def _events(session: Session, ids: Sequence[str], start: float, end: float,
            until: float | None = None) -> tuple[dict[str, list[SignIn]], dict[str, list[Interval]],
                       dict[str, list[GeoExemption]]]:
    a, b = _utc(start), _utc(end)
    signins: dict[str, list[SignIn]] = {}
    patrols: dict[str, list[Interval]] = {}
    exempt: dict[str, list[GeoExemption]] = {}
    for chunk in _chunks(list(ids), 5000):
        for r in session.execute(
                sa.select(Signin.worker_id, Signin.signed_at, Signin.geom, Signin.lon,
                          Signin.lat, Signin.datum, Signin.accuracy_m)
                .where(Signin.worker_id.in_(chunk), Signin.signed_at >= a, Signin.signed_at < b)):
            lon, lat = _point_lonlat(r.geom, r.lon, r.lat, r.datum)
            signins.setdefault(r.worker_id, []).append(
                SignIn(t=r.signed_at.timestamp(), lon=lon, lat=lat, accuracy_m=r.accuracy_m))
        for r in session.execute(
                sa.select(PatrolSession.worker_id, PatrolSession.started_at,
                          PatrolSession.ended_at)
                .where(PatrolSession.worker_id.in_(chunk), PatrolSession.started_at < b,
                       sa.or_(PatrolSession.ended_at.is_(None), PatrolSession.ended_at >= a))):
            s0 = r.started_at.timestamp()
            patrols.setdefault(r.worker_id, []).append(
                Interval(start=s0, end=r.ended_at.timestamp() if r.ended_at
                         else max(s0, until) if until is not None else s0))  # open: until now
        for r in session.execute(
                sa.select(Exemption.worker_id, Exemption.start_at, Exemption.end_at,
                          Exemption.kind, Exemption.place, Exemption.place_radius_m)
                .where(Exemption.worker_id.in_(chunk), Exemption.status == "approved",
                       Exemption.start_at < b, Exemption.end_at > a)):
            place = None
            if r.place is not None and r.place_radius_m:
                place = Place(lon=float(r.place.x), lat=float(r.place.y),
                              radius_m=float(r.place_radius_m))
            exempt.setdefault(r.worker_id, []).append(GeoExemption(
                start=r.start_at.timestamp(), end=r.end_at.timestamp(), kind=r.kind,
                place=place))
    for d in (signins, patrols, exempt):
        for v in d.values():
            v.sort(key=lambda x: getattr(x, "t", getattr(x, "start", 0.0)))
    return signins, patrols, exempt


def server_outages(session: Session, start: float, end: float) -> tuple[Interval, ...]:
    """Intervals when the server itself was not receiving (``server_outage`` rows, detected
    or recorded by hand, :mod:`checkins.outages.service`): never charged as GEO-PHONEOFF."""
    from checkins.outages.service import outages_between

    return tuple(Interval(start=o.start_at.timestamp(), end=o.end_at.timestamp())
                 for o in outages_between(session, _utc(start), _utc(end)))


# --------------------------------------------------------------------------- the flow


def _add(timings: dict[str, float] | None, key: str, t0: float) -> float:
    """Add the seconds since ``t0`` to ``timings[key]``; now."""
    now = time.perf_counter()
    if timings is not None:
        timings[key] = timings.get(key, 0.0) + now - t0
    return now


def build_db_worker_days(session: Session, items: Sequence[WorkerDate], ctx: _Context,
                         *, until: float | None = None,
                         since: dict[str, float] | None = None,
                         timings: dict[str, float] | None = None) -> list[WorkerDay]:
    """One ``WorkerDay`` per (worker, date) that has a grid on that date, from the database.

    ``until`` (POSIX s): treat the rest of the day after it as not yet received (live
    checks: the future is never a phone-off). ``since`` (POSIX s per worker, the
    incremental live check): read the worker's fixes only from there on (plus the nearest
    before); what the engine then says about earlier times is not to be used.
    """
    params = ctx.params
    by_date: dict[dt.date, list[str]] = {}
    for w, d in items:
        if w in ctx.workers and ctx.grid_on(w, d) is not None:
            by_date.setdefault(d, []).append(w)
    days: list[WorkerDay] = []
    for date in sorted(by_date):
        ids = sorted(set(by_date[date]))
        start, end = day_bounds(date, ctx.tz)
        margin = params.max_gap_s
        t0 = time.perf_counter()
        fixes = read_fixes(session, ids, start - margin, end + margin, until=until,
                           since=since)
        t0 = _add(timings, "read_positions_s", t0)
        signins, patrols, exempt = _events(session, ids, start, end, until)
        outages = list(server_outages(session, start, end))
        t0 = _add(timings, "read_other_s", t0)
        if until is not None and until < end:
            outages.append(Interval(start=until, end=end + margin))
        for w in ids:
            role, village = ctx.workers[w]
            gid = ctx.grid_on(w, date)
            assert gid is not None
            days.append(make_worker_day(
                worker_id=w, date=date, role=role, grid_id=gid, grid=ctx.grid_geom[gid],
                office=ctx.office.get(village), fixes=fixes.get(w, Fixes.empty()),
                signins=signins.get(w, ()), patrols=patrols.get(w, ()),
                exemptions=exempt.get(w, ()), params=params, bounds=(start, end),
                server_down=outages, platform=ctx.platforms.get(w)))
        _add(timings, "build_days_s", t0)
    return days


def flag_decisions(session: Session, items: Sequence[WorkerDate]
                   ) -> dict[WorkerDate, dict[tuple[str, str], str]]:
    """Offices' flag decisions in force per worker-day: ``{(kind, flag_key): decision}``."""
    out: dict[WorkerDate, dict[tuple[str, str], str]] = {}
    for chunk in _chunks(list(items), 2000):
        workers = sorted({w for w, _ in chunk})
        dates = sorted({d for _, d in chunk})
        rows = session.scalars(sa.select(FlagDecision).where(
            FlagDecision.worker_id.in_(workers), FlagDecision.work_date.in_(dates))
            .order_by(FlagDecision.decided_at, FlagDecision.id))
        for r in rows:  # later decisions overwrite earlier ones
            out.setdefault((r.worker_id, r.work_date), {})[(r.kind, r.flag_key)] = r.decision
    return out


def apply_flag_decisions(result: Any, decisions: dict[tuple[str, str], str] | None,
                         tz: ZoneInfo) -> Any:
    """Attach an office's confirm/dismiss decisions to the engine's flags of one day.

    A flag is keyed as the day entry shows it (``checkins.office.decisions.flags_of``): an off-post
    or cross-post interval by its start, a suspect fix by its time, both ISO 8601 to the
    whole second in the township's zone; a GEO-SPOOF review flag (kind ``suspect`` too) by
    its time and reason (``geo.spoof.review_key``). ``scoring.day`` then leaves dismissed
    intervals uncharged and charges confirmed false locations (YK-SAFETY).
    """
    if not decisions:
        return result

    from geo.engine import local_iso
    from geo.spoof import review_key

    offpost = tuple(replace(o, decision=decisions.get(("offpost", local_iso(o.start, tz))))
                    for o in result.offpost)
    suspects = tuple(replace(s, decision=decisions.get(("suspect", local_iso(s.t, tz))))
                     for s in result.suspect_fixes)
    flags = tuple(replace(f, decision=decisions.get(("suspect", review_key(local_iso(f.t, tz), f.reason))))
                  for f in result.spoof_flags)
    return replace(result, offpost=offpost, suspect_fixes=suspects, spoof_flags=flags)


def judge_worker_days(session: Session, items: Sequence[WorkerDate], *,
                      profile: Profile | str | None = None, until: float | None = None,
                      since: dict[str, float] | None = None, score: bool = True,
                      timings: dict[str, float] | None = None
                      ) -> list[tuple[Any, dict[str, Any] | None]]:
    """Judge (worker_id, date) pairs without saving: ``(engine DayResult, day entry)`` each.

    Pairs whose worker has no grid on that date are left out. Entries are the FORMATS.md
    ``evaluate`` day entries with deductions, sorted by worker then date. ``timings``, if
    given, accumulates seconds per step (reading, engine, scoring). ``since``: see
    :func:`build_db_worker_days` (the day entries are then partial: live checks only).
    ``score=False``: the engine's results only (entries None; no flag decisions, cases).
    """
    from geo.engine import evaluate_days

    items = list(dict.fromkeys(items))
    if not items:
        return []
    t0 = time.perf_counter()
    prof = _profile(session, profile)
    ctx = _context(session, prof, (w for w, _ in items))
    decided = flag_decisions(session, items) if score else {}
    tz = ZoneInfo(prof.timezone)
    # NB-VOLUME's denominator: the grids of the worker's township (the district)
    village_town = dict(session.execute(sa.select(Village.village_id, Village.township_id)).all())
    town_grids = dict(session.execute(
        sa.select(Village.township_id, sa.func.count(Grid.grid_id))
        .join(Grid, Grid.village_id == Village.village_id).group_by(Village.township_id)).all())
    _add(timings, "read_other_s", t0)
    out: list[tuple[Any, dict[str, Any] | None]] = []
    # read and judge a date at a time, in engine batches bounded by fix count
    by_date: dict[dt.date, list[WorkerDate]] = {}
    for it in items:
        by_date.setdefault(it[1], []).append(it)
    for date in sorted(by_date):
        group = by_date[date]
        outages = _day_outages(session, date, tz)
        for part in _chunks(group, 20_000):
            days = build_db_worker_days(session, part, ctx, until=until, since=since,
                                        timings=timings)
            if not score:
                for batch in batch_by_date(days, MAX_FIXES_PER_BATCH):
                    t0 = time.perf_counter()
                    out.extend((r, None) for r in evaluate_days(batch, ctx.params,
                                                                grids=ctx.index))
                    _add(timings, "engine_s", t0)
                continue
            t0 = time.perf_counter()
            day_fixes = {(d.worker_id, d.date): d.fixes for d in days}
            start, end = day_bounds(date, tz)
            cases = case_records(session, sorted({d.worker_id for d in days}), _utc(start), _utc(end))
            # YK-HAZARD / YK-SAFETY: the cases others found in the worker's grid that day
            cats = grid_categories(prof)
            if cats:
                found = grid_records(session, {d.worker_id: d.grid_id for d in days}, _utc(start), _utc(end), cats)
                for w, recs in found.items():
                    if recs:
                        cases[w] = [*cases.get(w, ()), *recs]
            t0 = _add(timings, "read_other_s", t0)
            for batch in batch_by_date(days, MAX_FIXES_PER_BATCH):
                t0 = time.perf_counter()
                results = evaluate_days(batch, ctx.params, grids=ctx.index)
                t0 = _add(timings, "engine_s", t0)
                for result in results:
                    result = apply_flag_decisions(
                        result, decided.get((result.worker_id, result.date)), tz)
                    entry, _ = day_entry(result, prof, outages=outages)
                    # NB-ARRIVE / NB-VOLUME / YK-CASE-SLA from the case records of the day
                    add_cases(entry, day_fixes[(result.worker_id, result.date)],
                              cases.get(result.worker_id, ()), prof, ctx.params,
                              town_grids.get(village_town.get(ctx.workers[result.worker_id][1])))
                    out.append((result, entry))
                _add(timings, "scoring_json_s", t0)
    out.sort(key=lambda p: (p[0].worker_id, p[0].date))
    return out


def _day_outages(session: Session, date: dt.date, tz: ZoneInfo) -> list[Any]:
    from checkins.outages.service import outages_between

    start, end = day_bounds(date, tz)
    return outages_between(session, _utc(start), _utc(end))


def _profile(session: Session, profile: Profile | str | None) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if profile is not None:
        return load_profile(profile)
    return township_profile(session)


def evaluate_worker_days(session: Session, items: Sequence[WorkerDate], *,
                         profile: Profile | str | None = None,
                         evaluated_at: dt.datetime | None = None,
                         grace_s: float | None = None,
                         timings: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Judge (worker_id, date) pairs and upsert their ``day_result`` rows; the day entries.

    The entry (``day_result.result``) is the ``gridpatrol evaluate`` day entry (with
    deductions); ``provisional`` is set until ``grace_s`` after the local day ended, and
    ``needs_reevaluation`` is cleared. The caller commits.
    """
    evaluated_at = evaluated_at or dt.datetime.now(dt.UTC)
    grace = DEFAULT_GRACE_S if grace_s is None else grace_s
    prof = _profile(session, profile)
    tz = ZoneInfo(prof.timezone)
    judged = judge_worker_days(session, items, profile=prof, timings=timings)
    entries = [e for _, e in judged]
    if not entries:
        return []
    t0 = time.perf_counter()
    keys = [(e["worker_id"], dt.date.fromisoformat(e["date"])) for e in entries]
    existing: dict[WorkerDate, DayResult] = {}
    for chunk in _chunks(keys, 2000):
        workers = sorted({w for w, _ in chunk})
        dates = sorted({d for _, d in chunk})
        for row in session.scalars(sa.select(DayResult).where(
                DayResult.worker_id.in_(workers), DayResult.work_date.in_(dates))):
            existing[(row.worker_id, row.work_date)] = row
    for (w, d), entry in zip(keys, entries, strict=True):
        prov = is_provisional(d, tz, evaluated_at, grace)
        row = existing.get((w, d))
        if row is None:
            session.add(DayResult(worker_id=w, work_date=d, result=entry, provisional=prov,
                                  evaluated_at=evaluated_at, needs_reevaluation=False))
        else:
            row.result = entry
            row.provisional = prov
            row.evaluated_at = evaluated_at
            row.needs_reevaluation = False
    session.flush()
    _add(timings, "save_s", t0)
    return entries


def workers_on(session: Session, date: dt.date, village_id: str | None = None) -> list[str]:
    """Active workers with a grid assigned on ``date`` (of one village if given)."""
    q = (sa.select(GridAssignment.worker_id).distinct()
         .join(Worker, Worker.worker_id == GridAssignment.worker_id)
         .where(Worker.active.is_(True), GridAssignment.valid_from <= date,
                sa.or_(GridAssignment.valid_to.is_(None), GridAssignment.valid_to > date)))
    if village_id is not None:
        q = q.where(Worker.village_id == village_id)
    return sorted(session.scalars(q))


def evaluate_date(session: Session, date: dt.date, village_id: str | None = None, *,
                  profile: Profile | str | None = None,
                  evaluated_at: dt.datetime | None = None,
                  grace_s: float | None = None,
                  timings: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Judge and save every worker with a grid on ``date`` (one village if given)."""
    items = [(w, date) for w in workers_on(session, date, village_id)]
    if profile is None and village_id is not None:
        profile = township_profile(session, village_id)
    return evaluate_worker_days(session, items, profile=profile, evaluated_at=evaluated_at,
                                grace_s=grace_s, timings=timings)


def pending_items(session: Session, limit: int | None = None) -> list[WorkerDate]:
    """The (worker_id, date) pairs whose ``day_result`` is marked ``needs_reevaluation``."""
    q = (sa.select(DayResult.worker_id, DayResult.work_date)
         .where(DayResult.needs_reevaluation.is_(True))
         .order_by(DayResult.work_date, DayResult.worker_id))
    if limit:
        q = q.limit(limit)
    return [(w, d) for w, d in session.execute(q)]


def reevaluate_pending(session: Session, *, profile: Profile | str | None = None,
                       evaluated_at: dt.datetime | None = None, grace_s: float | None = None,
                       limit: int | None = None) -> list[dict[str, Any]]:
    """Re-judge only the worker-days marked ``needs_reevaluation`` (late data, decisions).

    A marked day whose worker no longer has a grid on that date is left as it is, with its
    mark cleared (nothing to judge it against).
    """
    items = pending_items(session, limit)
    entries = evaluate_worker_days(session, items, profile=profile, evaluated_at=evaluated_at,
                                   grace_s=grace_s)
    done = {(e["worker_id"], e["date"]) for e in entries}
    left = [(w, d) for w, d in items if (w, d.isoformat()) not in done]
    if left:
        mark_for_reevaluation(session, left, value=False)
    return entries


def mark_for_reevaluation(session: Session, items: Iterable[WorkerDate], *,
                          value: bool = True) -> int:
    """Set ``needs_reevaluation`` on the existing ``day_result`` rows of these pairs.

    An office decision calls this (or :func:`evaluate_worker_days` directly); a day with no
    row yet is judged by the nightly run anyway. Returns the number of rows changed.
    """
    n = 0
    for w, d in items:
        res = session.execute(sa.update(DayResult).where(
            DayResult.worker_id == w, DayResult.work_date == d).values(
            needs_reevaluation=value))
        n += res.rowcount or 0
    return n


__all__ = [
    "DEFAULT_GRACE_S", "build_db_worker_days", "evaluate_date", "evaluate_worker_days",
    "is_provisional", "judge_worker_days", "mark_for_reevaluation", "pending_items",
    "read_fixes", "reevaluate_pending", "server_outages", "township_profile", "workers_on",
]
