"""The patrol-verification engine: one worker-day in, every GEO/YK/NB verdict out.

``evaluate_days`` judges a batch of worker-days at once: the fixes of all workers are
concatenated and every rule runs over all of them at once, the per-fix and per-segment work
as compiled passes (numba: GEO-SPOOF, segments, GEO-STILL, GEO-INGRID, GEO-OFFPOST,
NB-ONLINE), the rest as numpy/shapely calls (the per-worker Python work is only
bookkeeping and building the result objects).
``evaluate_day`` is the same computation for one worker-day and gives identical results:
each worker's local projection depends only on its own grid (``geo.crs.projection_key``).

Order of the stages (each in its own module, named by its rule id):
GEO-VALID (validity) -> GEO-CRS local projection (crs) -> GEO-SPOOF (spoof) ->
segments between usable fixes -> GEO-STILL (still) -> GEO-INGRID (ingrid) ->
YK-PATROL* (patrol) -> GEO-DUTY (duty) -> GEO-OFFPOST/GEO-CROSSPOST (offpost) ->
GEO-PHONEOFF (phoneoff) -> NB-ONLINE (online) -> GEO-SIGNIN (signin); YK-DAYS (calendar).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from numba import njit

from geo.calendar import is_working_day
from geo.crs import project, project_keyed, projection_key
from geo.duty import (
    allowed_places,
    covering_exemption,
    day_bounds,
    duty_intervals,
    duty_table,
    local_instant,
)
from geo.ingrid import (
    LOST_NAMES,
    inside_pieces,
    prepare_grids,
    segments,
    window_seconds,
)
from geo.jit import JIT
from geo.offpost import offpost_intervals
from geo.online import online_seconds
from geo.patrol import patrol_status
from geo.phoneoff import phone_off_intervals
from geo.signin import judge_signin
from geo.spoof import reasons_of, review_flags, review_key, spoof_flags_of, suspect_bits
from geo.still import stay_cut_times
from geo.types import (
    DayResult,
    GeoParams,
    GridIndex,
    PatrolResult,
    SuspectFix,
    WorkerDay,
    rule_of,
)
from geo.validity import REASONS, reject_codes

RULE_IDS = (
    "GEO-CRS", "GEO-VALID", "GEO-SPOOF", "GEO-INGRID", "GEO-STILL", "GEO-OFFPOST",
    "GEO-CROSSPOST", "GEO-PHONEOFF", "GEO-DUTY", "GEO-SIGNIN", "YK-SIGNIN-PLACE", "YK-LOG",
    "YK-PATROL", "YK-PATROL-DURATION", "YK-PATROL-WINDOWS", "YK-PATROL-PERFORMED", "YK-DAYS",
    "NB-ONLINE",
)

#: Largest number of worker-days judged in one vectorised pass. Smaller passes keep each
#: column (~2 MB at 250 eight-hour days) near the caches between the compiled passes:
#: 250 measured 8-25% faster than 1,000 on this machine kind (docs/performance.md).
MAX_BATCH = 250

_STATE_FIELDS = ("gps_on", "app_state", "network", "battery_pct")
#: ``PatrolResult.lost_s`` keys, in their order
_LOST_KEYS = ("gap", "speed", "still", "suspect")


@njit(**JIT)
def _valid_fixes(t, w, lon, lat, acc, mock, hb, code, d0, d1, n, n_reasons):
    """One pass over the sorted items: GEO-VALID rejections in the local day counted per
    worker and reason (heartbeats are not positions: never rejected), then the valid fixes
    gathered (t, worker, degrees, accuracy, mock, whether in the local day)."""
    m = t.shape[0]
    rej = np.zeros((n, n_reasons))
    nv = 0
    for i in range(m):
        if hb[i]:
            continue
        c = code[i]
        if c > 0:
            g = w[i]
            if t[i] >= d0[g] and t[i] < d1[g]:
                rej[g, c] += 1.0
            continue
        nv += 1
    vt = np.empty(nv)
    vw = np.empty(nv, np.int64)
    vlon = np.empty(nv)
    vlat = np.empty(nv)
    vacc = np.empty(nv)
    vmock = np.empty(nv, np.bool_)
    vin = np.empty(nv, np.bool_)
    k = 0
    for i in range(m):
        if hb[i] or code[i] > 0:
            continue
        g = w[i]
        vt[k] = t[i]
        vw[k] = g
        vlon[k] = lon[i]
        vlat[k] = lat[i]
        vacc[k] = acc[i]
        vmock[k] = mock[i]
        vin[k] = t[i] >= d0[g] and t[i] < d1[g]
        k += 1
    return vt, vw, vlon, vlat, vacc, vmock, vin, rej


def evaluate_day(day: WorkerDay, params: GeoParams, grids: GridIndex | None = None) -> DayResult:
    """Judge one worker-day (same result as ``evaluate_days([day], ...)[0]``)."""
    return evaluate_days([day], params, grids)[0]


def _opt(days: Sequence[WorkerDay], name: str, lens: np.ndarray) -> np.ndarray | None:
    """An optional per-fix column of the batch (NaN where a day lacks it), None if no day
    has it."""
    if all(getattr(d.fixes, name) is None for d in days):
        return None
    parts = []
    for d, k in zip(days, lens.tolist(), strict=True):
        v = getattr(d.fixes, name)
        parts.append(np.full(k, np.nan) if v is None else np.asarray(v, np.float64))
    return np.concatenate(parts) if parts else np.zeros(0)


def _fallback_centre(days: list[WorkerDay]) -> tuple[float, float, float, float]:
    """A (lon, lat, lon, lat) box for workers whose grid is empty: office or first fix."""
    for d in days:
        if d.office is not None:
            return (d.office.lon, d.office.lat, d.office.lon, d.office.lat)
        ok = np.flatnonzero(np.isfinite(d.fixes.lon) & np.isfinite(d.fixes.lat))
        if ok.size:
            lon, lat = float(d.fixes.lon[ok[0]]), float(d.fixes.lat[ok[0]])
            return (lon, lat, lon, lat)
    return (0.0, 0.0, 0.0, 0.0)


def _project_geoms(geoms: np.ndarray, key: tuple[float, float]) -> np.ndarray:
    def fn(c: np.ndarray) -> np.ndarray:
        x, y = project(c[:, 0], c[:, 1], key)
        return np.c_[x, y]

    return shapely.transform(geoms, fn)


def evaluate_days(
    days: Sequence[WorkerDay], params: GeoParams, grids: GridIndex | None = None
) -> list[DayResult]:
    """Judge many worker-days at once, vectorised across workers (see the module doc).

    Batches larger than ``MAX_BATCH`` worker-days are judged in slices of that size, which
    bounds memory (~60 MB per slice of 250 eight-hour days at one fix per 30 s) and is
    faster than one big pass; results do not depend on the slicing.
    """
    days = list(days)
    n = len(days)
    if n == 0:
        return []
    if n > MAX_BATCH:
        out: list[DayResult] = []
        for s in range(0, n, MAX_BATCH):
            out.extend(_evaluate_batch(days[s : s + MAX_BATCH], params, grids))
        return out
    return _evaluate_batch(days, params, grids)


def _evaluate_batch(
    days: list[WorkerDay], params: GeoParams, grids: GridIndex | None
) -> list[DayResult]:
    n = len(days)
    tz = params.timezone
    wnames = sorted(params.patrol_windows)
    ar = np.arange(n)

    # ---------------------------------------------------------------- per worker-day
    # what depends only on the date (day bounds, YK-DAYS, the windows) once per date
    per_date: dict[dt.date, tuple] = {}
    for d in days:
        if d.date not in per_date:
            per_date[d.date] = (
                day_bounds(d.date, tz),
                is_working_day(d.date, params.working_days, params.calendar_overrides),
                [local_instant(d.date, params.patrol_windows[k][0], tz) for k in wnames],
                [local_instant(d.date, params.patrol_windows[k][1], tz) for k in wnames],
            )
    dated = [per_date[d.date] for d in days]
    bounds = np.array([x[0] for x in dated])
    D0, D1 = bounds[:, 0], bounds[:, 1]
    working = [x[1] for x in dated]
    W0 = np.array([x[2] for x in dated])
    W1 = np.array([x[3] for x in dated])
    duty_of_date: dict[tuple[dt.date, bool], list[tuple[float, float]]] = {}
    duty = []
    for d, wk in zip(days, working, strict=True):
        if d.exemptions:
            duty.append(duty_intervals(d, params.duty_windows, tz, wk))
            continue
        iv = duty_of_date.get((d.date, wk))
        if iv is None:
            iv = duty_of_date[(d.date, wk)] = duty_intervals(d, params.duty_windows, tz, wk)
        duty.append(iv)
    DM0, DM1 = duty_table(duty)
    duty_s = (DM1 - DM0).sum(axis=1)

    # ---------------------------------------------------------------- grids, GEO-CRS
    gslot: dict[int, int] = {}
    uniq: list = []
    widx = np.empty(n, dtype=np.int64)
    for i, d in enumerate(days):
        j = gslot.get(id(d.grid))
        if j is None:
            j = gslot[id(d.grid)] = len(uniq)
            uniq.append(d.grid)
        widx[i] = j
    ugeoms = np.empty(len(uniq), dtype=object)
    ugeoms[:] = uniq
    ub = shapely.bounds(ugeoms)
    bad = ~np.isfinite(ub).all(axis=1)
    if bad.any():  # empty grid: centre the projection on the worker's data instead
        for j in np.flatnonzero(bad):
            ub[j] = _fallback_centre([d for d, k in zip(days, widx, strict=True) if k == j])
    ukeys = [projection_key((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in ub]
    keyset = sorted(set(ukeys))
    ukid = np.array([keyset.index(k) for k in ukeys], dtype=np.int64)
    uproj = np.empty(len(uniq), dtype=object)
    for kid, key in enumerate(keyset):
        sel = np.flatnonzero(ukid == kid)
        uproj[sel] = _project_geoms(ugeoms[sel], key)
    ugs = prepare_grids(uproj, params.boundary_tolerance_m)
    gs = ugs.take(widx)
    wkid = ukid[widx]

    def proj_by_worker(w: np.ndarray, lon: np.ndarray, lat: np.ndarray):
        return project_keyed(lon, lat, None if len(keyset) == 1 else wkid[w], keyset)

    # ---------------------------------------------------------------- items, sorted
    lens = np.fromiter((len(d.fixes) for d in days), dtype=np.int64, count=n)
    offs = np.cumsum(lens) - lens
    t_all = np.concatenate([d.fixes.t for d in days]).astype(np.float64, copy=False)
    lon_all = np.concatenate([d.fixes.lon for d in days]).astype(np.float64, copy=False)
    lat_all = np.concatenate([d.fixes.lat for d in days]).astype(np.float64, copy=False)
    acc_all = np.concatenate([d.fixes.accuracy_m for d in days]).astype(np.float64, copy=False)
    mock_all = np.concatenate([d.fixes.mock for d in days]).astype(bool)
    hb_all = np.concatenate([d.fixes.is_heartbeat for d in days]).astype(bool)
    recv_all = _opt(days, "received_at", lens)
    w_all = np.repeat(ar, lens)
    fin = np.isfinite(t_all)
    identity = bool(fin.all())
    src = None if identity else np.flatnonzero(fin)  # item -> row in *_all (None: the same)
    t, w = (t_all, w_all) if identity else (t_all[src], w_all[src])
    if t.size > 1:
        bad = (w[1:] == w[:-1]) & (t[1:] <= t[:-1])
        if bad.any():  # canonical order, so shuffled input gives the same result
            if src is None:
                src = np.arange(t_all.size)
            o = np.lexsort((
                acc_all[src], mock_all[src], lat_all[src], lon_all[src], hb_all[src], t, w,
            ))
            src = src[o]
            identity = False
            t, w = t_all[src], w_all[src]
    if identity:  # already in order: no copies
        lon, lat, acc = lon_all, lat_all, acc_all
        mock, hb, recv = mock_all, hb_all, recv_all
    else:
        lon, lat, acc = lon_all[src], lat_all[src], acc_all[src]
        mock, hb = mock_all[src], hb_all[src]
        recv = None if recv_all is None else recv_all[src]

    # ---------------------------------------------------------------- GEO-VALID
    code = reject_codes(lon, lat, acc, t, recv, params)
    vt, vw, vlon, vlat, vacc, vmock, vin_day, rej = _valid_fixes(
        t, w, lon, lat, acc, mock, hb, code, D0, D1, n, len(REASONS))
    nonfin = np.bincount(w_all[~fin], minlength=n) if (~fin).any() else np.zeros(n)
    rej[:, 1] += nonfin

    # ---------------------------------------------------------------- GEO-SPOOF
    vx, vy = proj_by_worker(vw, vlon, vlat)
    bits = suspect_bits(vx, vy, vt, vmock, vw, params)
    sus_idx = np.flatnonzero((bits > 0) & vin_day)

    # ---------------------------------------------------------------- usable fixes, segments
    sg = segments(vx, vy, vt, vw, vlon, vlat, vin_day, bits, D0, D1, params.max_gap_s, params.max_speed_kmh)
    ux, uy, ut, uw, ulon, ulat, used = sg.ux, sg.uy, sg.ut, sg.uw, sg.ulon, sg.ulat, sg.used
    a, b, sw = sg.a, sg.b, sg.sw
    seg_dt, seg_len, status = sg.dt, sg.length, sg.status
    ustart = np.searchsorted(uw, ar, side="left")
    uend = np.searchsorted(uw, ar, side="right")
    # GEO-SPOOF review flags on the usable fixes (bits 0): they exclude nothing
    ios = np.array([d.platform == "ios" for d in days], dtype=bool)
    rf = review_flags(vx, vy, vt, vacc, vw, vin_day, params, ios, skip=bits, ios_by_worker=True)
    rf_lim = np.searchsorted(vw[rf.at], np.arange(n + 1), side="left").tolist()

    # ---------------------------------------------------------------- GEO-STILL
    cut_fix, _, _ = stay_cut_times(ux, uy, ut, ustart, uend, params.still_radius_m, params.still_max_s)
    cut = cut_fix[a]

    # ---------------------------------------------------------------- GEO-INGRID
    p_raw, p_buf = inside_pieces(gs, sw, ux, uy, a, b, seg_len)
    sec_buf, counted_r = window_seconds(p_buf, p_raw, sw, ut, a, b, status, cut, W0, W1)

    # ---------------------------------------------------------------- GEO-OFFPOST
    office = np.full((n, 3), np.nan)
    places: list[tuple[int, float, float, float, float, float]] = []
    ow, olon, olat, orad = [], [], [], []
    for i, d in enumerate(days):
        if d.office is not None:
            ow.append(i)
            olon.append(d.office.lon)
            olat.append(d.office.lat)
            orad.append(d.office.radius_m if d.office.radius_m > 0 else params.signin_radius_m)
        for pl, ps, pe in allowed_places(d) if d.exemptions else ():
            ow.append(-1 - len(places))
            olon.append(pl.lon)
            olat.append(pl.lat)
            orad.append(pl.radius_m)
            places.append((i, 0.0, 0.0, pl.radius_m, ps, pe))
    if ow:
        owa = np.array(ow)
        owner = np.where(owa >= 0, owa, np.array([places[-1 - k][0] if k < 0 else 0 for k in ow]))
        px, py = proj_by_worker(owner, np.array(olon), np.array(olat))
        for j, k in enumerate(ow):
            if k >= 0:
                office[k] = (px[j], py[j], orad[j])
            else:
                i, _, _, r, ps, pe = places[-1 - k]
                places[-1 - k] = (i, float(px[j]), float(py[j]), r, ps, pe)
    offp = offpost_intervals(
        sw=sw, ut=ut, ux=ux, uy=uy, ulon=ulon, ulat=ulat, fa=a, fb=b,
        known=seg_dt <= params.max_gap_s,
        inside_full=p_buf.full, inside_seg=p_buf.seg, inside_u0=p_buf.u0, inside_u1=p_buf.u1,
        office_xyr=office, places=places, duty0=DM0, duty1=DM1,
        min_s=params.offpost_min_s, grid_ids=[d.grid_id for d in days], grids=grids,
    )

    # ---------------------------------------------------------------- GEO-PHONEOFF, NB-ONLINE
    def state(k: int) -> dict | None:
        wk = int(w[k])
        f = days[wk].fixes
        j = (k if identity else int(src[k])) - int(offs[wk])  # the item's row in its day
        st = {name: getattr(f, name)[j] for name in _STATE_FIELDS if getattr(f, name) is not None}
        return st or None

    poff = phone_off_intervals(
        n=n, t=t, w=w, state=state, duty=duty, server_down=[d.server_down for d in days],
        min_s=params.phoneoff_min_s, low_battery_pct=params.phoneoff_low_battery_pct,
    )
    online_s = online_seconds(t, w, DM0, DM1, params.online_window_s)

    # ---------------------------------------------------------------- GEO-SIGNIN inputs
    s_w, s_lon, s_lat = [], [], []
    for i, d in enumerate(days):
        for s in d.signins:
            s_w.append(i)
            s_lon.append(s.lon)
            s_lat.append(s.lat)
    if s_w:
        sx, sy = proj_by_worker(np.array(s_w), np.array(s_lon, float), np.array(s_lat, float))
    s_pos = 0

    # ---------------------------------------------------------------- results
    sus_w = vw[sus_idx]
    sus_lim = np.searchsorted(sus_w, np.arange(n + 1), side="left").tolist()
    reasons = {int(v): reasons_of(int(v)) for v in np.unique(bits[sus_idx])}
    sus_all = [
        SuspectFix(t=a_, lon=b_, lat=c_, reasons=reasons[d_])
        for a_, b_, c_, d_ in zip(vt[sus_idx].tolist(), vlon[sus_idx].tolist(), vlat[sus_idx].tolist(),
                                  bits[sus_idx].tolist(), strict=True)
    ]
    counted_b = sec_buf["counted"]
    # whole seconds (round half to even, as round()) as Python ints, all at once
    in_grid_all = np.rint(counted_b).astype(np.int64).tolist()
    tol_all = np.rint(counted_b - counted_r).astype(np.int64).tolist()
    lost_all = {k: np.rint(sec_buf[k]).astype(np.int64).tolist() for k in _LOST_KEYS}
    still_any = (sec_buf["still"] > 0).tolist()
    rej_int = rej.astype(np.int64).tolist()
    duty_int = np.rint(duty_s).astype(np.int64).tolist()
    used_int = used.astype(np.int64).tolist()
    req_int = {r: int(round(v)) for r, v in params.required_patrol_s.items()}
    W0_l, W1_l = W0.tolist(), W1.tolist()
    online_rate = np.divide(online_s, duty_s, out=np.zeros(n), where=duty_s > 0).tolist()
    has_duty = (duty_s > 0).tolist()
    # the verdicts of a day without sign-ins are the same for everyone (results are frozen)
    no_signin = {
        req: judge_signin(required=req, times=np.zeros(0), distance_m=np.zeros(0),
                          accuracy_m=np.zeros(0), radius_m=None, max_accuracy_m=0.0, deadline_t=None)
        for req in (False, True)
    }
    results: list[DayResult] = []
    for i, d in enumerate(days):
        wk = working[i]
        role = d.role
        req = params.required_patrol_s[role]
        # duty before exemptions (to tell whether exemptions cover a window or the day)
        base_duty = (
            [(local_instant(d.date, x, tz), local_instant(d.date, y, tz)) for x, y in params.duty_windows]
            if wk and d.exemptions else duty[i]
        )
        patrols: dict[str, PatrolResult] = {}
        for k, name in enumerate(wnames):
            ws, we = W0_l[i][k], W1_l[i][k]
            in_grid = in_grid_all[i][k]
            exempt = None
            if d.exemptions and wk:
                part = [(max(ws, x), min(we, y)) for x, y in base_duty if min(we, y) > max(ws, x)]
                exempt = covering_exemption(d, part or [(ws, we)])
            started = bool(d.patrol_sessions) and any(ws <= s.start < we for s in d.patrol_sessions)
            lost = {key: lost_all[key][i][k] for key in _LOST_KEYS}
            status_ = patrol_status(
                working=wk, in_grid_s=in_grid, required_s=req, exemption=exempt,
                started_in_app=started, performed_min_s=params.performed_min_in_grid_s,
            )
            patrols[name] = PatrolResult(
                window=name, status=status_, in_grid_s=in_grid, required_s=req_int[role],
                tolerance_s=tol_all[i][k], lost_s=lost, stationary=still_any[i][k], started_in_app=started,
                exemption=exempt if status_ == "exempt" else None,
            )
        # sign-in
        ns = len(d.signins)
        dsx = sx[s_pos:s_pos + ns] if ns else np.zeros(0)
        dsy = sy[s_pos:s_pos + ns] if ns else np.zeros(0)
        s_pos += ns
        exempt_day = covering_exemption(d, base_duty) if d.exemptions and wk else None
        required = wk and role in params.signin_roles and exempt_day is None
        if required and ns:
            st_t = np.array([s.t for s in d.signins])
            st_acc = np.array([np.nan if s.accuracy_m is None else s.accuracy_m for s in d.signins])
            inday = (st_t >= D0[i]) & (st_t < D1[i])
            order = np.argsort(st_t[inday], kind="stable")
            st_t, st_acc = st_t[inday][order], st_acc[inday][order]
            if np.isnan(office[i, 0]):
                dist = np.full(st_t.size, np.inf)
                radius = None
            else:
                dist = np.hypot(dsx[inday][order] - office[i, 0], dsy[inday][order] - office[i, 1])
                radius = float(office[i, 2])
            dl = params.signin_deadline.get(role)
            signin = judge_signin(
                required=True, times=st_t, distance_m=dist, accuracy_m=st_acc, radius_m=radius,
                max_accuracy_m=params.signin_max_accuracy_m,
                deadline_t=None if dl is None else local_instant(d.date, dl, tz),
            )
        else:
            signin = no_signin[required]
        sf = tuple(sus_all[sus_lim[i]:sus_lim[i + 1]])
        results.append(DayResult(
            worker_id=d.worker_id, date=d.date, role=role, grid_id=d.grid_id, working_day=wk,
            patrols=patrols, signin=signin, offpost=tuple(offp[i]), phone_off=tuple(poff[i]),
            suspect_fixes=sf,
            spoof_flags=spoof_flags_of(rf, rf_lim[i], rf_lim[i + 1], vt, vlon, vlat),
            rejected={REASONS[k]: c for k, c in enumerate(rej_int[i]) if k > 0 and c > 0},
            fixes_used=used_int[i],
            online_rate=online_rate[i] if has_duty[i] else None,
            duty_s=duty_int[i],
        ))
    return results


# ---------------------------------------------------------------------------- JSON
def local_iso(ts: float, tz: ZoneInfo) -> str:
    """POSIX seconds as ISO 8601 local time with offset, to the whole second (rounded).

    The one spelling of a time in day entries, their deductions' evidence and the keys of
    office flag decisions: interpolated crossing times carry float noise below a microsecond.
    """
    return dt.datetime.fromtimestamp(round(ts), tz).isoformat()


def _iso(ts: float | None, tz: ZoneInfo) -> str | None:
    return None if ts is None else local_iso(ts, tz)


def day_result_to_json(result: DayResult, tz: str) -> dict:
    """FORMATS.md ``evaluate`` day entry without "deductions", plus explanation keys."""
    z = ZoneInfo(tz)
    return {
        "worker_id": result.worker_id,
        "date": result.date.isoformat(),
        "role": result.role,
        "grid_id": result.grid_id,
        "working_day": result.working_day,
        "patrols": {
            name: {
                "rule": "YK-PATROL",
                "status": p.status,
                "in_grid_s": int(p.in_grid_s),
                "required_s": int(p.required_s),
                "tolerance_s": int(p.tolerance_s),
                "lost_s": dict(p.lost_s),
                "stationary": p.stationary,
                "started_in_app": p.started_in_app,
                "exemption": p.exemption,
            }
            for name, p in result.patrols.items()
        },
        "signin": {
            "rule": "GEO-SIGNIN",
            "status": result.signin.status,
            "at": _iso(result.signin.at, z),
            "distance_m": None if result.signin.distance_m is None else round(result.signin.distance_m, 1),
        },
        "offpost": [
            {
                "rule": rule_of(o.kind),
                "kind": o.kind,
                "start": _iso(o.start, z),
                "end": _iso(o.end, z),
                "duration_s": int(round(o.end - o.start)),
                "other_grid_id": o.other_grid_id,
                **({"decision": o.decision} if o.decision else {}),
            }
            for o in result.offpost
        ],
        "phone_off": [
            {
                "rule": "GEO-PHONEOFF",
                "start": _iso(p.start, z),
                "end": _iso(p.end, z),
                "duration_s": int(round(p.end - p.start)),
                "cause": p.cause,
            }
            for p in result.phone_off
        ],
        "suspect_fixes": len(result.suspect_fixes),
        "suspect_fix_details": [
            {"rule": "GEO-SPOOF", "at": _iso(s.t, z), "lon": s.lon, "lat": s.lat,
             "reasons": list(s.reasons), **({"decision": s.decision} if s.decision else {})}
            for s in result.suspect_fixes
        ],
        "spoof_flags": [
            {"rule": "GEO-SPOOF", "at": _iso(f.t, z), "lon": f.lon, "lat": f.lat,
             "reasons": [f.reason], "key": review_key(_iso(f.t, z), f.reason),
             "start": _iso(f.start, z), "end": _iso(f.end, z), "excludes_fixes": False,
             "evidence": dict(f.evidence), **({"decision": f.decision} if f.decision else {})}
            for f in result.spoof_flags
        ],
        "rejected": {"rule": "GEO-VALID", **dict(sorted(result.rejected.items()))},
        "fixes_used": result.fixes_used,
        "online_rate": None if result.online_rate is None else round(result.online_rate, 4),
        "duty_s": result.duty_s,
    }


__all__ = ["evaluate_day", "evaluate_days", "day_result_to_json", "local_iso", "LOST_NAMES"]
