"""GEO-OFFPOST and GEO-CROSSPOST: on duty but outside every allowed zone.

Allowed zones: the worker's own grid with ``boundary_tolerance_m`` around it (the same B
as GEO-INGRID), the village office geofence (circle of the office's ``radius_m``) and, during
their approved interval, field-duty (外勤) places. The track between consecutive usable
fixes is interpolated linearly as in GEO-INGRID; a segment longer than ``max_gap_s`` is
*unknown* time: it is neither off post nor allowed and it breaks continuity (a silence is
judged by GEO-PHONEOFF instead). Outside time is clipped to duty (GEO-DUTY); each
continuous outside interval of at least ``offpost_min_s`` is one occurrence.

GEO-CROSSPOST: an off-post interval is ``crosspost`` with ``other_grid_id`` when more than
half of its duration lies inside one other worker's grid (GridIndex), judged at the
midpoint of each piece of track (pieces are at most one segment long). An interval only
partly in another grid (half or less) stays ``offpost``: it is not split. Both kinds are
one occurrence each.

The outside pieces are one compiled pass (numba, :func:`_outside_kernel`) over the
segments of the batch, each worker's after the other: complement of GEO-INGRID's pieces in
B, mapped to time, minus the office disc and the field-duty places (segment-circle
crossings solved exactly), clipped to duty and merged into runs on the fly. Only the long
runs' pieces go on to the GEO-CROSSPOST query (STRtree of the township's grids).
"""

from __future__ import annotations

import numpy as np
import shapely
from numba import njit

from geo.jit import JIT
from geo.types import GridIndex, OffPost

RULE_ID = "GEO-OFFPOST"
CROSS_RULE_ID = "GEO-CROSSPOST"
#: Outside pieces closer than this (seconds) are one continuous interval.
MERGE_EPS_S = 1e-6


_TREE_CACHE: list[tuple[GridIndex, shapely.STRtree]] = []


def grid_tree(grids: GridIndex) -> shapely.STRtree:
    """STRtree of the township's grids (WGS-84), cached for the last GridIndex seen."""
    if _TREE_CACHE and _TREE_CACHE[0][0] is grids:
        return _TREE_CACHE[0][1]
    tree = shapely.STRtree(np.asarray(grids.geoms, dtype=object))
    _TREE_CACHE[:] = [(grids, tree)]
    return tree


@njit(**JIT)
def _disc_cut(x0, y0, x1, y1, cx, cy, r):
    """Parameters (ua, ub) (clipped to [0, 1]) of a segment inside a circle; NaN if none."""
    dx = x1 - x0
    dy = y1 - y0
    fx = x0 - cx
    fy = y0 - cy
    a = dx * dx + dy * dy
    b = 2.0 * (fx * dx + fy * dy)
    c = fx * fx + fy * fy - r * r
    disc = b * b - 4.0 * a * c
    sq = np.sqrt(disc if disc > 0.0 or disc != disc else 0.0)
    if a > 0:
        ua = (-b - sq) / (2.0 * a)
        ub = (-b + sq) / (2.0 * a)
    elif c <= 0:
        ua, ub = 0.0, 1.0
    else:
        ua, ub = np.nan, np.nan
    if disc < 0 or ub < 0 or ua > 1 or r != r:
        return np.nan, np.nan
    return min(max(ua, 0.0), 1.0) if ua == ua else ua, min(max(ub, 0.0), 1.0) if ub == ub else ub


@njit(**JIT)
def _cut(pa, pb, qa, qb, m, c0, c1):
    """Remove [c0, c1) from the pieces pa[:m], pb[:m] (in time order; NaN: nothing);
    qa, qb are scratch. Returns the new count (the pieces stay in order)."""
    for i in range(m):
        qa[i] = pa[i]
        qb[i] = pb[i]
    out = 0
    for i in range(m):
        a = qa[i]
        b = qb[i]
        if not (c0 < b and c1 > a):
            pa[out] = a
            pb[out] = b
            out += 1
            continue
        if c0 > a:
            pa[out] = a
            pb[out] = c0
            out += 1
        if c1 < b:
            pa[out] = c1
            pb[out] = b
            out += 1
    return out


