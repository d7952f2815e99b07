"""GEO-INGRID (with GEO-STILL, GEO-SPOOF bridging) hand-computed cases and edge cases.

The world: a 1 km square grid [0, 1000] x [0, 1000] m near 31.9N 121.0E built in the
engine's own local projection; walks at 1 m/s with a fix every 30 s, so metres = seconds.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import shapely

import geo.ingrid
from geo.engine import evaluate_day
from tests.geo.conftest import DAY, T, default_params, worker_day


def walk(world, t_start, x_from, x_to, y=500.0, step_s=30.0, speed_mps=1.0, **kw):
    """Fixes along y from x_from to x_to (inclusive when it falls on a step)."""
    n = int(abs(x_to - x_from) / (speed_mps * step_s)) + 1
    sign = 1.0 if x_to >= x_from else -1.0
    k = np.arange(n)
    return world.fixes(t_start + k * step_s, x_from + sign * k * step_s * speed_mps, np.full(n, y), **kw)


def am(result):
    return result.patrols["am"]


def test_geo_ingrid_crossing_interpolated_and_tolerance(world, params):
    """GEO-INGRID: walk x=-300..1290 at 1 m/s from 09:00 along y=500.

    Buffered grid spans x in [-20, 1020]: inside from t=280 s to t=1320 s -> 1040 s, with
    both crossings between fixes (x=-30/0 and x=990/1020... 1020 is a fix: exact).
    Raw grid [0, 1000]: 1000 s, so 40 s were counted only thanks to the 20 m tolerance.
    """
    r = evaluate_day(worker_day(world, walk(world, T(9), -300, 1290)), params)
    assert am(r).in_grid_s == 1040
    assert am(r).tolerance_s == 40
    assert am(r).lost_s == {"gap": 0, "speed": 0, "still": 0, "suspect": 0}
    assert r.patrols["pm"].in_grid_s == 0
    assert r.fixes_used == 54


def test_geo_ingrid_crossing_between_fixes(world, params):
    """GEO-INGRID: fixes at x=-25, 5, 35, ... (never on x=-20): entry interpolated at 5 s.

    Inside B from x=-20 (t=5 s) to x=1020 (t=1045 s): 1040 s, not a multiple of 30.
    """
    f = walk(world, T(9), -25, 1265)
    r = evaluate_day(worker_day(world, f), params)
    assert am(r).in_grid_s == 1040


def test_geo_ingrid_gap_lost(world, params):
    """GEO-INGRID: a 420 s gap (> max_gap_s 300) inside the grid is lost to "gap".

    Fixes of the walk above with 300 s < t < 720 s removed: the segment x=0 -> 420
    (t 300 -> 720, all inside) does not count: 1040 - 420 = 620 s; lost gap 420 s.
    """
    f = walk(world, T(9), -300, 1290)
    rel = f.t - T(9)
    keep = ~((rel > 300) & (rel < 720))
    f = dataclasses.replace(f, **{k: getattr(f, k)[keep] for k in ("t", "lon", "lat", "accuracy_m", "speed_mps", "mock", "is_heartbeat")})
    r = evaluate_day(worker_day(world, f), params)
    assert am(r).in_grid_s == 620
    assert am(r).lost_s["gap"] == 420


def test_geo_ingrid_speed_lost(world, params):
    """GEO-INGRID: 300 m per 30 s (10 m/s = 36 km/h > 25 km/h) inside the grid: all lost.

    11 fixes alternating x=200/500 -> 10 segments x 30 s = 300 s lost to "speed".
    """
    t = T(9) + np.arange(11) * 30.0
    x = np.where(np.arange(11) % 2 == 0, 200.0, 500.0)
    r = evaluate_day(worker_day(world, world.fixes(t, x, np.full(11, 500.0))), params)
    assert am(r).in_grid_s == 0
    assert am(r).lost_s["speed"] == 300


def test_geo_ingrid_window_clipping(world, params):
    """YK-PATROL-WINDOWS: inside from 11:30 to 12:30 -> 1800 s am and 1800 s pm."""
    f = walk(world, T(11, 30), 100, 900, speed_mps=800 / 3600)  # 800 m in 3600 s
    r = evaluate_day(worker_day(world, f), params)
    assert am(r).in_grid_s == 1800
    assert r.patrols["pm"].in_grid_s == 1800


def test_geo_ingrid_reentering_segment_concave_grid(world, params):
    """GEO-INGRID: one 300 s segment with both ends inside a U-shaped grid crosses the notch.

    Grid: square minus the notch x in [400, 600], y >= 300 (open to the north).
    Segment (300, 800) -> (700, 800) in 300 s (1.33 m/s). Buffered notch is [420, 580]:
    outside for u in [0.3, 0.7] -> 0.4 x 300 = 120 s, counted 180 s. Raw notch [400, 600]:
    counted 150 s, so tolerance 30 s. (A whole-track intersection would miss nothing here
    but the endpoint-only count would give 300 s.)
    """
    grid = world.poly([(0, 0), (1000, 0), (1000, 1000), (600, 1000), (600, 300), (400, 300), (400, 1000), (0, 1000)])
    f = world.fixes(T(9) + np.array([0.0, 300.0]), np.array([300.0, 700.0]), np.array([800.0, 800.0]))
    r = evaluate_day(worker_day(world, f, grid=grid), params)
    assert am(r).in_grid_s == 180
    assert am(r).tolerance_s == 30


def test_geo_ingrid_multipolygon(world, params):
    """GEO-INGRID: MultiPolygon of two squares [0,1000] and [2000,3000] along x.

    Walk x=-100..3200 at 1 m/s: buffered parts [-20,1020] and [1980,3020] -> 2 x 1040 s.
    """
    grid = world.multi(world.square(0, 0), world.square(2000, 0))
    r = evaluate_day(worker_day(world, walk(world, T(8), -100, 3200), grid=grid), params)
    assert am(r).in_grid_s == 2080
    assert am(r).tolerance_s == 80


def test_geo_ingrid_hole(world, params):
    """GEO-INGRID: a pond (hole) x, y in [400, 600]; walk x=-100..1100 along y=500.

    Buffered: outer [-20, 1020], hole shrinks to [420, 580] -> 440 + 440 = 880 s.
    Raw: 400 + 400 = 800 s -> tolerance 80 s.
    """
    grid = world.square(holes=[[(400, 400), (600, 400), (600, 600), (400, 600)]])
    r = evaluate_day(worker_day(world, walk(world, T(9), -100, 1100), grid=grid), params)
    assert am(r).in_grid_s == 880
    assert am(r).tolerance_s == 80


def test_geo_ingrid_tolerance_is_round_at_a_convex_corner(world, params):
    """GEO-INGRID: B holds every point within 20 m of the grid, so it is round at a corner.

    Walk y=1019 (19 m above the top edge of the 1 km square) from x=990 to x=1020 at
    0.1 m/s (a fix every 30 s, 3 m). Within 20 m: along the edge up to x=1000, then of the
    corner (1000, 1000) while (x-1000)^2 + 19^2 <= 20^2, i.e. x <= 1000 + sqrt(39) =
    1006.245 m: 16.245 m = 162.45 s -> 162 s, all of it tolerance (R is never entered).
    A polygon buffer with 8 chords per quarter circle would give 159 s.
    """
    r = evaluate_day(worker_day(world, walk(world, T(9), 990, 1020, y=1019.0, speed_mps=0.1)), params)
    assert am(r).in_grid_s == 162
    assert am(r).tolerance_s == 162


@pytest.mark.parametrize(("x", "want"), [(-15.0, 600), (-25.0, 0)])
def test_geo_ingrid_phone_lying_still_just_outside(world, params, x, want):
    """GEO-INGRID: a phone lying still 15 m outside the left edge (fixes every 30 s for
    10 min at one point: zero-length segments) is within the 20 m tolerance: 600 s, all
    tolerance; at 25 m it is not: 0 s.
    """
    t = T(9) + np.arange(21) * 30.0
    r = evaluate_day(worker_day(world, world.fixes(t, np.full(21, x), np.full(21, 500.0))), params)
    assert am(r).in_grid_s == want
    assert am(r).tolerance_s == want


def test_geo_ingrid_fix_exactly_on_boundary_counts_inside(world):
    """GEO-INGRID: with no tolerance, a phone lying exactly on a grid vertex is inside.

    Fixes every 30 s for 10 min at the vertex (1000, 0): 600 s in grid (GEO-STILL allows
    20 min). The boundary is part of the grid (closed set).
    """
    p = default_params(boundary_tolerance_m=0.0)
    t = T(9) + np.arange(21) * 30.0
    f = world.fixes(t, np.full(21, 1000.0), np.zeros(21))
    r = evaluate_day(worker_day(world, f), p)
    assert am(r).in_grid_s == 600
    assert am(r).tolerance_s == 0


def test_geo_ingrid_no_fixes_and_one_fix(world, params):
    """GEO-INGRID: a day with no fixes or a single fix has 0 s in grid, nothing crashes."""
    r0 = evaluate_day(worker_day(world), params)
    assert am(r0).in_grid_s == 0 and r0.fixes_used == 0 and am(r0).status == "missing"
    r1 = evaluate_day(worker_day(world, world.fixes([T(9)], [500.0], [500.0])), params)
    assert am(r1).in_grid_s == 0 and r1.fixes_used == 1


def test_geo_ingrid_duplicated_fixes(world, params):
    """GEO-INGRID: every fix sent twice (same t) gives the same 1040 s."""
    f = walk(world, T(9), -300, 1290)
    d = dataclasses.replace(f, **{k: np.repeat(getattr(f, k), 2) for k in ("t", "lon", "lat", "accuracy_m", "speed_mps", "mock", "is_heartbeat")})
    r = evaluate_day(worker_day(world, d), params)
    assert am(r).in_grid_s == 1040


def test_geo_ingrid_track_crossing_midnight(world):
    """GEO-INGRID: inside from 23:30 to 00:30 is split at local midnight: 1800 s each day."""
    import datetime as dt

    p = default_params(
        working_days="every_day", patrol_windows={"am": ("00:00", "12:00"), "pm": ("12:00", "24:00")}
    )
    f = walk(world, T(23, 30), 100, 900, speed_mps=800 / 3600)
    r1 = evaluate_day(worker_day(world, f), p)
    r2 = evaluate_day(worker_day(world, f, date=DAY + dt.timedelta(days=1)), p)
    assert r1.patrols["pm"].in_grid_s == 1800 and r1.patrols["am"].in_grid_s == 0
    assert r2.patrols["am"].in_grid_s == 1800 and r2.patrols["pm"].in_grid_s == 0


def test_geo_ingrid_geos_path_agrees_with_numpy_path(world, params, monkeypatch):
    """GEO-INGRID: column, blocked and GEOS-overlay crossing paths give the same result."""
    grid = world.square(holes=[[(400, 400), (600, 400), (600, 600), (400, 600)]])
    rng = np.random.default_rng(3)
    t = T(8) + np.arange(400) * 30.0
    x = np.cumsum(rng.normal(0, 30, 400)) + 500
    y = np.cumsum(rng.normal(0, 30, 400)) + 500
    day = worker_day(world, world.fixes(t, x, y), grid=grid)
    a = evaluate_day(day, params)
    monkeypatch.setattr(geo.ingrid, "MAX_COLUMN_EDGES", 0)  # blocked edge tests
    c = evaluate_day(day, params)
    monkeypatch.setattr(geo.ingrid, "MAX_NUMPY_EDGES", 0)  # GEOS overlay
    b = evaluate_day(day, params)
    assert a.patrols["am"].in_grid_s > 0
    for other in (b, c):
        for k in ("am", "pm"):
            assert abs(a.patrols[k].in_grid_s - other.patrols[k].in_grid_s) <= 1
            assert abs(a.patrols[k].tolerance_s - other.patrols[k].tolerance_s) <= 1
        assert len(a.offpost) == len(other.offpost)


def test_geo_still_stay_capped_and_stationary(world, params):
    """GEO-STILL: phone lying within 10 m of (500, 500) from 09:00 to 10:00, fix every 30 s.

    One stay of 3600 s > still_max_s 1200: only its first 1200 s count; 2400 s are lost
    to "still" and the morning patrol is marked stationary.
    """
    n = 121
    rng = np.random.default_rng(1)
    t = T(9) + np.arange(n) * 30.0
    f = world.fixes(t, 500 + rng.uniform(-7, 7, n), 500 + rng.uniform(-7, 7, n))
    r = evaluate_day(worker_day(world, f), params)
    assert am(r).in_grid_s == 1200
    assert am(r).lost_s["still"] == 2400
    assert am(r).stationary is True


def test_geo_still_short_stay_not_capped(world, params):
    """GEO-STILL: a 15 min stay (< 20 min) counts fully and is not stationary."""
    n = 31  # 900 s
    f = world.fixes(T(9) + np.arange(n) * 30.0, np.full(n, 500.0), np.full(n, 500.0))
    r = evaluate_day(worker_day(world, f), params)
    assert am(r).in_grid_s == 900 and am(r).stationary is False


@pytest.mark.parametrize("tol", [0.0, 20.0])
def test_geo_ingrid_in_grid_never_exceeds_elapsed(world, tol):
    """GEO-INGRID: in-grid time <= elapsed time of a random walk (deterministic sample)."""
    p = default_params(boundary_tolerance_m=tol)
    rng = np.random.default_rng(11)
    t = T(8) + np.arange(300) * 30.0
    x = np.cumsum(rng.normal(0, 25, 300)) + 500
    y = np.cumsum(rng.normal(0, 25, 300)) + 500
    r = evaluate_day(worker_day(world, world.fixes(t, x, y)), p)
    total = sum(pp.in_grid_s for pp in r.patrols.values())
    assert 0 < total <= t[-1] - t[0] + 1


def test_world_is_metric(world):
    """Helper check: the test world's metre offsets are metres (1 km square, 1000 m side)."""
    from geo.crs import distance_m

    lon, lat = world.lonlat([0.0, 1000.0], [0.0, 0.0])
    assert abs(float(distance_m(lon[0], lat[0], lon[1], lat[1])[0]) - 1000.0) < 0.01


