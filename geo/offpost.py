"""GEO-OFFPOST and GEO-CROSSPOST: on duty but outside every allowed zone.

Allowed zones: the worker's own grid buffered by ``boundary_tolerance_m`` (the same B as
GEO-INGRID), the village office geofence (circle of the office's ``radius_m``) and, during
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
"""

from __future__ import annotations

import numpy as np
import shapely

from geo.intervals import clip_to_windows, merge_touching, subtract_one
from geo.types import GridIndex, OffPost

RULE_ID = "GEO-OFFPOST"
CROSS_RULE_ID = "GEO-CROSSPOST"


_TREE_CACHE: list[tuple[GridIndex, shapely.STRtree]] = []


def grid_tree(grids: GridIndex) -> shapely.STRtree:
    """STRtree of the township's grids (WGS-84), cached for the last GridIndex seen."""
    if _TREE_CACHE and _TREE_CACHE[0][0] is grids:
        return _TREE_CACHE[0][1]
    tree = shapely.STRtree(np.asarray(grids.geoms, dtype=object))
    _TREE_CACHE[:] = [(grids, tree)]
    return tree


def disc_param_interval(x0, y0, x1, y1, cx, cy, r):
    """Parameters [ua, ub] (clipped to [0, 1]) of a segment inside a circle; NaN if none."""
    dx, dy = x1 - x0, y1 - y0
    fx, fy = x0 - cx, y0 - cy
    a = dx * dx + dy * dy
    b = 2.0 * (fx * dx + fy * dy)
    c = fx * fx + fy * fy - r * r
    with np.errstate(invalid="ignore", divide="ignore"):
        disc = b * b - 4.0 * a * c
        sq = np.sqrt(np.maximum(disc, 0.0))
        ua = np.where(a > 0, (-b - sq) / (2.0 * np.where(a > 0, a, 1.0)), np.where(c <= 0, 0.0, np.nan))
        ub = np.where(a > 0, (-b + sq) / (2.0 * np.where(a > 0, a, 1.0)), np.where(c <= 0, 1.0, np.nan))
        none = (disc < 0) | (ub < 0) | (ua > 1) | np.isnan(r)
    ua = np.where(none, np.nan, np.clip(ua, 0.0, 1.0))
    ub = np.where(none, np.nan, np.clip(ub, 0.0, 1.0))
    return ua, ub


def outside_pieces(
    known: np.ndarray, full: np.ndarray, pseg: np.ndarray, pu0: np.ndarray, pu1: np.ndarray
):
    """Complement, in segment parameter u, of the inside parts of the known segments.

    ``full`` are segments wholly inside; ``pseg, pu0, pu1`` partial inside pieces sorted
    by (segment, u0), disjoint within a segment. Returns (segment, u0, u1) of the outside
    parts, sorted by segment then u.
    """
    keep = known[pseg]
    pseg, pu0, pu1 = pseg[keep], pu0[keep], pu1[keep]
    first = np.ones(pseg.size, dtype=bool)
    first[1:] = pseg[1:] != pseg[:-1]
    last = np.ones(pseg.size, dtype=bool)
    last[:-1] = pseg[1:] != pseg[:-1]
    prev_end = np.where(first, 0.0, np.concatenate([[0.0], pu1[:-1]]))
    # before each piece, and after the last piece of each segment
    seg = np.concatenate([pseg, pseg[last]])
    a = np.concatenate([prev_end, pu1[last]])
    b = np.concatenate([pu0, np.ones(int(last.sum()))])
    covered = np.zeros(known.size, dtype=bool)
    covered[pseg] = True
    covered[full] = True
    none = np.flatnonzero(known & ~covered)
    seg = np.concatenate([seg, none])
    a = np.concatenate([a, np.zeros(none.size)])
    b = np.concatenate([b, np.ones(none.size)])
    ok = b > a
    seg, a, b = seg[ok], a[ok], b[ok]
    order = np.lexsort((a, seg))
    return seg[order], a[order], b[order]


def offpost_intervals(
    *,
    sw: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
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
    sw, t0, t1, x0..y1 : segments (worker, POSIX s, metres).
    ulon, ulat, fa, fb : WGS-84 degrees of the usable fixes and each segment's end fixes.
    known : segments with gap <= ``max_gap_s``.
    inside_* : GEO-INGRID full segments and pieces inside the buffered grid.
    office_xyr : (workers, 3) office centre in metres and radius_m (NaN: none).
    places : (worker, x_m, y_m, radius_m, start, end) of approved field-duty places.
    duty0, duty1 : (workers, k) duty intervals, POSIX s (empty ones have start == end).
    """
    n = duty0.shape[0]
    out: list[list[OffPost]] = [[] for _ in range(n)]
    seg, u0, u1 = outside_pieces(known, inside_full, inside_seg, inside_u0, inside_u1)
    if seg.size == 0:
        return out
    d = t1[seg] - t0[seg]
    a = t0[seg] + u0 * d
    b = t0[seg] + u1 * d
    # the village office geofence, all day
    w = sw[seg]
    ua, ub = disc_param_interval(
        x0[seg], y0[seg], x1[seg], y1[seg], office_xyr[w, 0], office_xyr[w, 1], office_xyr[w, 2]
    )
    par, a, b = subtract_one(a, b, t0[seg] + ua * d, t0[seg] + ub * d)
    seg = seg[par]
    # approved field-duty places, during their interval
    for pw, px, py, pr, ps, pe in places:
        d = t1[seg] - t0[seg]
        ua, ub = disc_param_interval(x0[seg], y0[seg], x1[seg], y1[seg], px, py, pr)
        c0 = np.maximum(t0[seg] + ua * d, ps)
        c1 = np.minimum(t0[seg] + ub * d, pe)
        mine = (sw[seg] == pw) & (c1 > c0)
        par, a, b = subtract_one(a, b, np.where(mine, c0, np.nan), np.where(mine, c1, np.nan))
        seg = seg[par]
    if seg.size == 0:
        return out
    p, _, lo, hi = clip_to_windows(sw[seg], a, b, duty0, duty1)
    seg = seg[p]
    g, rs, re_, rid = merge_touching(sw[seg], lo, hi)
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
        dd = t1[ps] - t0[ps]
        u = np.where(dd > 0, (pm - t0[ps]) / np.where(dd > 0, dd, 1.0), 0.0)
        ia, ib = fa[ps], fb[ps]
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
