"""GEO-INGRID: exact in-grid time of a track, per segment, with interpolated crossings.

A segment joins two consecutive usable fixes (valid, not suspect) of one worker. Its part
inside the grid is found geometrically, in metres in the local projection, and mapped to
time linearly along the segment (constant speed between fixes). Never the whole track as
one LineString: tracks revisit places, so lengths cannot be mapped back to time.

Both the raw grid R and B, R with every point within ``boundary_tolerance_m`` of its
boundary (RULES.md: "a fix this close outside still counts as inside": round at convex
corners, ponds shrink by it), are used: B gives the counted time, B minus R the seconds
counted only thanks to the tolerance. Points on the boundary are inside (closed sets). B
is never built as a polygon: its parts come from R's edges, exactly.

The computation is one compiled pass (numba, :func:`_pieces_kernel`) over the segments of
the batch, in order, each worker's segments one after the other:

1. *Distance certificates.* The signed distance to R's boundary (negative inside) is
   1-Lipschitz, so a segment whose ends are farther from a level (0 for R, the tolerance
   for B) than its length allows cannot reach that level: it is wholly on one side. Lower
   and upper bounds of each end's distance are enough, and most ends get them for free:
   from a disc inside R per grid (a point at ρ from its centre is at least r - ρ inside),
   a circle about the same centre holding R (a point at ρ > R' is at least ρ - R' outside),
   or carried over from the previous fix (a fix s metres on from one d metres from the
   boundary is at least d - s and at most d + s from it, on the same side). Only when those
   bounds do not settle the segment is its end measured exactly (one loop over R's edges:
   distance to every edge and the crossing number; the next segment starts there), and
   then its start if still needed.
2. *Exact parts* for the segments that remain (near the boundary, or long). In B: the union
   of the segment's parts in R and its interval within the tolerance of each edge near it
   (:func:`_edge_range`: the capsule about an edge is convex, so that is one interval,
   from a quadratic and two linear inequalities). In R: the parameters u in [0, 1] where
   the segment properly crosses an edge split it into parts. When both ends' sides are known from their distance bounds and every
   crossing is clean (transversal, not within 1e-9 of an edge's or the segment's ends, no
   parallel edge near the segment) and their count has the right parity, the parts
   alternate in and out; otherwise each part is inside or outside as its midpoint
   (crossing number, closed). Adjacent inside parts are merged.

Edge tables (:class:`Edges`) hold every ring of each polygon (holes and the parts of a
MultiPolygon need nothing special) with a bounding box per block of edges, so points and
segments skip the blocks far from them. Above ``MAX_NUMPY_EDGES`` edges per polygon the
exact parts come from GEOS overlay instead (with GEOS's buffer for B, see
:attr:`GridSet.buffered`).

Which segments *count* (gap <= ``max_gap_s``, speed <= ``max_speed_kmh``, GEO-STILL cap)
is decided by :func:`segments` (compiled, with the segments themselves) and the GEO-STILL
cut times; :func:`window_seconds`
sums the counted and lost seconds per worker and window (compiled too).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np
import shapely
from numba import njit

from geo.jit import JIT

RULE_ID = "GEO-INGRID"
# The kernels' options are in geo.jit (no fastmath: they give the same floating-point
# results as the plain arithmetic they replace).

#: Half-width of the band around the boundary used by :func:`classify` (a coarse
#: classification for diagnostics; the engine uses the distance certificates).
FILTER_M = 25.0
_QUAD_SEGS = 8
_QUAD_SEGS_FILTER = 4  # chord error 2% of the distance
_SIMPLIFY_M = 1.0

LEVEL_IN = 0  # inside I: deep inside R
LEVEL_BAND = 1  # near the boundary
LEVEL_OUT = 2  # outside O: far outside B


#: Edges are grouped in blocks of this many consecutive ring edges, each with a bounding
#: box, so a point or segment is only tested against the few blocks near it
#: (``SMALL_BLOCK`` for tables of at most ``SMALL_BLOCK_MAX_EDGES`` edges per polygon,
#: e.g. the buffered 20-vertex grids).
BLOCK = 16
SMALL_BLOCK = 8
SMALL_BLOCK_MAX_EDGES = 128
#: Up to this many edges per polygon the kernels loop over all edges without looking at
#: the block boxes (cheaper for small polygons); above, they skip the blocks far away.
MAX_COLUMN_EDGES = 16
#: Above this many edges per polygon the exact parts come from GEOS overlay (the reference
#: path; the compiled edge tests win for every grid size measured).
MAX_NUMPY_EDGES = 1 << 20
#: Use the distance certificates (tests switch them off to check them: every segment
#: then goes through the exact crossing computation).
CERTIFY = True
#: B's distance certificates allow this much float noise (metres) in the distances.
B_MARGIN_M = 1e-6


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
    block: int  # edges per block

    @property
    def width(self) -> int:
        return int(self.x0.shape[1])



@njit(**JIT)
def _edge_fill(xy, ridx, rown, counts, width, bs):
    """The padded edge table from the ring coordinates (rings grouped by polygon, in order):
    an edge joins consecutive coordinates of one ring."""
    u = counts.shape[0]
    x0 = np.full((u, width), np.nan)
    y0 = np.full((u, width), np.nan)
    x1 = np.full((u, width), np.nan)
    y1 = np.full((u, width), np.nan)
    pos = np.zeros(u, np.int64)
    for i in range(ridx.shape[0] - 1):
        if ridx[i + 1] == ridx[i]:
            o = rown[ridx[i]]
            p = pos[o]
            x0[o, p] = xy[i, 0]
            y0[o, p] = xy[i, 1]
            x1[o, p] = xy[i + 1, 0]
            y1[o, p] = xy[i + 1, 1]
            pos[o] = p + 1
    nb = width // bs
    bx0 = np.full((u, nb), np.inf)
    by0 = np.full((u, nb), np.inf)
    bx1 = np.full((u, nb), -np.inf)
    by1 = np.full((u, nb), -np.inf)
    for o in range(u):
        for p in range(counts[o]):
            kb = p // bs
            bx0[o, kb] = min(bx0[o, kb], x0[o, p], x1[o, p])
            by0[o, kb] = min(by0[o, kb], y0[o, p], y1[o, p])
            bx1[o, kb] = max(bx1[o, kb], x0[o, p], x1[o, p])
            by1[o, kb] = max(by1[o, kb], y0[o, p], y1[o, p])
    return x0, y0, x1, y1, bx0, by0, bx1, by1


def edge_table(polys: np.ndarray) -> Edges:
    """All ring edges (exteriors and holes, every part of a MultiPolygon) per polygon."""
    u = polys.shape[0]
    rings, owner = shapely.get_parts(shapely.boundary(polys), return_index=True)
    if rings.size and np.any(shapely.get_num_geometries(rings) > 1):
        rings, sub = shapely.get_parts(rings, return_index=True)
        owner = owner[sub]
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    same = ridx[1:] == ridx[:-1]
    counts = np.bincount(owner[ridx[:-1][same]], minlength=u)
    width = max(1, int(counts.max()) if counts.size else 1)
    bs = SMALL_BLOCK if width <= SMALL_BLOCK_MAX_EDGES else BLOCK
    width = -(-width // bs) * bs
    used = int(counts.max()) if counts.size else 0
    tables = _edge_fill(
        np.ascontiguousarray(xy, dtype=np.float64), ridx.astype(np.int64), owner.astype(np.int64),
        counts.astype(np.int64), width, bs,
    )
    return Edges(*tables, used, bs)


@dataclass(frozen=True)
class GridSet:
    """Projected polygons per worker: raw R, its edge table, a disc in R. B (R with every
    point within ``tolerance_m`` of its boundary) is found from R's edges, exactly."""

    raw: np.ndarray  # object array of shapely geometries (metres), one per worker
    tolerance_m: float
    gidx: np.ndarray  # worker -> row of the edge table
    edges_raw: Edges
    # a disc inside R per worker (rows: centre x, centre y, squared radius; radius 0 when
    # there is none) and the squared radius of a circle about the same centre holding R
    # (inf when there is none): the cheapest distance certificates
    disc_raw: np.ndarray  # (6, n): and rows 4, 5 the square roots of rows 2, 3

    def take(self, widx: np.ndarray) -> GridSet:
        """The grid set for workers given by their rows in this one."""
        return GridSet(
            self.raw[widx], self.tolerance_m, self.gidx[widx], self.edges_raw,
            self.disc_raw[:, widx],
        )

    @cached_property
    def buffered(self) -> np.ndarray:
        """B as a GEOS polygon (round joins of ``_QUAD_SEGS`` chords per quarter circle,
        chords within 0.5% of the tolerance inside the exact B), prepared: for the GEOS overlay
        path of grids above ``MAX_NUMPY_EDGES`` edges and for maps; the engine's B is exact.
        """
        b = shapely.buffer(self.raw, self.tolerance_m, quad_segs=_QUAD_SEGS)
        shapely.prepare(b)
        return b

    # -- the coarse classification's helper polygons (built on first use, see classify)
    @cached_property
    def _rough(self) -> np.ndarray:
        # the helper polygons only filter, so they are built from R simplified by
        # _SIMPLIFY_M (Hausdorff distance <= _SIMPLIFY_M) with distances widened by it
        rough = shapely.simplify(self.raw, _SIMPLIFY_M, preserve_topology=False)
        bad = ~shapely.is_valid(rough)
        rough[bad] = self.raw[bad]  # Douglas-Peucker may rarely break a polygon: keep R
        return rough

    @cached_property
    def inner(self) -> np.ndarray:
        """I: R eroded by ``FILTER_M`` (and the simplification), prepared."""
        i = shapely.buffer(self._rough, -(FILTER_M + _SIMPLIFY_M), quad_segs=_QUAD_SEGS_FILTER)
        shapely.prepare(i)
        return i

    @cached_property
    def outer(self) -> np.ndarray:
        """O: R dilated by the tolerance + ``FILTER_M`` (and the simplification), prepared."""
        o = shapely.buffer(
            self._rough, self.tolerance_m + FILTER_M + _SIMPLIFY_M, quad_segs=_QUAD_SEGS_FILTER
        )
        shapely.prepare(o)
        return o

    @cached_property
    def disc(self) -> np.ndarray:
        """A disc inside I per worker (rows cx, cy, r2), for :func:`classify`."""
        return _inner_discs(self.inner)