def test_geo_ingrid_empty_grid(world, params):
    """GEO-INGRID: an empty grid geometry gives 0 s in grid and an off-post day, no crash."""
    from shapely.geometry import Polygon

    f = walk(world, T(8), 0, 900, speed_mps=900 / 14400)  # 08:00-12:00 slowly east
    r = evaluate_day(worker_day(world, f, grid=Polygon()), params)
    assert am(r).in_grid_s == 0
    assert len(r.offpost) == 1 and r.offpost[0].end - r.offpost[0].start == 4 * 3600


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_geo_ingrid_fast_paths_equal_exact_geometry(world, params, monkeypatch, seed):
    """GEO-INGRID: the fast classification and signed-distance certificates change nothing.

    Random walks (steps up to ~100 m, some longer jumps) around a U-shaped grid with a pond
    are judged with and without the shortcuts (every segment then goes through the exact
    edge-crossing computation): in-grid and tolerance seconds agree to the second.
    """
    grid = world.poly(
        [(0, 0), (1000, 0), (1000, 1000), (600, 1000), (600, 300), (400, 300), (400, 1000), (0, 1000)],
        holes=[[(100, 100), (250, 100), (250, 250), (100, 250)]],
    )
    rng = np.random.default_rng(seed)
    n = 500
    t = T(7) + np.cumsum(rng.choice([10.0, 30.0, 30.0, 60.0], n))
    step = rng.normal(0, 35, (n, 2))
    step[rng.random(n) < 0.03] *= 6
    xy = np.cumsum(step, axis=0) + 500
    day = worker_day(world, world.fixes(t, xy[:, 0], xy[:, 1]), grid=grid)
    fast = evaluate_day(day, params)
    monkeypatch.setattr(geo.ingrid, "CERTIFY", False)
    monkeypatch.setattr(geo.ingrid, "FILTER_M", 0.0)
    exact = evaluate_day(day, params)
    assert sum(p.in_grid_s for p in fast.patrols.values()) > 0
    for k in fast.patrols:
        assert abs(fast.patrols[k].in_grid_s - exact.patrols[k].in_grid_s) <= 1
        assert abs(fast.patrols[k].tolerance_s - exact.patrols[k].tolerance_s) <= 1
        assert fast.patrols[k].lost_s == exact.patrols[k].lost_s


