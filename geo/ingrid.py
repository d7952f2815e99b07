"""GEO-INGRID: exact in-grid time of a track, per segment, with interpolated crossings.

A segment joins two consecutive usable fixes (valid, not suspect) of one worker. Its part
inside the grid is found geometrically, in metres in the local projection, and mapped to
time linearly along the segment (constant speed between fixes). Never the whole track as
one LineString: tracks revisit places, so lengths cannot be mapped back to time.

Both the raw grid R and the grid buffered by ``boundary_tolerance_m`` (B, round joins) are
used: B gives the counted time, B minus R the seconds counted only thanks to the tolerance.
Points on the boundary are inside (closed sets, ``intersects_xy``).

Speed: a segment can only meet the boundary if an endpoint is within its half-length of
it. Every fix is classified once against two helper polygons, R eroded by ``FILTER_M``
(I) and R dilated by tolerance + ``FILTER_M`` (O); a disc inside I (per grid) settles
most of the deep-inside fixes with a little arithmetic first. A segment no longer than
``2 (FILTER_M - margin)`` with both ends in I is wholly inside R and B; with both ends
outside O it is wholly outside both. Only the remaining segments (near the boundary or
long) are intersected exactly with R and B (one vectorised ``shapely.intersection``).
``margin`` covers the chord error of GEOS's round buffers and its 1% input simplification.
MultiPolygons and holes need nothing special.

Which segments *count* (gap <= ``max_gap_s``, speed <= ``max_speed_kmh``, GEO-STILL cap)
is decided by the caller; see :func:`window_seconds`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

RULE_ID = "GEO-INGRID"
#: Half the longest segment the fast classification handles, metres (an algorithm
#: constant, not a rule parameter: results do not depend on it, only the speed does).
FILTER_M = 25.0
_QUAD_SEGS = 8
_QUAD_SEGS_FILTER = 4  # chord error 2% of the distance, inside the 5% margin
_SIMPLIFY_M = 1.0

LEVEL_IN = 0  # inside I: deep inside R
LEVEL_BAND = 1  # near the boundary
LEVEL_OUT = 2  # outside O: far outside B


#: Edges are grouped in blocks of this many consecutive ring edges, each with a bounding
#: box, so a point or segment is only tested against the few blocks near it
#: (``SMALL_BLOCK`` for tables of at most ``SMALL_BLOCK_MAX_EDGES`` edges per polygon,
#: e.g. the buffered 20-vertex grids: measured faster there, slower for 500 vertices).
BLOCK = 16
SMALL_BLOCK = 8
SMALL_BLOCK_MAX_EDGES = 128


@dataclass(frozen=True)
class Edges:
    """Boundary edges of polygons as padded arrays (rows: polygons, NaN padding), metres,
    with the bounding box of each block of ``block`` consecutive edges (empty for padding)."""

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    bx0: np.ndarray
    by0: np.ndarray
    bx1: np.ndarray
    by1: np.ndarray
    used: int  # columns holding at least one real edge
    # the first ``used`` columns transposed (contiguous per column, one value per polygon;
    # empty when ``used`` > MAX_COLUMN_EDGES, as the blocked tests do not need them),
    # with each edge's direction and squared length precomputed (inf for padding and
    # degenerate edges); the column loops read these (same arithmetic, fewer passes)
    cx0: np.ndarray
    cy0: np.ndarray
    cdx: np.ndarray
    cdy: np.ndarray
    cl2: np.ndarray
    block: int  # edges per block

    @property
    def width(self) -> int:
        return int(self.x0.shape[1])


def edge_table(polys: np.ndarray) -> Edges:
    """All ring edges (exteriors and holes, every part of a MultiPolygon) per polygon."""
    u = polys.shape[0]
    rings, owner = shapely.get_parts(shapely.boundary(polys), return_index=True)
    if rings.size and np.any(shapely.get_num_geometries(rings) > 1):
        rings, sub = shapely.get_parts(rings, return_index=True)
        owner = owner[sub]
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    same = ridx[1:] == ridx[:-1]
    k = np.flatnonzero(same)
    eo = owner[ridx[k]]
    order = np.argsort(eo, kind="stable")
    k, eo = k[order], eo[order]
    counts = np.bincount(eo, minlength=u)
    width = max(1, int(counts.max()) if counts.size else 1)
    bs = SMALL_BLOCK if width <= SMALL_BLOCK_MAX_EDGES else BLOCK
    width = -(-width // bs) * bs
    pos = np.arange(k.size) - np.repeat(np.cumsum(counts) - counts, counts)
    arrs = [np.full((u, width), np.nan) for _ in range(4)]
    for arr, col in zip(arrs, (xy[k, 0], xy[k, 1], xy[k + 1, 0], xy[k + 1, 1]), strict=True):
        arr[eo, pos] = col
    x0, y0, x1, y1 = arrs
    nb = width // bs
    pad = np.isnan(x0)
    lo_x = np.where(pad, np.inf, np.fmin(x0, x1)).reshape(u, nb, bs).min(axis=2)
    lo_y = np.where(pad, np.inf, np.fmin(y0, y1)).reshape(u, nb, bs).min(axis=2)
    hi_x = np.where(pad, -np.inf, np.fmax(x0, x1)).reshape(u, nb, bs).max(axis=2)
    hi_y = np.where(pad, -np.inf, np.fmax(y0, y1)).reshape(u, nb, bs).max(axis=2)
    used = int(counts.max()) if counts.size else 0
    nc = used if used <= MAX_COLUMN_EDGES else 0  # only the column loops read these
    cx0 = np.ascontiguousarray(x0[:, :nc].T)
    cy0 = np.ascontiguousarray(y0[:, :nc].T)
    cdx = np.ascontiguousarray(x1[:, :nc].T) - cx0
    cdy = np.ascontiguousarray(y1[:, :nc].T) - cy0
    cl2 = cdx * cdx + cdy * cdy
    cl2[~(cl2 > 0)] = np.inf  # padding (NaN) and degenerate edges
    return Edges(x0, y0, x1, y1, lo_x, lo_y, hi_x, hi_y, used, cx0, cy0, cdx, cdy, cl2, bs)


@dataclass(frozen=True)
class GridSet:
    """Projected polygons per worker: raw R, buffered B, helper polygons I and O, edges."""

    raw: np.ndarray  # object array of shapely geometries (metres), one per worker
    buffered: np.ndarray
    inner: np.ndarray
    outer: np.ndarray
    max_fast_len_m: float
    tolerance_m: float
    margin_m: float
    gidx: np.ndarray  # worker -> row of the edge tables
    edges_raw: Edges
    edges_buf: Edges
    boundary_raw: np.ndarray  # prepared boundaries of R, one per worker
    # cheap certificate for :func:`classify`: a disc inside I per worker (rows: centre x,
    # centre y, squared radius; radius 0 when there is none)
    disc: np.ndarray  # (3, n)

    def take(self, widx: np.ndarray) -> GridSet:
        """The grid set for workers given by their rows in this one."""
        return GridSet(
            self.raw[widx], self.buffered[widx], self.inner[widx], self.outer[widx],
            self.max_fast_len_m, self.tolerance_m, self.margin_m, self.gidx[widx],
            self.edges_raw, self.edges_buf, self.boundary_raw[widx],
            self.disc[:, widx],
        )


#: Above this many edges per polygon the numpy edge tests give way to GEOS overlay (the
#: blocked numpy tests win for every grid size measured; the GEOS path is the reference).
MAX_NUMPY_EDGES = 1 << 20
#: Use the signed-distance certificates (tests switch them off to check them).
CERTIFY = True


def prepare_grids(raw_m: np.ndarray, tolerance_m: float) -> GridSet:
    """Buffer, prepare and tabulate the projected grids (one row per grid, metres)."""
    raw_m = np.asarray(raw_m, dtype=object)
    buffered = shapely.buffer(raw_m, tolerance_m, quad_segs=_QUAD_SEGS)
    # The helper polygons only filter, so they are built from R simplified by _SIMPLIFY_M
    # (Hausdorff distance <= _SIMPLIFY_M) with distances widened by it: I stays inside
    # R eroded by FILTER_M and O contains R dilated by tolerance + FILTER_M.
    rough = shapely.simplify(raw_m, _SIMPLIFY_M, preserve_topology=False)
    bad = ~shapely.is_valid(rough)
    rough[bad] = raw_m[bad]  # Douglas-Peucker may rarely break a polygon: keep R there
    inner = shapely.buffer(rough, -(FILTER_M + _SIMPLIFY_M), quad_segs=_QUAD_SEGS_FILTER)
    outer = shapely.buffer(rough, tolerance_m + FILTER_M + _SIMPLIFY_M, quad_segs=_QUAD_SEGS_FILTER)
    boundary = shapely.boundary(raw_m)
    for arr in (raw_m, buffered, inner, outer, boundary):
        shapely.prepare(arr)
    margin = 0.05 * (tolerance_m + FILTER_M) + 0.01
    return GridSet(
        raw_m, buffered, inner, outer, 2.0 * (FILTER_M - margin), tolerance_m,
        0.05 * tolerance_m + 0.01, np.arange(raw_m.shape[0]), edge_table(raw_m),
        edge_table(buffered), boundary, _inner_discs(inner),
    )


def _inner_discs(inner: np.ndarray) -> np.ndarray:
    """A disc inside each polygon: centred on its centroid (or a point on its surface if
    the centroid is not inside), radius just short of the distance to its boundary; rows
    cx, cy, r2 (radius 0 when there is no such point)."""
    disc = np.zeros((3, inner.shape[0]))
    if inner.size == 0:
        return disc
    c = shapely.centroid(inner)
    off = ~shapely.contains_properly(inner, c)
    c[off] = shapely.point_on_surface(inner[off])
    ok = ~shapely.is_empty(inner) & shapely.contains_properly(inner, c)
    if ok.any():
        xy = shapely.get_coordinates(c[ok])
        r = shapely.distance(c[ok], shapely.boundary(inner[ok]))
        # keep well inside: a point in the shrunk disc is strictly inside the polygon
        r = np.maximum(r * (1.0 - 1e-9) - 1e-6, 0.0)
        disc[0, ok], disc[1, ok], disc[2, ok] = xy[:, 0], xy[:, 1], r * r
    return disc


def classify(gs: GridSet, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LEVEL_IN / LEVEL_BAND / LEVEL_OUT of each point against its worker's grid."""
    lev = np.full(x.shape[0], LEVEL_BAND, dtype=np.int8)
    if x.size == 0:
        return lev
    # certificate first (same answer as the polygon test, far cheaper): a point inside
    # its worker's disc in I is IN; only the others are tested against I and then O
    d = gs.disc
    dx = x - d[0].take(w)
    dy = y - d[1].take(w)
    dx *= dx
    dy *= dy
    dx += dy
    sure_in = dx < d[2].take(w)
    lev[sure_in] = LEVEL_IN
    rest = np.flatnonzero(~sure_in)
    if rest.size:
        wr = w[rest]
        xr, yr = x[rest], y[rest]
        inn = shapely.intersects_xy(gs.inner[wr], xr, yr)
        lev[rest[inn]] = LEVEL_IN
        no = np.flatnonzero(~inn)
        if no.size:
            out = ~shapely.intersects_xy(gs.outer[wr[no]], xr[no], yr[no])
            lev[rest[no[out]]] = LEVEL_OUT
    return lev