@njit(**JIT)
def _outside_kernel(sw, fa, fb, t, x, y, known, full, pseg, pu0, pu1,
                    office, pl_lim, pl, duty0, duty1, eps, k_start, q, m, nr,
                    oseg, olo, ohi, orid, rg, rs, re_):
    """GEO-OFFPOST over the segments of a batch (sorted by worker then time) from
    ``k_start`` (``q``: its first inside piece): the parts of the known segments outside B
    (complement of B's pieces), mapped to time, minus the office disc and the worker's
    field-duty places during their interval, clipped to duty and merged into runs of
    touching pieces, written to the pieces (segment, start, end, run) and runs (worker,
    start, end) buffers after the first ``m`` and ``nr``. Stops before a segment that might
    not fit (the caller grows the buffers and calls again: they are never reallocated in
    here, which would cost reference counting per segment). Returns (next segment, its
    first inside piece, pieces, runs)."""
    n = sw.shape[0]
    kd = duty0.shape[1]
    cap = oseg.shape[0]
    npl = pl_lim[-1] - pl_lim[0]
    pa = np.empty(4 + 2 * npl)
    pb = np.empty(4 + 2 * npl)
    qa = np.empty(4 + 2 * npl)
    qb = np.empty(4 + 2 * npl)
    np_ = pseg.shape[0]
    for k in range(k_start, n):
        q0 = q
        while q < np_ and pseg[q] == k:
            q += 1
        if not known[k] or full[k]:
            continue
        w = sw[k]
        t0 = t[fa[k]]
        x0 = x[fa[k]]
        y0 = y[fa[k]]
        x1 = x[fb[k]]
        y1 = y[fb[k]]
        # at most (inside pieces + 1) outside parts, each cut once more by the office and
        # by each place, each clipped to every duty interval
        if m + (q - q0 + 1) * (2 + pl_lim[w + 1] - pl_lim[w]) * kd > cap:
            return k, q0, m, nr
        d = t[fb[k]] - t0
        prev = 0.0
        for j in range(q0, q + 1):  # before each inside piece, and after the last one
            if j < q:
                ua = prev
                ub = pu0[j]
                prev = pu1[j]
            else:
                ua = prev
                ub = 1.0
            if not ub > ua:
                continue
            pa[0] = t0 + ua * d
            pb[0] = t0 + ub * d
            # the village office geofence, all day
            ca, cb = _disc_cut(x0, y0, x1, y1, office[w, 0], office[w, 1], office[w, 2])
            cnt = _cut(pa, pb, qa, qb, 1, t0 + ca * d, t0 + cb * d)
            # approved field-duty places, during their interval
            for p in range(pl_lim[w], pl_lim[w + 1]):
                if cnt == 0:
                    break
                ca, cb = _disc_cut(x0, y0, x1, y1, pl[p, 0], pl[p, 1], pl[p, 2])
                c0 = t0 + ca * d
                c1 = t0 + cb * d
                c0 = c0 if c0 != c0 or c0 > pl[p, 3] else pl[p, 3]
                c1 = c1 if c1 != c1 or c1 < pl[p, 4] else pl[p, 4]
                if c1 > c0:
                    cnt = _cut(pa, pb, qa, qb, cnt, c0, c1)
            # clipped to duty, merged with the previous piece when they touch
            for i in range(cnt):
                for jd in range(kd):
                    lo = max(pa[i], duty0[w, jd])
                    hi = min(pb[i], duty1[w, jd])
                    if not hi > lo:
                        continue
                    if nr == 0 or rg[nr - 1] != w or lo > ohi[m - 1] + eps:
                        rg[nr] = w
                        rs[nr] = lo
                        nr += 1
                    re_[nr - 1] = hi
                    oseg[m] = k
                    olo[m] = lo
                    ohi[m] = hi
                    orid[m] = nr - 1
                    m += 1
    return n, q, m, nr