def test_geo_ingrid_classify_certificates_equal_polygon_tests():
    """GEO-INGRID: the disc certificate of ``classify`` gives the plain polygon tests' levels.

    Grids in metres: a U with a pond, a C whose centroid lies outside it, a MultiPolygon,
    and a grid too small to have an eroded core (empty I). 20,000 random points each,
    some exactly on the rim of the disc's polygon, are classified with the certificate and
    by testing I and O directly.
    """
    from shapely.geometry import MultiPolygon, Polygon, box

    grids = [
        Polygon([(0, 0), (1000, 0), (1000, 1000), (600, 1000), (600, 300), (400, 300), (400, 1000), (0, 1000)],
                [[(100, 100), (250, 100), (250, 250), (100, 250)]]),
        Polygon([(0, 0), (1000, 0), (1000, 200), (200, 200), (200, 800), (1000, 800), (1000, 1000), (0, 1000)]),
        MultiPolygon([box(0, 0, 400, 400), box(600, 600, 1000, 1000)]),
        box(400, 400, 430, 430),
    ]
    gs = geo.ingrid.prepare_grids(np.array(grids, dtype=object), 20.0)
    assert (gs.disc[2, :3] > 0).all() and gs.disc[2, 3] == 0  # the tiny grid has no disc
    rng = np.random.default_rng(5)
    w = np.repeat(np.arange(len(grids)), 20000)
    x = rng.uniform(-100, 1100, w.size)
    y = rng.uniform(-100, 1100, w.size)
    # points on the disc rims and at the centres
    r = np.sqrt(gs.disc[2])
    k = np.arange(len(grids)) * 20000
    x[k], y[k] = gs.disc[0] + r, gs.disc[1]
    x[k + 1], y[k + 1] = gs.disc[0], gs.disc[1]
    lev = geo.ingrid.classify(gs, w, x, y)
    inn = shapely.intersects_xy(gs.inner[w], x, y)
    out = ~shapely.intersects_xy(gs.outer[w], x, y)
    expect = np.where(inn, geo.ingrid.LEVEL_IN, np.where(out, geo.ingrid.LEVEL_OUT, geo.ingrid.LEVEL_BAND))
    assert (lev == expect).all()
    assert (lev == geo.ingrid.LEVEL_IN).sum() > 1000