_CHUNK = 4096  # (point or segment, block) pairs per numpy pass: bounded temporaries


def _block_pairs(e: Edges, row, lo_x, lo_y, hi_x, hi_y, reach):
    """(item, block) pairs whose boxes are within ``reach`` metres of each other."""
    step = max(1, (1 << 20) // max(1, e.bx0.shape[1]))  # bounded temporaries
    out_i, out_b = [], []
    for s in range(0, row.shape[0], step):
        sl = slice(s, s + step)
        r = row[sl]
        dx = np.maximum(np.maximum(e.bx0[r] - hi_x[sl, None], lo_x[sl, None] - e.bx1[r]), 0.0)
        dy = np.maximum(np.maximum(e.by0[r] - hi_y[sl, None], lo_y[sl, None] - e.by1[r]), 0.0)
        i, b = np.nonzero(dx * dx + dy * dy <= reach * reach)
        out_i.append(i + s)
        out_b.append(b)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_b)


def _block_edges(e: Edges, row, i, b):
    bs = e.block
    cols = b[:, None] * bs + np.arange(bs)[None, :]
    r = row[i][:, None]
    return e.x0[r, cols], e.y0[r, cols], e.x1[r, cols], e.y1[r, cols]


def _distance_columns(e: Edges, row, x, y, reach):
    """Small grids: loop over the edge columns (cheaper than gathering blocks)."""
    best = np.full(x.shape[0], reach * reach if np.isfinite(reach) else np.inf)
    for j in range(e.used):
        dx = e.cdx[j].take(row)
        dy = e.cdy[j].take(row)
        wx = x - e.cx0[j].take(row)
        wy = y - e.cy0[j].take(row)
        l2 = e.cl2[j].take(row)
        tt = wx * dx
        tt += wy * dy
        tt /= l2
        np.clip(tt, 0.0, 1.0, out=tt)
        wx -= tt * dx
        wy -= tt * dy
        wx *= wx
        wy *= wy
        wx += wy
        np.fmin(best, wx, out=best)  # NaN (padding) never wins
    return np.sqrt(best)


