"""Property tests (hypothesis) of the engine: GEO-INGRID invariants, order, batching."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.engine import day_result_to_json, evaluate_day, evaluate_days
from geo.types import Fixes, GridIndex
from tests.geo.conftest import DAY, T, World, default_params, worker_day

FIELDS = ("t", "lon", "lat", "accuracy_m", "speed_mps", "mock", "is_heartbeat")
PARAMS = default_params()
WORLD = World()
GRID = WORLD.poly([(0, 0), (1000, 0), (1000, 1000), (600, 1000), (600, 300), (400, 300), (400, 1000), (0, 1000)])

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tracks(draw, max_n=80):
    """Random walks around the U-shaped grid: 2..max_n fixes, irregular steps and gaps."""
    n = draw(st.integers(2, max_n))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    dt = rng.choice([5.0, 30.0, 30.0, 60.0, 200.0, 400.0], n - 1)
    t = T(7) + np.concatenate([[0.0], np.cumsum(dt)])
    step = rng.normal(0, draw(st.sampled_from([5.0, 30.0, 80.0])), (n, 2))
    xy = np.cumsum(step, axis=0) + rng.uniform(-200, 1200, 2)
    return t, xy[:, 0], xy[:, 1]


def total_in_grid(r):
    return sum(p.in_grid_s for p in r.patrols.values())


@SETTINGS
@given(tracks())
def test_geo_ingrid_never_more_than_elapsed(tr):
    """GEO-INGRID property: in-grid time <= elapsed time of the track (both windows)."""
    t, x, y = tr
    r = evaluate_day(worker_day(WORLD, WORLD.fixes(t, x, y), grid=GRID), PARAMS)
    assert total_in_grid(r) <= (t[-1] - t[0]) + len(r.patrols)  # + rounding per window
    for p in r.patrols.values():
        assert p.in_grid_s >= 0 and p.tolerance_s >= -1


@SETTINGS
@given(tracks(), st.data())
def test_geo_ingrid_cut_at_any_fix_keeps_total(tr, data):
    """GEO-INGRID property: cutting the track at a fix (both halves keep it) keeps the total.

    GEO-STILL is disabled (a stay cut in two would count twice the cap) so the property is
    about segments only.
    """
    t, x, y = tr
    p = default_params(still_max_s=1e9)
    k = data.draw(st.integers(0, len(t) - 1))
    whole = evaluate_day(worker_day(WORLD, WORLD.fixes(t, x, y), grid=GRID), p)
    a = evaluate_day(worker_day(WORLD, WORLD.fixes(t[: k + 1], x[: k + 1], y[: k + 1]), grid=GRID), p)
    b = evaluate_day(worker_day(WORLD, WORLD.fixes(t[k:], x[k:], y[k:]), grid=GRID), p)
    for w in whole.patrols:
        got = a.patrols[w].in_grid_s + b.patrols[w].in_grid_s
        assert abs(got - whole.patrols[w].in_grid_s) <= 1


@SETTINGS
@given(tracks(), st.floats(-20000, 20000), st.floats(-20000, 20000))
def test_geo_ingrid_translation_invariant(tr, dx, dy):
    """GEO-INGRID property: moving track and grid together (up to 20 km) keeps the result."""
    t, x, y = tr
    base = evaluate_day(worker_day(WORLD, WORLD.fixes(t, x, y), grid=GRID), PARAMS)
    moved_grid = WORLD.poly(
        [(0 + dx, 0 + dy), (1000 + dx, dy), (1000 + dx, 1000 + dy), (600 + dx, 1000 + dy),
         (600 + dx, 300 + dy), (400 + dx, 300 + dy), (400 + dx, 1000 + dy), (dx, 1000 + dy)]
    )
    moved = evaluate_day(worker_day(WORLD, WORLD.fixes(t, x + dx, y + dy), grid=moved_grid), PARAMS)
    for w in base.patrols:
        # the projection centre may change with the move: allow 0.1% scale + rounding
        assert abs(base.patrols[w].in_grid_s - moved.patrols[w].in_grid_s) <= 2 + 1e-3 * base.patrols[w].in_grid_s


@SETTINGS
@given(tracks(), st.integers(0, 2**31 - 1))
def test_geo_engine_shuffled_input_same_result(tr, seed):
    """Shuffled input order (with a duplicated fix and a heartbeat) gives the same result."""
    t, x, y = tr
    hb = np.zeros(len(t) + 2, bool)
    hb[-1] = True
    t2 = np.concatenate([t, [t[len(t) // 2], t[0] + 17.0]])
    x2 = np.concatenate([x, [x[len(t) // 2], 0.0]])
    y2 = np.concatenate([y, [y[len(t) // 2], 0.0]])
    f = WORLD.fixes(t2, x2, y2, heartbeat=hb)
    perm = np.random.default_rng(seed).permutation(len(f))
    g = Fixes(**{k: getattr(f, k)[perm] for k in FIELDS})
    a = evaluate_day(worker_day(WORLD, f, grid=GRID), PARAMS)
    b = evaluate_day(worker_day(WORLD, g, grid=GRID), PARAMS)
    assert a == b


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tracks(max_n=40), min_size=1, max_size=6), st.integers(0, 3))
def test_geo_evaluate_days_equals_evaluate_day(trs, n_far):
    """evaluate_days(batch) == [evaluate_day(d) for d in batch], grids far apart included."""
    days = []
    for i, (t, x, y) in enumerate(trs):
        off = 30000.0 * (i % (n_far + 1))  # some workers in another projection cell
        grid = WORLD.square(off, 0.0)
        days.append(worker_day(WORLD, WORLD.fixes(t, x + off, y), grid=grid, worker_id=f"w{i}", grid_id=f"g{i}"))
    idx = GridIndex(tuple(d.grid_id for d in days), tuple(d.grid for d in days))
    batch = evaluate_days(days, PARAMS, idx)
    single = [evaluate_day(d, PARAMS, idx) for d in days]
    assert batch == single


def test_day_result_to_json_shape(world, params):
    """FORMATS.md evaluate day entry (without deductions), times with the +08:00 offset."""
    t = T(9) + np.arange(0, 1601, 30.0)
    f = world.fixes(t, -300 + (t - T(9)), np.full(t.size, 500.0))
    r = evaluate_day(worker_day(world, f), params)
    j = day_result_to_json(r, params.timezone)
    assert j["worker_id"] == "w01" and j["date"] == DAY.isoformat()
    assert j["patrols"]["am"]["status"] == "short" and j["patrols"]["am"]["in_grid_s"] == 1040
    assert isinstance(j["patrols"]["am"]["in_grid_s"], int)
    assert j["patrols"]["am"]["tolerance_s"] == 40
    assert set(j["patrols"]["am"]["lost_s"]) == {"gap", "speed", "still", "suspect"}
    assert j["signin"] == {"rule": "GEO-SIGNIN", "status": "missing", "at": None, "distance_m": None}
    assert j["phone_off"][0]["start"] == "2026-03-02T08:00:00+08:00"
    assert j["phone_off"][0]["cause"] == "unknown"
    assert j["suspect_fixes"] == 0 and "deductions" not in j
    assert j["online_rate"] is not None and j["duty_s"] == 28800


def test_worker_reassigned_mid_period(world, params):
    """A worker reassigned to another grid: each day is judged against that day's grid."""
    import datetime as dt

    d2 = DAY + dt.timedelta(days=1)
    t1 = T(9) + np.arange(0, 1201, 30.0)
    t2 = T(9, date=d2) + np.arange(0, 1201, 30.0)
    f = world.fixes(np.concatenate([t1, t2]), np.full(t1.size * 2, 500.0) + np.tile(np.arange(t1.size) % 2 * 60.0, 2), np.full(t1.size * 2, 500.0))
    old = world.square()
    new = world.square(5000, 0)
    r1 = evaluate_day(worker_day(world, f, grid=old, grid_id="g01"), params)
    r2 = evaluate_day(worker_day(world, f, grid=new, grid_id="g02", date=d2), params)
    assert r1.patrols["am"].in_grid_s == 1200 and r1.grid_id == "g01"
    assert r2.patrols["am"].in_grid_s == 0 and r2.grid_id == "g02"
    assert dataclasses.asdict(r1)["date"] == DAY


def test_evaluate_days_slicing_does_not_change_results(world, params, monkeypatch):
    """evaluate_days judges big batches in MAX_BATCH slices; the results are the same."""
    import geo.engine

    rng = np.random.default_rng(5)
    days = []
    for i in range(5):
        t = T(8) + np.arange(200) * 30.0
        x = np.cumsum(rng.normal(0, 30, 200)) + 500
        y = np.cumsum(rng.normal(0, 30, 200)) + 500
        days.append(worker_day(world, world.fixes(t, x, y), worker_id=f"w{i}"))
    whole = evaluate_days(days, params)
    monkeypatch.setattr(geo.engine, "MAX_BATCH", 2)
    assert evaluate_days(days, params) == whole