def _lattice_case(seed):
    """A lattice grid (a U with a pond) and a chain of 4,000 segments between points of a
    10 m lattice around it: many pass exactly through vertices, run along edges or end on
    the boundary, or run exactly the tolerance (20 m) away from an edge."""
    from shapely.geometry import Polygon

    grid = Polygon(
        [(0, 0), (400, 0), (400, 400), (250, 400), (250, 120), (150, 120), (150, 400), (0, 400)],
        [[(40, 40), (100, 40), (100, 100), (40, 100)]],
    )
    gs = geo.ingrid.prepare_grids(np.array([grid], dtype=object), 20.0)
    rng = np.random.default_rng(seed)
    n = 4000
    p = rng.integers(-8, 49, (n + 1, 2)) * 10.0  # a chain: each segment starts where one ended
    sw = np.zeros(n, dtype=np.int64)
    fa = np.arange(n, dtype=np.int64)
    raw, buf = geo.ingrid.inside_pieces(gs, sw, p[:, 0], p[:, 1], fa, fa + 1)
    return grid, gs, p, raw, buf


def _fractions(pieces, n):
    got = np.zeros(n)
    got[pieces.full] = 1.0
    np.add.at(got, pieces.seg, pieces.u1 - pieces.u0)
    return got


@pytest.mark.parametrize("seed", [11, 12])
def test_geo_ingrid_alternating_crossings_equal_geos_overlay(seed):
    """GEO-INGRID: the compiled parts in R (sides alternating at clean crossings, midpoint
    tests otherwise) equal GEOS's overlay of each segment with R: per segment, the inside
    fraction agrees to 1e-9 with ``shapely.intersection``, on segments that go wrong if
    the kernel does not notice a crossing through a vertex or along an edge.
    """
    _, gs, p, raw, _ = _lattice_case(seed)
    n = p.shape[0] - 1
    x0, y0, x1, y1 = p[:-1, 0], p[:-1, 1], p[1:, 0], p[1:, 1]
    got = _fractions(raw, n)
    gseg, gu0, gu1 = geo.ingrid._exact_pieces(gs.raw[np.zeros(n, dtype=np.int64)], np.arange(n), x0, y0, x1, y1)
    want = np.zeros(n)
    np.add.at(want, gseg, gu1 - gu0)
    moving = np.hypot(x1 - x0, y1 - y0) > 0
    assert 0 < got[moving].mean() < 1
    np.testing.assert_allclose(got[moving], want[moving], rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", [11, 12])
def test_geo_ingrid_tolerance_band_is_exactly_within_tolerance(seed):
    """GEO-INGRID's B is R plus every point within the tolerance (20 m) of R's boundary,
    exactly (round at convex corners, shrinking the pond).

    1. At 16 random points of each segment, "in a part of B" equals GEOS's own test
       (inside R, or ``shapely.distance`` to R's boundary <= 20 m), except at points within
       1e-9 of a part's end or 1e-7 m of the tolerance (the closed boundary itself).
    2. Per segment, the fraction in B is at least GEOS's buffer polygon's (its round joins
       are chords inside the circle, 1,024 per quarter here) and at most 1e-3 more.
    """
    grid, gs, p, _, buf = _lattice_case(seed)
    n = p.shape[0] - 1
    x0, y0, x1, y1 = p[:-1, 0], p[:-1, 1], p[1:, 0], p[1:, 1]
    moving = np.hypot(x1 - x0, y1 - y0) > 0
    rng = np.random.default_rng(seed + 100)
    k = 16
    u = (np.arange(k)[None, :] + rng.random((n, k))) / k
    seg = np.repeat(np.arange(n), k)
    uu = u.ravel()
    inside = buf.full[seg].copy()
    near_end = np.zeros(seg.size, dtype=bool)
    for s_, a_, b_ in zip(buf.seg.tolist(), buf.u0.tolist(), buf.u1.tolist(), strict=True):
        sel = slice(s_ * k, s_ * k + k)
        inside[sel] |= (uu[sel] >= a_) & (uu[sel] <= b_)
        near_end[sel] |= (np.abs(uu[sel] - a_) < 1e-9) | (np.abs(uu[sel] - b_) < 1e-9)
    px = x0[seg] + uu * (x1 - x0)[seg]
    py = y0[seg] + uu * (y1 - y0)[seg]
    pts = shapely.points(px, py)
    d = shapely.distance(pts, grid.boundary)
    truth = shapely.intersects(grid, pts) | (d <= 20.0)
    judge = moving[seg] & ~near_end & (np.abs(d - 20.0) > 1e-7)
    assert judge.sum() > 0.9 * judge.size
    assert 0.2 < truth[judge].mean() < 0.9
    bad = np.flatnonzero(judge & (inside != truth))
    assert bad.size == 0, [(int(seg[i]), float(uu[i]), float(d[i])) for i in bad[:5]]

    got = _fractions(buf, n)
    fine = shapely.buffer(grid, 20.0, quad_segs=1024)
    gseg, gu0, gu1 = geo.ingrid._exact_pieces(np.array([fine] * n, dtype=object), np.arange(n), x0, y0, x1, y1)
    chords = np.zeros(n)
    np.add.at(chords, gseg, gu1 - gu0)
    assert (got[moving] >= chords[moving] - 1e-9).all()
    assert (got[moving] <= chords[moving] + 1e-3).all()


def test_edge_table_holds_every_ring_edge_and_block_boxes_bound_them():
    """GEO-INGRID's edge table: row i holds exactly the edges of every ring of polygon i
    (exterior, holes, each part of a MultiPolygon) in ring order, NaN after them; each
    block's box is the bounding box of its edges. A hole's edges missing would make the
    pond count as grid; a wrong box would skip a block the ray crosses."""
    from shapely.geometry import MultiPolygon, Polygon, box

    polys = np.array([
        Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (3, 2), (3, 3), (2, 3)]]),
        MultiPolygon([box(0, 0, 1, 1), box(3, 3, 5, 5).difference(box(3.5, 3.5, 4, 4))]),
        Polygon(),
        Polygon([(0, 0), (100, 0), (100, 3), (50, 9), (0, 3)]),
    ], dtype=object)
    e = geo.ingrid.edge_table(polys)
    for i, p in enumerate(polys):
        want = []
        for part in shapely.get_parts(p):
            for ring in shapely.get_rings(part):
                c = shapely.get_coordinates(ring)
                want += [tuple(c[j]) + tuple(c[j + 1]) for j in range(len(c) - 1)]
        got_n = int((~np.isnan(e.x0[i])).sum())
        got = [(e.x0[i, j], e.y0[i, j], e.x1[i, j], e.y1[i, j]) for j in range(got_n)]
        assert got == want
        assert np.isnan(e.x0[i, got_n:]).all()
        for kb in range(e.bx0.shape[1]):
            blk = got[kb * e.block : (kb + 1) * e.block]
            if not blk:
                assert e.bx0[i, kb] == np.inf and e.bx1[i, kb] == -np.inf
                continue
            xs = [v for q in blk for v in (q[0], q[2])]
            ys = [v for q in blk for v in (q[1], q[3])]
            assert (e.bx0[i, kb], e.by0[i, kb], e.bx1[i, kb], e.by1[i, kb]) == (min(xs), min(ys), max(xs), max(ys))
    assert e.used == 12  # the MultiPolygon: 4 + 4 + 4 edges