def _crossings_columns(e: Edges, row, x0, y0, x1, y1):
    """Small grids: loop over the edge columns."""
    ks, us = [], []
    rx = x1 - x0
    ry = y1 - y0
    for j in range(e.used):
        qx = e.cx0[j].take(row)
        qy = e.cy0[j].take(row)
        sx = e.cdx[j].take(row)
        sy = e.cdy[j].take(row)
        den = rx * sy - ry * sx
        wx = qx - x0
        wy = qy - y0
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (wx * sy - wy * sx) / den
            v = (wx * ry - wy * rx) / den
            hit = (den != 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
        i = np.flatnonzero(hit)
        if i.size:
            ks.append(i)
            us.append(u[i])
    if not ks:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(ks), np.concatenate(us)


#: Up to this many edges per polygon, loop over edge columns; above, use edge blocks.
MAX_COLUMN_EDGES = 32


def boundary_distance(
    e: Edges, row: np.ndarray, x: np.ndarray, y: np.ndarray, reach: float = np.inf
) -> np.ndarray:
    """Distance (m) from each point to the boundary of its polygon, capped at ``reach``.

    Only edge blocks whose box lies within ``reach`` are measured, so a point farther
    than ``reach`` from every edge gets ``reach`` (a lower bound of its distance).
    """
    n = x.shape[0]
    if e.used <= MAX_COLUMN_EDGES:
        return _distance_columns(e, row, x, y, reach)
    best = np.full(n, reach * reach if np.isfinite(reach) else np.inf)
    if n == 0:
        return np.sqrt(best)
    i_all, b_all = _block_pairs(e, row, x, y, x, y, reach)
    for s in range(0, i_all.size, _CHUNK):
        i, b = i_all[s : s + _CHUNK], b_all[s : s + _CHUNK]
        ax, ay, ex, ey = _block_edges(e, row, i, b)
        dx = ex - ax
        dy = ey - ay
        wx = x[i, None] - ax
        wy = y[i, None] - ay
        l2 = dx * dx + dy * dy
        l2[~(l2 > 0)] = np.inf  # padding (NaN) and degenerate edges
        tt = np.clip((wx * dx + wy * dy) / l2, 0.0, 1.0)
        d2 = (wx - tt * dx) ** 2 + (wy - tt * dy) ** 2
        dmin = np.fmin.reduce(d2, axis=1)  # NaN (padding) never wins
        first = np.flatnonzero(np.r_[True, i[1:] != i[:-1]])
        np.minimum.at(best, i[first], np.fmin.reduceat(dmin, first))
    return np.sqrt(best)


def _crossings(e: Edges, row, x0, y0, x1, y1):
    """(segment position, parameter u) of every proper crossing of a segment with an edge."""
    if e.used <= MAX_COLUMN_EDGES:
        return _crossings_columns(e, row, x0, y0, x1, y1)
    i_all, b_all = _block_pairs(
        e, row, np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1), 0.0
    )
    ks, us = [], []
    for s in range(0, i_all.size, _CHUNK):
        i, b = i_all[s : s + _CHUNK], b_all[s : s + _CHUNK]
        qx, qy, ex, ey = _block_edges(e, row, i, b)
        sx, sy = ex - qx, ey - qy
        px, py = x0[i, None], y0[i, None]
        rx, ry = x1[i, None] - px, y1[i, None] - py
        den = rx * sy - ry * sx
        wx, wy = qx - px, qy - py
        with np.errstate(invalid="ignore", divide="ignore"):
            u = (wx * sy - wy * sx) / den
            v = (wx * ry - wy * rx) / den
            hit = (den != 0) & (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1)
        p, q = np.nonzero(hit)
        if p.size:
            ks.append(i[p])
            us.append(u[p, q])
    if not ks:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(ks), np.concatenate(us)