def prepare_grids(raw_m: np.ndarray, tolerance_m: float) -> GridSet:
    """Tabulate the projected grids (one row per grid, metres)."""
    raw_m = np.asarray(raw_m, dtype=object)
    return GridSet(
        raw_m, float(tolerance_m), np.arange(raw_m.shape[0]), edge_table(raw_m),
        _inner_discs(raw_m),
    )


def _inner_discs(polys: np.ndarray) -> np.ndarray:
    """A disc inside each polygon: centred on its centroid (or a point on its surface if
    the centroid is not inside), radius just short of the distance to its boundary; rows
    cx, cy, r2 (radius 0 when there is no such point), and r2_out: the squared radius of a
    circle about the same centre that holds the whole polygon (inf when there is none);
    then the square roots of both (rows 4 and 5), taken once here."""
    disc = np.zeros((6, polys.shape[0]))
    disc[3] = np.inf
    disc[5] = np.inf
    if polys.size == 0:
        return disc
    c = shapely.centroid(polys)
    off = ~shapely.contains_properly(polys, c)
    c[off] = shapely.point_on_surface(polys[off])
    ok = ~shapely.is_empty(polys) & shapely.contains_properly(polys, c)
    if ok.any():
        xy = shapely.get_coordinates(c[ok])
        r = shapely.distance(c[ok], shapely.boundary(polys[ok]))
        # keep well inside: a point in the shrunk disc is strictly inside the polygon
        r = np.maximum(r * (1.0 - 1e-9) - 1e-6, 0.0)
        disc[0, ok], disc[1, ok], disc[2, ok] = xy[:, 0], xy[:, 1], r * r
        # the farthest point of a polygon from any point is one of its vertices
        vxy, vi = shapely.get_coordinates(polys[ok], return_index=True)
        far = np.hypot(vxy[:, 0] - xy[vi, 0], vxy[:, 1] - xy[vi, 1])
        rmax = np.maximum.reduceat(far, np.searchsorted(vi, np.arange(xy.shape[0])))
        rmax = rmax * (1.0 + 1e-9) + 1e-6  # keep well outside
        disc[3, ok] = rmax * rmax
    disc[4] = np.sqrt(disc[2])
    disc[5] = np.sqrt(disc[3])
    return disc