def offpost_intervals(
    *,
    sw: np.ndarray,
    ut: np.ndarray,
    ux: np.ndarray,
    uy: np.ndarray,
    ulon: np.ndarray,
    ulat: np.ndarray,
    fa: np.ndarray,
    fb: np.ndarray,
    known: np.ndarray,
    inside_full: np.ndarray,
    inside_seg: np.ndarray,
    inside_u0: np.ndarray,
    inside_u1: np.ndarray,
    office_xyr: np.ndarray,
    places: list[tuple[int, float, float, float, float, float]],
    duty0: np.ndarray,
    duty1: np.ndarray,
    min_s: float,
    grid_ids: list[str],
    grids: GridIndex | None,
) -> list[list[OffPost]]:
    """GEO-OFFPOST / GEO-CROSSPOST intervals per worker (see the module docstring).

    Parameters
    ----------
    sw : worker of each segment; ut, ux, uy, ulon, ulat : POSIX s, metres and WGS-84
        degrees of the usable fixes; fa, fb : each segment's end fixes.
    known : segments with gap <= ``max_gap_s``.
    inside_* : GEO-INGRID's pieces inside the buffered grid: wholly inside (bool per
        segment), and the partial pieces.
    office_xyr : (workers, 3) office centre in metres and radius_m (NaN: none).
    places : (worker, x_m, y_m, radius_m, start, end) of approved field-duty places.
    duty0, duty1 : (workers, k) duty intervals, POSIX s (empty ones have start == end).
    """
    n = duty0.shape[0]
    out: list[list[OffPost]] = [[] for _ in range(n)]
    if sw.size == 0:
        return out
    full = np.ascontiguousarray(inside_full, dtype=np.bool_)
    # field-duty places per worker (rows x, y, radius, start, end), in the order given
    pw = np.array([p[0] for p in places], dtype=np.int64)
    pl = np.array([p[1:] for p in places], dtype=np.float64).reshape(-1, 5)
    order = np.argsort(pw, kind="stable")
    pw, pl = pw[order], pl[order]
    pl_lim = np.searchsorted(pw, np.arange(n + 1), side="left")
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (ut, ux, uy)]
    args = (
        np.ascontiguousarray(sw, dtype=np.int64), np.ascontiguousarray(fa, dtype=np.int64),
        np.ascontiguousarray(fb, dtype=np.int64), *f64, np.ascontiguousarray(known, dtype=np.bool_),
        full, np.ascontiguousarray(inside_seg, dtype=np.int64),
        np.ascontiguousarray(inside_u0, dtype=np.float64), np.ascontiguousarray(inside_u1, dtype=np.float64),
        np.ascontiguousarray(office_xyr, dtype=np.float64), pl_lim.astype(np.int64), pl,
        np.ascontiguousarray(duty0, dtype=np.float64), np.ascontiguousarray(duty1, dtype=np.float64),
        MERGE_EPS_S,
    )
    cap = 64 + sw.size // 4
    bufs = [np.empty(cap, dt) for dt in (np.int64, np.float64, np.float64, np.int64, np.int64, np.float64, np.float64)]
    k = q = m = nr = 0
    while True:
        k, q, m, nr = _outside_kernel(*args, k, q, m, nr, *bufs)
        if k == sw.size:
            break
        cap *= 2  # more outside pieces than room: grow and go on from segment k
        bufs = [np.concatenate([b, np.empty(cap - b.size, b.dtype)]) for b in bufs]
    seg, lo, hi, rid = (b[:m] for b in bufs[:4])
    g, rs, re_ = (b[:nr] for b in bufs[4:])
    long = np.flatnonzero(re_ - rs >= min_s)
    if long.size == 0:
        return out
    kind = ["offpost"] * long.size
    other: list[str | None] = [None] * long.size
    if grids is not None and grids.geoms:
        tree = grid_tree(grids)
        sel = np.isin(rid, long)
        ps = seg[sel]
        pm = (lo[sel] + hi[sel]) / 2.0
        dur = hi[sel] - lo[sel]
        prun = rid[sel]
        ia, ib = fa[ps], fb[ps]
        dd = ut[ib] - ut[ia]
        u = np.where(dd > 0, (pm - ut[ia]) / np.where(dd > 0, dd, 1.0), 0.0)
        mlon = ulon[ia] + u * (ulon[ib] - ulon[ia])
        mlat = ulat[ia] + u * (ulat[ib] - ulat[ia])
        qi, gi = tree.query(shapely.points(mlon, mlat), predicate="intersects")
        if qi.size:
            ids = np.asarray(grids.grid_ids, dtype=object)
            own = np.asarray([grid_ids[k] for k in sw[ps[qi]]], dtype=object)
            mine = ids[gi] != own
            qi, gi = qi[mine], gi[mine]
            run_pos = {int(r): j for j, r in enumerate(long)}
            acc: dict[tuple[int, int], float] = {}
            for q, gg in zip(prun[qi].tolist(), gi.tolist(), strict=True):
                acc[(q, gg)] = acc.get((q, gg), 0.0)
            for k, (q, gg) in enumerate(zip(prun[qi].tolist(), gi.tolist(), strict=True)):
                acc[(q, gg)] += float(dur[qi[k]])
            best: dict[int, tuple[float, int]] = {}
            for (q, gg), s in acc.items():
                if s > best.get(q, (0.0, -1))[0]:
                    best[q] = (s, gg)
            for q, (s, gg) in best.items():
                j = run_pos[q]
                if s > 0.5 * (re_[q] - rs[q]):
                    kind[j] = "crosspost"
                    other[j] = str(ids[gg])
    for j, r in enumerate(long):
        out[int(g[r])].append(OffPost(kind=kind[j], start=float(rs[r]), end=float(re_[r]), other_grid_id=other[j]))
    return out