def _exact_pieces_numpy(polys, e: Edges, row, seg, x0, y0, x1, y1):
    """Exact inside pieces by splitting at edge crossings and testing each part's midpoint."""
    m = seg.size
    k, u = _crossings(e, row, x0, y0, x1, y1)
    k = np.concatenate([k, np.arange(m), np.arange(m)])
    u = np.concatenate([u, np.zeros(m), np.ones(m)])
    order = np.lexsort((u, k))
    k, u = k[order], u[order]
    nxt = np.flatnonzero((k[1:] == k[:-1]) & (u[1:] > u[:-1]))
    ka, ua, ub = k[nxt], u[nxt], u[nxt + 1]
    um = (ua + ub) / 2.0
    mx = x0[ka] + um * (x1[ka] - x0[ka])
    my = y0[ka] + um * (y1[ka] - y0[ka])
    inside = shapely.intersects_xy(polys[ka], mx, my)
    ka, ua, ub = ka[inside], ua[inside], ub[inside]
    # merge adjacent inside parts of the same segment
    if ka.size:
        start = np.ones(ka.size, dtype=bool)
        start[1:] = (ka[1:] != ka[:-1]) | (ua[1:] > ub[:-1])
        first = np.flatnonzero(start)
        last = np.append(first[1:], ka.size) - 1
        ka, ua, ub = ka[first], ua[first], ub[last]
    return seg[ka], ua, ub