def classify(gs: GridSet, w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """LEVEL_IN / LEVEL_BAND / LEVEL_OUT of each point against its worker's grid.

    A coarse classification (inside I, between, outside O) for diagnostics and tests; the
    engine's certificates (:func:`inside_pieces`) use distances instead.
    """
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


# ---------------------------------------------------------------------------- compiled
class EdgeArrays(NamedTuple):
    """An edge table as the compiled kernels read it: ``ed[row, j]`` holds edge j of
    polygon ``row`` (each row's edges first, then padding) as start point, end point,
    direction, 1 / squared length and 1 / length (0 for degenerate edges), see the ``E_*``
    columns;
    ``box[row, b]`` the bounding box of block b (lo x, lo y, hi x, hi y); ``count[row]``
    the row's edges; ``blocked``: skip the blocks far away (else loop over every edge)."""

    ed: np.ndarray
    box: np.ndarray
    count: np.ndarray
    block: int
    blocked: bool


E_X0, E_Y0, E_X1, E_Y1, E_DX, E_DY, E_IL2, E_IL = range(8)


def _edge_arrays(e: Edges) -> EdgeArrays:
    dx = e.x1 - e.x0
    dy = e.y1 - e.y0
    l2 = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        il2 = np.where(l2 > 0, 1.0 / l2, 0.0)
        il = np.where(l2 > 0, 1.0 / np.sqrt(l2), 0.0)
    ed = np.stack([e.x0, e.y0, e.x1, e.y1, dx, dy, il2, il], axis=2)
    box = np.ascontiguousarray(np.stack([e.bx0, e.by0, e.bx1, e.by1], axis=2))
    count = (~np.isnan(e.x0)).sum(axis=1).astype(np.int64)
    return EdgeArrays(ed, box, count, int(e.block), bool(e.used > MAX_COLUMN_EDGES))


@njit(inline="always", **JIT)
def _scan(e, row, j0, j1, px, py, want_d, best, inside, on_edge):
    """Edges j0 .. j1-1 of a row: squared distance, crossing number, on an edge."""
    for j in range(j0, j1):
        ax = e.ed[row, j, E_X0]
        ay = e.ed[row, j, E_Y0]
        dx = e.ed[row, j, E_DX]
        dy = e.ed[row, j, E_DY]
        wx = px - ax
        wy = py - ay
        if want_d:  # squared distance to the edge
            tt = min(max((wx * dx + wy * dy) * e.ed[row, j, E_IL2], 0.0), 1.0)
            qx = wx - tt * dx
            qy = wy - tt * dy
            best = min(best, qx * qx + qy * qy)
        by = e.ed[row, j, E_Y1]
        if (ay > py) != (by > py):  # crossing number, half-open in y: the ray to +x
            # crosses the edge where px < ax + wy dx / dy, i.e. the sign of the cross
            # product against dy's (no division: it held up the loop)
            cr = wx * dy - wy * dx
            if (cr < 0.0) if dy > 0.0 else (cr > 0.0):
                inside = not inside
        if not want_d and not on_edge and dx * wy - dy * wx == 0.0:
            bx = e.ed[row, j, E_X1]
            if min(ax, bx) <= px <= max(ax, bx) and min(ay, by) <= py <= max(ay, by):
                on_edge = True
    return best, inside, on_edge


@njit(inline="always", **JIT)
def _locate(e, row, px, py, want_d):
    """(squared distance to the boundary or inf, inside) of a point; closed: a point on an
    edge is inside. ``want_d`` False: only inside (the distance is not computed: inf)."""
    best = np.inf
    inside = False
    on_edge = False
    cnt = e.count[row]
    bs = e.block
    for kb in range((cnt + bs - 1) // bs if e.blocked else 1):
        j0, j1 = 0, cnt
        if e.blocked:
            lo_x, lo_y, hi_x, hi_y = e.box[row, kb, 0], e.box[row, kb, 1], e.box[row, kb, 2], e.box[row, kb, 3]
            # the ray to +x can only cross this block's edges if the box spans py and
            # reaches px; the distance only matters if the box is nearer than the best
            gx = max(lo_x - px, px - hi_x, 0.0)
            gy = max(lo_y - py, py - hi_y, 0.0)
            if not ((lo_y <= py and py <= hi_y and px <= hi_x) or (want_d and gx * gx + gy * gy < best)):
                continue
            j0, j1 = kb * bs, min(kb * bs + bs, cnt)
        best, inside, on_edge = _scan(e, row, j0, j1, px, py, want_d, best, inside, on_edge)
    if want_d and best == 0.0:
        on_edge = True
    return best, inside or on_edge


@njit(**JIT)
def _point_inside(e, row, px, py):
    """Whether a point is in the polygon (closed), for zero-length segments."""
    return _locate(e, row, px, py, False)[1]


#: A crossing this close (in segment or edge parameter) to an end, or an edge parallel to
#: the segment near it, makes the crossings "not clean": the parts are then found by
#: testing each piece's midpoint instead of alternating sides.
_CLEAN_EPS = 1e-9


@njit(**JIT)
def _crossings(e, row, x0, y0, x1, y1, ubuf):
    """Parameters u in [0, 1] of the proper crossings of a segment with the edges, written
    to ``ubuf`` after 0 and 1, sorted; returns (how many values ``ubuf`` holds, clean):
    clean when every crossing is transversal, well inside both the segment and the edge,
    and no edge near the segment is parallel to it (so the side alternates at each)."""
    ubuf[0] = 0.0
    ubuf[1] = 1.0
    m = 2
    clean = True
    rx = x1 - x0
    ry = y1 - y0
    lo_x, hi_x = min(x0, x1), max(x0, x1)
    lo_y, hi_y = min(y0, y1), max(y0, y1)
    for kb in range(_n_blocks(e, row)):
        j0, j1 = _block_edges(e, row, kb, lo_x, lo_y, hi_x, hi_y)
        for j in range(j0, j1):
            qx = e.ed[row, j, E_X0]
            qy = e.ed[row, j, E_Y0]
            ex = e.ed[row, j, E_X1]
            ey = e.ed[row, j, E_Y1]
            if _box_apart(qx, qy, ex, ey, lo_x, lo_y, hi_x, hi_y):
                continue  # boxes apart: no crossing
            sx = e.ed[row, j, E_DX]
            sy = e.ed[row, j, E_DY]
            den = rx * sy - ry * sx
            if den == 0.0:
                clean = False
                continue
            wx = qx - x0
            wy = qy - y0
            u = (wx * sy - wy * sx) / den
            v = (wx * ry - wy * rx) / den
            if u >= -_CLEAN_EPS and u <= 1.0 + _CLEAN_EPS and v >= -_CLEAN_EPS and v <= 1.0 + _CLEAN_EPS:
                if not (u > _CLEAN_EPS and u < 1.0 - _CLEAN_EPS and v > _CLEAN_EPS and v < 1.0 - _CLEAN_EPS):
                    clean = False
            if u >= 0.0 and u <= 1.0 and v >= 0.0 and v <= 1.0:
                ubuf[m] = u
                m += 1
    for i in range(2, m):  # insertion sort (few values)
        u = ubuf[i]
        k = i - 1
        while k >= 0 and ubuf[k] > u:
            ubuf[k + 1] = ubuf[k]
            k -= 1
        ubuf[k + 1] = u
    return m, clean


@njit(**JIT)
def _grow(a, n):
    b = np.empty(max(2 * a.shape[0], n + 16), a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(inline="always", **JIT)
def _block_edges(e, row, kb, lo_x, lo_y, hi_x, hi_y):
    """Edges j0 .. j1-1 of block ``kb`` of a row (all edges when not blocked), or none
    (j0 == j1) when the block's box is apart from the box [lo_x, hi_x] x [lo_y, hi_y]."""
    cnt = e.count[row]
    if not e.blocked:
        return 0, cnt
    if (e.box[row, kb, 0] > hi_x or e.box[row, kb, 2] < lo_x
            or e.box[row, kb, 1] > hi_y or e.box[row, kb, 3] < lo_y):
        return 0, 0
    j0 = kb * e.block
    return j0, min(j0 + e.block, cnt)


@njit(inline="always", **JIT)
def _box_apart(ax, ay, bx, by, lo_x, lo_y, hi_x, hi_y):
    """The bounding box of A-B lies outside the box [lo_x, hi_x] x [lo_y, hi_y]."""
    return max(ax, bx) < lo_x or min(ax, bx) > hi_x or max(ay, by) < lo_y or min(ay, by) > hi_y


@njit(inline="always", **JIT)
def _n_blocks(e, row):
    return (e.count[row] + e.block - 1) // e.block if e.blocked else 1


@njit(inline="always", **JIT)
def _append_part(pseg, pu0, pu1, npc, start, k, ua, ub):
    """Append the part [ua, ub] of segment ``k`` (parts from ``start`` are this segment's),
    merged with the previous part when they overlap or touch. Returns (arrays, count)."""
    if npc > start and not ua > pu1[npc - 1]:
        pu1[npc - 1] = max(pu1[npc - 1], ub)
        return pseg, pu0, pu1, npc
    if npc == pseg.shape[0]:
        pseg = _grow(pseg, npc)
        pu0 = _grow(pu0, npc)
        pu1 = _grow(pu1, npc)
    pseg[npc] = k
    pu0[npc] = ua
    pu1[npc] = ub
    return pseg, pu0, pu1, npc + 1


@njit(inline="always", **JIT)
def _exact_parts(e, row, k, x0, y0, x1, y1, side0, side1, ubuf, pseg, pu0, pu1, npc):
    """GEO-INGRID exact inside parts [u0, u1] of segment ``k`` (split at its crossings),
    appended to (pseg, pu0, pu1) from ``npc``. ``side0``/``side1``: whether the start/end
    is known to be strictly inside (1), strictly outside (0) or unknown (-1). With both
    known and clean crossings of the right parity the sides alternate at each crossing;
    otherwise each piece is inside as its midpoint.
    Returns (wholly inside, arrays, new count); a whole segment is not appended."""
    m, clean = _crossings(e, row, x0, y0, x1, y1, ubuf)
    start = npc
    # pieces between consecutive crossings; ubuf[0] = 0 and ubuf[m-1] = 1 after the sort
    alternate = clean and side0 >= 0 and side1 >= 0 and ((side0 != side1) == ((m - 2) % 2 == 1))
    for i in range(m - 1):
        if alternate and not ubuf[i + 1] > ubuf[i]:  # two crossings at one point
            alternate = False
    inn = side0 == 1
    for i in range(m - 1):
        ua = ubuf[i]
        ub = ubuf[i + 1]
        if alternate:
            if i > 0:
                inn = not inn
        elif not ub > ua:
            continue
        else:
            um = (ua + ub) / 2.0
            _, inn = _locate(e, row, x0 + um * (x1 - x0), y0 + um * (y1 - y0), False)
        if not inn or not ub > ua:
            continue
        pseg, pu0, pu1, npc = _append_part(pseg, pu0, pu1, npc, start, k, ua, ub)
    if npc == start + 1 and pu0[start] == 0.0 and pu1[start] == 1.0:
        return True, pseg, pu0, pu1, start
    return False, pseg, pu0, pu1, npc


# Bounds of one fix's signed distance s to R's boundary (negative inside): known (the
# side is known), inside, lo <= |s| <= hi.
@njit(**JIT)
def _disc_bound(cx, cy, cr2, cr, or2, orr, px, py):
    """Inside the disc in R (squared radius cr2, radius cr): inside, at least (radius -
    rho) from the boundary; outside the circle holding R (or2, orr): outside, at least
    (rho - its radius) away; else unknown."""
    dx = px - cx
    dy = py - cy
    rho2 = dx * dx + dy * dy
    if rho2 < cr2:
        return True, True, cr - np.sqrt(rho2), np.inf
    if rho2 > or2:
        return True, False, np.sqrt(rho2) - orr, np.inf
    return False, False, 0.0, np.inf


@njit(inline="always", **JIT)
def _measure(e, row, px, py):
    """Exact bounds (lo == hi) of a fix: one pass over R's edges."""
    d2, inside = _locate(e, row, px, py, True)
    d = np.sqrt(d2)
    return True, inside, d, d


@njit(**JIT)
def _s_range(known, inside, lo, hi):
    """(smallest, largest) possible signed distance (negative inside)."""
    if not known:
        return -np.inf, np.inf
    if inside:
        return -hi, -lo
    return lo, hi


#: A fix is on a known side of R for the alternating crossings only this far from R's
#: boundary (the crossing-number test is exact well before that).
_SIDE_MARGIN_M = 1e-7


@njit(**JIT)
def _side(known, inside, lo, hi):
    """Side of a fix against R from its bounds: 1 strictly inside, 0 strictly outside
    (both by more than ``_SIDE_MARGIN_M``), -1 not known."""
    smin, smax = _s_range(known, inside, lo, hi)
    if smax < -_SIDE_MARGIN_M:
        return 1
    if smin > _SIDE_MARGIN_M:
        return 0
    return -1


@njit(**JIT)
def _certify(k0, i0, lo0, hi0, k1, i1, lo1, hi1, length, tol, mb):
    """Which of R and B a segment provably does not cross, and the side it is on.
    Returns (R settled, wholly inside R, B settled, wholly inside B)."""
    lr = length + 1e-6
    r_ok = lo0 + lo1 > lr and (k0 or k1)
    r_in = (i0 if lo0 >= lo1 else i1) if (k0 and k1) else (i0 if k0 else i1)
    smin0, smax0 = _s_range(k0, i0, lo0, hi0)
    smin1, smax1 = _s_range(k1, i1, lo1, hi1)
    # B's boundary is the curve at signed distance tol; mb allows for float noise
    out_b = smin0 > tol + mb and smin1 > tol + mb and (smin0 - tol - mb) + (smin1 - tol - mb) > lr
    in_b = smax0 < tol - mb and smax1 < tol - mb and (tol - mb - smax0) + (tol - mb - smax1) > lr
    return r_ok, r_in, out_b or in_b, in_b


@njit(inline="always", **JIT)
def _clip_linear(v0, v1, lo_v, hi_v, ulo, uhi):
    """Narrow [ulo, uhi] to the u with lo_v <= v0 + u v1 <= hi_v."""
    if v1 == 0.0:
        if v0 < lo_v or v0 > hi_v:
            return np.inf, -np.inf
        return ulo, uhi
    ua = (lo_v - v0) / v1
    ub = (hi_v - v0) / v1
    if v1 < 0.0:
        ua, ub = ub, ua
    return max(ulo, ua), min(uhi, ub)


@njit(inline="always", **JIT)
def _edge_range(fx, fy, dx, dy, ia, ex, ey, il2, il, r):
    """The u in [0, 1] where the segment f + u d (relative to the edge's start A; ``ia`` =
    1 / |d|^2) is within r of A or of the band along the edge A-B (projection on the edge
    within it, distance from its line <= r); (inf, -inf) if none. With the disc about B
    (the next edge's A: rings are closed) that is the edge's capsule, which is convex, so
    the hull of the parts is the segment's one interval in it."""
    lo = np.inf
    hi = -np.inf
    if il2 > 0.0:
        # signed distance from the edge's line along the segment: h0 + u h1
        h0 = (ex * fy - ey * fx) * il
        h1 = (ex * dy - ey * dx) * il
        if (h0 > r and h0 + h1 > r) or (h0 < -r and h0 + h1 < -r):
            return np.inf, -np.inf  # the segment stays beyond r of the line, so of A
        ulo, uhi = _clip_linear(h0, h1, -r, r, -np.inf, np.inf)
        ulo, uhi = _clip_linear((fx * ex + fy * ey) * il2, (dx * ex + dy * ey) * il2, 0.0, 1.0, ulo, uhi)
        if uhi >= ulo:
            lo = ulo
            hi = uhi
    hb = fx * dx + fy * dy
    c = fx * fx + fy * fy - r * r
    disc = hb * hb - c / ia
    if disc >= 0.0:
        sq = np.sqrt(disc)
        lo = min(lo, (-hb - sq) * ia)
        hi = max(hi, (-hb + sq) * ia)
    return max(lo, 0.0), min(hi, 1.0)


@njit(inline="always", **JIT)
def _offset_parts(e, row, k, x0, y0, x1, y1, r, r_full, ru0, ru1, r_from, r_to, ia, ib,
                  pseg, pu0, pu1, npc):
    """GEO-INGRID exact parts [u0, u1] of segment ``k`` in B = R plus every point within
    ``r`` of R's boundary: the union of its parts in R (``r_full``, or R's parts
    ``r_from:r_to`` of ``ru0, ru1``) and its intervals near each edge (:func:`_edge_range`),
    appended to (pseg, pu0, pu1) from ``npc``. Returns (wholly inside, arrays, new count);
    a whole segment is not appended."""
    if r_full:
        return True, pseg, pu0, pu1, npc
    m = 0
    for q in range(r_from, r_to):
        ia[m] = ru0[q]
        ib[m] = ru1[q]
        m += 1
    dx = x1 - x0
    dy = y1 - y0
    inv_a = 1.0 / (dx * dx + dy * dy)
    lo_x, hi_x = min(x0, x1) - r, max(x0, x1) + r
    lo_y, hi_y = min(y0, y1) - r, max(y0, y1) + r
    for kb in range(_n_blocks(e, row)):
        j0, j1 = _block_edges(e, row, kb, lo_x, lo_y, hi_x, hi_y)
        for j in range(j0, j1):
            ax = e.ed[row, j, E_X0]
            ay = e.ed[row, j, E_Y0]
            bx = e.ed[row, j, E_X1]
            by = e.ed[row, j, E_Y1]
            if _box_apart(ax, ay, bx, by, lo_x, lo_y, hi_x, hi_y):
                continue  # farther than r in x or y: no point of the segment within r
            ua, ub = _edge_range(x0 - ax, y0 - ay, dx, dy, inv_a, e.ed[row, j, E_DX], e.ed[row, j, E_DY],
                                 e.ed[row, j, E_IL2], e.ed[row, j, E_IL], r)
            if ub >= ua:
                ia[m] = ua
                ib[m] = ub
                m += 1
    for i in range(1, m):  # insertion sort by start (few intervals)
        u = ia[i]
        v = ib[i]
        q = i - 1
        while q >= 0 and ia[q] > u:
            ia[q + 1] = ia[q]
            ib[q + 1] = ib[q]
            q -= 1
        ia[q + 1] = u
        ib[q + 1] = v
    start = npc
    for i in range(m):  # closed intervals: merge those that overlap or touch
        ua = ia[i]
        ub = ib[i]
        if ub > ua or (npc > start and not ua > pu1[npc - 1]):
            pseg, pu0, pu1, npc = _append_part(pseg, pu0, pu1, npc, start, k, ua, ub)
    if npc == start + 1 and pu0[start] == 0.0 and pu1[start] == 1.0:
        return True, pseg, pu0, pu1, start
    return False, pseg, pu0, pu1, npc


@njit(**JIT)
def _pieces_kernel(sw, fa, fb, x, y, length, gidx, disc, tol, mb, certify, er, exact):
    """GEO-INGRID over all segments of a batch (sorted by worker then time; see the module
    doc). Returns, for R then B: wholly inside (bool per segment), left for GEOS (bool per
    segment, only when that kind's exact flag is off), and the partial parts."""
    n = sw.shape[0]
    full_r = np.zeros(n, np.bool_)
    full_b = np.zeros(n, np.bool_)
    left_r = np.zeros(n, np.bool_)
    left_b = np.zeros(n, np.bool_)
    cap = 64 + n // 8
    rseg = np.empty(cap, np.int64)
    ru0 = np.empty(cap)
    ru1 = np.empty(cap)
    bseg = np.empty(cap, np.int64)
    bu0 = np.empty(cap)
    bu1 = np.empty(cap)
    nr = 0
    nbp = 0
    rbuf = np.empty(er.ed.shape[1] + 2)
    ia = np.empty(2 * er.ed.shape[1] + 4)
    ib = np.empty(2 * er.ed.shape[1] + 4)
    # bounds at the last segment's end fix, taken over by the next segment if it starts there
    last_fix = -1
    lk, li, llo, lhi, lex = False, False, 0.0, np.inf, False
    for k in range(n):
        w = sw[k]
        row = gidx[w]
        L = length[k]
        x0 = x[fa[k]]
        y0 = y[fa[k]]
        x1 = x[fb[k]]
        y1 = y[fb[k]]
        r_done = False
        r_in = False
        b_done = False
        if certify:
            cx, cy, cr2, or2, cr, orr = disc[0, w], disc[1, w], disc[2, w], disc[3, w], disc[4, w], disc[5, w]
            # --- bounds at the start fix: taken over from the previous segment, or the discs
            if fa[k] == last_fix:
                k0, i0, lo0, hi0, ex0 = lk, li, llo, lhi, lex
            else:
                k0, i0, lo0, hi0 = _disc_bound(cx, cy, cr2, cr, or2, orr, x0, y0)
                ex0 = False
            # --- bounds at the end fix: carried along the segment, and the discs
            k1, i1, lo1, hi1 = _disc_bound(cx, cy, cr2, cr, or2, orr, x1, y1)
            ex1 = False
            if k0 and lo0 - L > 0.0:
                if k1:
                    lo1 = max(lo1, lo0 - L)
                    hi1 = min(hi1, hi0 + L)
                else:
                    k1, i1, lo1, hi1 = True, i0, lo0 - L, hi0 + L
            r_done, r_in, b_done, b_in = _certify(k0, i0, lo0, hi0, k1, i1, lo1, hi1, L, tol, mb)
            if not (r_done and b_done):  # measure the end exactly (the next segment's
                # start, never wasted) and try again; then the start if still needed
                k1, i1, lo1, hi1 = _measure(er, row, x1, y1)
                ex1 = True
                r_done, r_in, b_done, b_in = _certify(k0, i0, lo0, hi0, k1, i1, lo1, hi1, L, tol, mb)
                if not (r_done and b_done) and not ex0:
                    k0, i0, lo0, hi0 = _measure(er, row, x0, y0)
                    r_done, r_in, b_done, b_in = _certify(k0, i0, lo0, hi0, k1, i1, lo1, hi1, L, tol, mb)
            last_fix = fb[k]
            lk, li, llo, lhi, lex = k1, i1, lo1, hi1, ex1
            if r_done:
                full_r[k] = r_in
            if b_done:
                full_b[k] = b_in
        # --- exact parts of the segments the certificates did not settle; the ends' sides
        # of R (1 inside, 0 outside, -1 unknown) where the bounds tell them strictly
        r_side0, r_side1 = -1, -1
        if certify and not (r_done and b_done):
            r_side0 = _side(k0, i0, lo0, hi0)
            r_side1 = _side(k1, i1, lo1, hi1)
        r_from = nr
        if not r_done:
            if L == 0.0:
                full_r[k] = _point_inside(er, row, x0, y0)
            elif exact:
                full_r[k], rseg, ru0, ru1, nr = _exact_parts(
                    er, row, k, x0, y0, x1, y1, r_side0, r_side1, rbuf, rseg, ru0, ru1, nr)
            else:
                left_r[k] = True
        if not b_done:
            if L == 0.0:
                d2, ins = _locate(er, row, x0, y0, True)
                full_b[k] = ins or d2 <= tol * tol
            elif exact:
                # R's parts of this segment: settled by the certificate, or just found
                r_full = r_in if r_done else full_r[k]
                full_b[k], bseg, bu0, bu1, nbp = _offset_parts(
                    er, row, k, x0, y0, x1, y1, tol, r_full, ru0, ru1, r_from, nr, ia, ib,
                    bseg, bu0, bu1, nbp)
            else:
                left_b[k] = True
    return (full_r, left_r, rseg[:nr], ru0[:nr], ru1[:nr],
            full_b, left_b, bseg[:nbp], bu0[:nbp], bu1[:nbp])


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
    seg, u0, u1 = seg[pidx[keep]], u0[keep], u1[keep]
    order = np.lexsort((u0, seg))
    return seg[order], u0[order], u1[order]


@dataclass(frozen=True)
class Pieces:
    """Segments inside a polygon: ``full`` (bool per segment: wholly inside) and the
    partial pieces ``seg, u0, u1`` (0 <= u0 < u1 <= 1, sorted by segment then u)."""

    full: np.ndarray
    seg: np.ndarray
    u0: np.ndarray
    u1: np.ndarray


def inside_pieces(
    gs: GridSet,
    sw: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    fa: np.ndarray,
    fb: np.ndarray,
    length: np.ndarray | None = None,
) -> tuple[Pieces, Pieces]:
    """GEO-INGRID pieces of each segment inside the raw grid and the buffered grid.

    Parameters
    ----------
    gs : the workers' grids; sw : worker index of each segment (sorted, then by time).
    x, y : the fixes, metres.
    fa, fb : the fixes each segment joins: a segment starting at the fix where the previous
        one ended takes over that fix's distance bounds (the chain of certificates).
    length : optional segment lengths, if the caller has them already.

    Returns
    -------
    (raw pieces, buffered pieces); a segment wholly inside is in ``full``.
    Zero-length segments (a phone lying still) are inside iff their point is.
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    fa = np.ascontiguousarray(fa, dtype=np.int64)
    fb = np.ascontiguousarray(fb, dtype=np.int64)
    if length is None:
        length = np.hypot(x[fb] - x[fa], y[fb] - y[fa])
    er = gs.edges_raw
    out = _pieces_kernel(
        np.ascontiguousarray(sw, dtype=np.int64), fa, fb, x, y,
        np.ascontiguousarray(length, dtype=np.float64),
        np.ascontiguousarray(gs.gidx, dtype=np.int64), np.ascontiguousarray(gs.disc_raw),
        float(gs.tolerance_m), B_MARGIN_M, bool(CERTIFY),
        _edge_arrays(er), er.width <= MAX_NUMPY_EDGES,
    )
    res = []
    for kind, polys in enumerate((gs.raw, gs.buffered)):
        full, left, pseg, pu0, pu1 = out[5 * kind : 5 * kind + 5]
        left = np.flatnonzero(left)
        if left.size:  # the GEOS overlay path (very large polygons, and the tests)
            la, lb = fa[left], fb[left]
            gseg, gu0, gu1 = _exact_pieces(polys[sw[left]], left, x[la], y[la], x[lb], y[lb])
            pseg, pu0, pu1 = (np.concatenate(v) for v in ((pseg, gseg), (pu0, gu0), (pu1, gu1)))
            order = np.lexsort((pu0, pseg))
            pseg, pu0, pu1 = pseg[order], pu0[order], pu1[order]
        res.append(Pieces(full, pseg, pu0, pu1))
    return res[0], res[1]


# Segment status codes (why a segment does or does not count).
COUNTED = 0
LOST_SUSPECT = 1
LOST_GAP = 2
LOST_SPEED = 3
LOST_NAMES = {LOST_SUSPECT: "suspect", LOST_GAP: "gap", LOST_SPEED: "speed"}
_SUM_NAMES = ("counted", "still", "suspect", "gap", "speed")  # rows of the kernel's sums


class Segments(NamedTuple):
    """The usable fixes of a batch (valid, not suspect; sorted by worker then time) and the
    segments joining consecutive ones of a worker that reach into its local day.

    ``us``: position of each usable fix among the fixes given; ``ux, uy, ut, uw, ulon,
    ulat`` their metres, time, worker and degrees; ``used``: usable fixes in the local day
    per worker. Per segment: ``a, b`` its end fixes (indices into the usable fixes: its
    times are ``ut[a], ut[b]``), ``sw`` worker, ``dt``, ``length`` (metres) and ``status``
    (COUNTED or the LOST_* reason, see :func:`segments`)."""

    us: np.ndarray
    ux: np.ndarray
    uy: np.ndarray
    ut: np.ndarray
    uw: np.ndarray
    ulon: np.ndarray
    ulat: np.ndarray
    used: np.ndarray
    a: np.ndarray
    b: np.ndarray
    sw: np.ndarray
    dt: np.ndarray
    length: np.ndarray
    status: np.ndarray


@njit(**JIT)
def _segments_kernel(x, y, t, w, lon, lat, in_day, skip, d0, d1, max_gap_s, max_speed_mps, n_workers):
    m = x.shape[0]
    us = np.empty(m, np.int64)
    ux = np.empty(m)
    uy = np.empty(m)
    ut = np.empty(m)
    uw = np.empty(m, np.int64)
    ulon = np.empty(m)
    ulat = np.empty(m)
    used = np.zeros(n_workers)
    sa = np.empty(m, np.int64)
    sw = np.empty(m, np.int64)
    sdt = np.empty(m)
    slen = np.empty(m)
    st = np.empty(m, np.int8)
    nu = 0
    ns = 0
    for i in range(m):
        if skip[i] != 0:
            continue
        g = w[i]
        us[nu] = i
        ux[nu] = x[i]
        uy[nu] = y[i]
        ut[nu] = t[i]
        uw[nu] = g
        ulon[nu] = lon[i]
        ulat[nu] = lat[i]
        if in_day[i]:
            used[g] += 1.0
        if nu > 0 and uw[nu - 1] == g and t[i] > d0[g] and ut[nu - 1] < d1[g]:
            p = nu - 1
            sa[ns] = p
            sw[ns] = g
            dt = t[i] - ut[p]
            ddx = x[i] - ux[p]
            ddy = y[i] - uy[p]
            ln = np.sqrt(ddx * ddx + ddy * ddy)  # not libm's hypot (~12 ns): within an ulp
            sdt[ns] = dt
            slen[ns] = ln
            v = ln / dt if dt > 0 else (np.inf if ln > 0 else 0.0)
            gap = dt > max_gap_s
            fast = v > max_speed_mps
            if (gap or fast) and i > us[p] + 1:  # it bridges a suspect fix: GEO-SPOOF's loss
                st[ns] = LOST_SUSPECT
            elif gap:
                st[ns] = LOST_GAP
            elif fast:
                st[ns] = LOST_SPEED
            else:
                st[ns] = COUNTED
            ns += 1
        nu += 1
    return (us[:nu], ux[:nu], uy[:nu], ut[:nu], uw[:nu], ulon[:nu], ulat[:nu], used,
            sa[:ns], sw[:ns], sdt[:ns], slen[:ns], st[:ns])


def segments(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    in_day: np.ndarray,
    skip: np.ndarray,
    day0: np.ndarray,
    day1: np.ndarray,
    max_gap_s: float,
    max_speed_kmh: float,
) -> Segments:
    """GEO-INGRID segments between consecutive usable fixes, and why each does or does not
    count, in one compiled pass over the valid fixes.

    Parameters
    ----------
    x, y, t, w, lon, lat : the valid fixes (metres, POSIX s, worker, degrees), sorted by
        worker then time; in_day : the fix lies in its worker's local day.
    skip : nonzero for the suspect fixes (GEO-SPOOF bits): left out, the track bridges
        over them.
    day0, day1 : each worker's local day; a segment is kept if it reaches into it.

    A segment fails if its gap exceeds ``max_gap_s`` or its speed exceeds ``max_speed_kmh``
    (a zero-duration segment that moves is infinitely fast); if it bridges over a suspect
    fix the loss is charged to ``suspect`` (LOST_SUSPECT), otherwise to ``gap`` (checked
    first, LOST_GAP) or ``speed`` (LOST_SPEED).
    """
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (x, y, t)]
    out = _segments_kernel(
        *f64, np.ascontiguousarray(w, dtype=np.int64),
        np.ascontiguousarray(lon, dtype=np.float64), np.ascontiguousarray(lat, dtype=np.float64),
        np.ascontiguousarray(in_day, dtype=np.bool_), np.ascontiguousarray(skip, dtype=np.uint8),
        np.ascontiguousarray(day0, dtype=np.float64), np.ascontiguousarray(day1, dtype=np.float64),
        float(max_gap_s), max_speed_kmh / 3.6, int(day0.shape[0]),
    )
    return Segments(*out[:9], out[8] + 1, *out[9:])


@njit(inline="always", **JIT)
def _add_windows(acc, grp, g, ta, tb, st, cut, w0, w1):
    """Add [ta, tb] of a segment of status ``st`` to ``acc[grp, name, g, window]`` (indexed
    in full: a view per call would count references)."""
    for j in range(w0.shape[1]):
        lo = max(ta, w0[g, j])
        hi = min(tb, w1[g, j])
        ov = max(hi - lo, 0.0)
        if st == 0:  # COUNTED, up to the GEO-STILL cut
            counted = max(min(hi, cut) - lo, 0.0)
            acc[grp, 0, g, j] += counted
            acc[grp, 1, g, j] += ov - counted
        else:  # lost: LOST_SUSPECT 1 -> row 2, LOST_GAP 2 -> 3, LOST_SPEED 3 -> 4
            acc[grp, 1 + st, g, j] += ov


@njit(**JIT)
def _window_sums_kernel(full_b, bseg, bu0, bu1, full_r, rseg, ru0, ru1, sw, t, fa, fb, status, cut, w0, w1, n):
    """GEO-INGRID seconds per (name, worker, window) in B (rows as ``_SUM_NAMES``) and the
    counted seconds in R, in one pass over the segments. Whole segments and partial pieces
    are summed apart, then added (the order of the sums)."""
    k = w0.shape[1]
    acc = np.zeros((2, 5, n, k))  # B: whole segments, pieces
    acr = np.zeros((2, 5, n, k))  # R: the same (only the counted row is used)
    qb = 0
    qr = 0
    nb = bseg.shape[0]
    nr = rseg.shape[0]
    for s in range(sw.shape[0]):
        g = sw[s]
        a = t[fa[s]]
        b = t[fb[s]]
        d = b - a
        st = status[s]
        c = cut[s]
        if full_b[s]:
            _add_windows(acc, 0, g, a, b, st, c, w0, w1)
        while qb < nb and bseg[qb] == s:
            _add_windows(acc, 1, g, a + bu0[qb] * d, a + bu1[qb] * d, st, c, w0, w1)
            qb += 1
        if st == 0:
            if full_r[s]:
                _add_windows(acr, 0, g, a, b, st, c, w0, w1)
            while qr < nr and rseg[qr] == s:
                _add_windows(acr, 1, g, a + ru0[qr] * d, a + ru1[qr] * d, st, c, w0, w1)
                qr += 1
        else:
            while qr < nr and rseg[qr] == s:
                qr += 1
    return acc[0] + acc[1], acr[0, 0] + acr[1, 0]


def window_seconds(
    buffered: Pieces,
    raw: Pieces,
    sw: np.ndarray,
    t: np.ndarray,
    fa: np.ndarray,
    fb: np.ndarray,
    status: np.ndarray,
    cut: np.ndarray,
    w0: np.ndarray,
    w1: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Seconds inside the polygons per worker and window, split into counted and lost.

    A segment joins the fixes ``fa`` and ``fb`` (times in ``t``); each piece is mapped to
    time ``t0 + u (t1 - t0)`` and clipped to the windows
    ``w0[w, k], w1[w, k]``. Counted segments count up to their GEO-STILL ``cut`` time; the
    rest is lost to ``still``. Returns, for the ``buffered`` pieces, arrays of shape
    (workers, windows) keyed by "counted", "still", "gap", "speed", "suspect", and the
    counted seconds of the ``raw`` pieces (same shape). Pieces must be sorted by segment.
    """
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (t, cut, w0, w1)]
    pieces = []
    for p in (buffered, raw):
        pieces += [
            np.ascontiguousarray(p.full, dtype=np.bool_), np.ascontiguousarray(p.seg, dtype=np.int64),
            np.ascontiguousarray(p.u0, dtype=np.float64), np.ascontiguousarray(p.u1, dtype=np.float64),
        ]
    acc, counted_raw = _window_sums_kernel(
        *pieces, np.ascontiguousarray(sw, dtype=np.int64), f64[0],
        np.ascontiguousarray(fa, dtype=np.int64), np.ascontiguousarray(fb, dtype=np.int64),
        np.ascontiguousarray(status, dtype=np.int8), f64[1], f64[2], f64[3], int(w0.shape[0]),
    )
    return {name: acc[i] for i, name in enumerate(_SUM_NAMES)}, counted_raw