def _exact_pieces(polys, seg, x0, y0, x1, y1):
    """Parameter intervals [u0, u1] of each segment inside its polygon (GEOS overlay)."""
    if seg.size == 0:
        z = np.zeros(0)
        return np.zeros(0, dtype=np.int64), z, z
    coords = np.stack([np.c_[x0, y0], np.c_[x1, y1]], axis=1)
    lines = shapely.linestrings(coords)
    inter = shapely.intersection(lines, polys)
    parts, pidx = shapely.get_parts(inter, return_index=True)
    # nested collections (rare): flatten once more
    if parts.size and np.any(shapely.get_num_geometries(parts) > 1):
        parts, sub = shapely.get_parts(parts, return_index=True)
        pidx = pidx[sub]
    is_line = (shapely.get_type_id(parts) == 1) & ~shapely.is_empty(parts)
    parts, pidx = parts[is_line], pidx[is_line]
    if parts.size == 0:
        z = np.zeros(0)
        return np.zeros(0, dtype=np.int64), z, z
    p0 = shapely.get_coordinates(shapely.get_point(parts, 0))
    p1 = shapely.get_coordinates(shapely.get_point(parts, -1))
    dx = (x1 - x0)[pidx]
    dy = (y1 - y0)[pidx]
    l2 = dx * dx + dy * dy
    ua = ((p0[:, 0] - x0[pidx]) * dx + (p0[:, 1] - y0[pidx]) * dy) / l2
    ub = ((p1[:, 0] - x0[pidx]) * dx + (p1[:, 1] - y0[pidx]) * dy) / l2
    u0 = np.clip(np.minimum(ua, ub), 0.0, 1.0)
    u1 = np.clip(np.maximum(ua, ub), 0.0, 1.0)
    keep = u1 > u0
    return seg[pidx[keep]], u0[keep], u1[keep]


@dataclass(frozen=True)
class Pieces:
    """Segments inside a polygon: ``full`` (sorted ids of segments wholly inside) and the
    partial pieces ``seg, u0, u1`` (0 <= u0 < u1 <= 1, sorted by segment then u)."""

    full: np.ndarray
    seg: np.ndarray
    u0: np.ndarray
    u1: np.ndarray


def inside_pieces(
    gs: GridSet,
    sw: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    lev0: np.ndarray,
    lev1: np.ndarray,
    fa: np.ndarray | None = None,
    fb: np.ndarray | None = None,
    length: np.ndarray | None = None,
) -> tuple[Pieces, Pieces]:
    """GEO-INGRID pieces of each segment inside the raw grid and the buffered grid.

    Parameters
    ----------
    gs : the workers' grids; sw : worker index of each segment.
    x0, y0, x1, y1 : segment ends, metres; lev0, lev1 : :func:`classify` of the ends.
    fa, fb : optional fix ids of the ends (shared ends are then measured once).
    length : optional ``hypot(x1 - x0, y1 - y0)`` if the caller has it already.

    Returns
    -------
    (raw pieces, buffered pieces); a segment wholly inside gives one piece [0, 1].
    Zero-length segments (a phone lying still) are inside iff their point is.
    """
    if length is None:
        length = np.hypot(x1 - x0, y1 - y0)
    short = length <= gs.max_fast_len_m
    full_in = short & (lev0 == LEVEL_IN) & (lev1 == LEVEL_IN)
    full_out = short & (lev0 == LEVEL_OUT) & (lev1 == LEVEL_OUT)
    rest = np.flatnonzero(~(full_in | full_out))
    fin = np.flatnonzero(full_in)
    sure_in: list[np.ndarray] = [fin, fin]
    cand: list[np.ndarray] = [rest, rest]
    if rest.size and CERTIFY:
        # Signed distance to the raw boundary at both ends (negative inside). It is
        # 1-Lipschitz along a segment, so a segment whose ends are farther from a level
        # (0 for R, the tolerance for B) than its length allows cannot reach that level.
        if fa is None or fb is None:
            fa = np.arange(sw.size)
            fb = fa + sw.size
        ra, rb = fa[rest], fb[rest]
        nfix = int(max(ra.max(), rb.max())) + 1
        need = np.zeros(nfix, dtype=bool)
        need[ra] = True
        need[rb] = True
        uid = np.flatnonzero(need)
        fx = np.empty(nfix)
        fy = np.empty(nfix)
        fw = np.empty(nfix, dtype=np.int64)
        fl = np.empty(nfix, dtype=np.int8)
        fx[ra], fy[ra], fw[ra], fl[ra] = x0[rest], y0[rest], sw[rest], lev0[rest]
        fx[rb], fy[rb], fw[rb], fl[rb] = x1[rest], y1[rest], sw[rest], lev1[rest]
        ux, uy, uw, ul = fx[uid], fy[uid], fw[uid], fl[uid]
        # I lies inside R and O contains R: only fixes in the band need the polygon test
        inside = ul == LEVEL_IN
        band = np.flatnonzero(ul == LEVEL_BAND)
        inside[band] = shapely.intersects_xy(gs.raw[uw[band]], ux[band], uy[band])
        # exact within reach of the band; beyond it a lower bound, which is enough
        reach = gs.tolerance_m + FILTER_M + 5.0
        usd = boundary_distance(gs.edges_raw, gs.gidx[uw], ux, uy, reach)
        fsd = np.empty(nfix)
        fsd[uid] = np.where(inside, -usd, usd)
        sd = np.concatenate([fsd[ra], fsd[rb]])
        s0, s1 = sd[: rest.size], sd[rest.size :]
        lr = length[rest] + 1e-6
        ok_r = np.abs(s0) + np.abs(s1) > lr
        # B as built by GEOS lies within margin_m of the true offset curve at distance tol
        # (chords of the round joins, and GEOS's 1% input simplification), on either side
        tol, mb = gs.tolerance_m, gs.margin_m
        out_b = (s0 > tol + mb) & (s1 > tol + mb) & ((s0 - tol - mb) + (s1 - tol - mb) > lr)
        in_b = (s0 < tol - mb) & (s1 < tol - mb) & ((tol - mb - s0) + (tol - mb - s1) > lr)
        sure_in = [
            np.concatenate([fin, rest[ok_r & (s0 <= 0)]]),
            np.concatenate([fin, rest[in_b]]),
        ]
        cand = [rest[~ok_r], rest[~(out_b | in_b)]]
    out = []
    for kind, (polys, edges) in enumerate(((gs.raw, gs.edges_raw), (gs.buffered, gs.edges_buf))):
        c = cand[kind]
        point = c[length[c] == 0.0]
        line = c[length[c] > 0.0]
        if edges.width <= MAX_NUMPY_EDGES:
            ps, pu0, pu1 = _exact_pieces_numpy(
                polys[sw[line]], edges, gs.gidx[sw[line]], line, x0[line], y0[line], x1[line], y1[line]
            )
        else:
            ps, pu0, pu1 = _exact_pieces(polys[sw[line]], line, x0[line], y0[line], x1[line], y1[line])
        pin = point[shapely.intersects_xy(polys[sw[point]], x0[point], y0[point])] if point.size else point
        mark = np.zeros(sw.size, dtype=bool)
        mark[sure_in[kind]] = True
        mark[pin] = True
        out.append(Pieces(np.flatnonzero(mark), ps, pu0, pu1))
    return out[0], out[1]


# Segment status codes (why a segment does or does not count).
COUNTED = 0
LOST_SUSPECT = 1
LOST_GAP = 2
LOST_SPEED = 3
LOST_NAMES = {LOST_SUSPECT: "suspect", LOST_GAP: "gap", LOST_SPEED: "speed"}


def segment_status(
    dt_s: np.ndarray,
    length_m: np.ndarray,
    bridged: np.ndarray | None,
    max_gap_s: float,
    max_speed_kmh: float,
) -> np.ndarray:
    """GEO-INGRID: COUNTED, or the reason a segment does not count.

    A segment fails if its gap exceeds ``max_gap_s`` or its speed exceeds ``max_speed_kmh``;
    if it bridges over a suspect fix (GEO-SPOOF) the loss is charged to ``suspect``,
    otherwise to ``gap`` (checked first) or ``speed``. ``bridged=None`` leaves the
    ``suspect`` attribution to the caller (it only concerns the segments that fail).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(dt_s > 0, length_m / np.where(dt_s > 0, dt_s, 1.0), np.where(length_m > 0, np.inf, 0.0))
    gap = dt_s > max_gap_s
    fast = v > max_speed_kmh / 3.6
    st = np.full(dt_s.shape[0], COUNTED, dtype=np.int8)
    st[fast] = LOST_SPEED
    st[gap] = LOST_GAP
    if bridged is not None:
        st[(gap | fast) & bridged] = LOST_SUSPECT
    return st


def window_seconds(
    pieces: Pieces,
    sw: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    status: np.ndarray,
    cut: np.ndarray,
    w0: np.ndarray,
    w1: np.ndarray,
    counted_only: bool = False,
) -> dict[str, np.ndarray]:
    """Seconds inside the polygon per worker and window, split into counted and lost.

    Each piece is mapped to time ``t0 + u (t1 - t0)`` and clipped to the windows
    ``w0[w, k], w1[w, k]``. Counted segments count up to their GEO-STILL ``cut`` time; the
    rest is lost to ``still``. Returns arrays of shape (workers, windows) keyed by
    "counted", "still", "gap", "speed", "suspect" (only "counted" is filled when
    ``counted_only``).
    """
    n, k = w0.shape
    w0T = np.ascontiguousarray(w0.T)
    w1T = np.ascontiguousarray(w1.T)
    res = {name: np.zeros((n, k)) for name in ("counted", "still", "gap", "speed", "suspect")}
    f = pieces.full
    s = pieces.seg
    d = t1[s] - t0[s]
    groups = (
        (t0[f], t1[f], sw[f], status[f], cut[f]),
        (t0[s] + pieces.u0 * d, t0[s] + pieces.u1 * d, sw[s], status[s], cut[s]),
    )
    for ta, tb, g, st, c in groups:
        if ta.size == 0:
            continue
        cnt_mask = st == COUNTED
        lost_codes = [] if counted_only else [(c_, nm, st == c_) for c_, nm in LOST_NAMES.items()]
        lost_codes = [(code, name, m) for code, name, m in lost_codes if m.any()]
        for j in range(k):
            lo = np.maximum(ta, w0T[j].take(g))
            hi = np.minimum(tb, w1T[j].take(g))
            ov = np.maximum(hi - lo, 0.0)
            hc = np.minimum(hi, c)
            counted = np.where(cnt_mask, np.maximum(hc - lo, 0.0), 0.0)
            res["counted"][:, j] += np.bincount(g, weights=counted, minlength=n)
            if not counted_only:
                still = np.where(cnt_mask, ov - counted, 0.0)
                res["still"][:, j] += np.bincount(g, weights=still, minlength=n)
            for _, name, m in lost_codes:
                res[name][:, j] += np.bincount(g[m], weights=ov[m], minlength=n)
    return res
