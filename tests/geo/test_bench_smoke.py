"""Smoke test of bench/geo_bench.py on 20 workers: runs end to end, sane figures (no timing)."""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

from geo.engine import evaluate_days
from geo.types import GridIndex, Place
from tests.geo.conftest import T, World, default_params, worker_day

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("geo_bench", ROOT / "bench" / "geo_bench.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["geo_bench"] = mod  # so --processes can pickle its worker function
    spec.loader.exec_module(mod)
    return mod


def test_bench_smoke(tmp_path):
    """The benchmark runs on 20 workers and reports consistent, plausible figures."""
    gb = _bench()
    out = tmp_path / "geo_bench.json"
    s = gb.main(["--workers", "20", "--loop-workers", "5", "--mp-workers", "2", "--chunk", "7",
                 "--no-memory", "--repeat", "1", "--out", str(out)])
    assert json.loads(out.read_text())["workers"] == 20
    assert s["fixes"] > 20 * 800  # 960 per worker minus silent gaps and heartbeats
    assert s["engine"]["worker_days_per_s"] > 0 and s["per_point_loop"]["worker_days_per_s"] > 0
    san = s["sanity"]
    # in-grid seconds per worker: positive, below the 8 h of fixes
    assert 0 < san["mean_in_grid_s"] < 8 * 3600
    # same workers: the engine (tolerance, GEO-STILL, speed and gap rules) and the naive
    # loop (fixes inside, gaps <= 300 s) agree within a few tens of percent
    eng, loop = san["mean_in_grid_s_loop_subset"], san["mean_loop_in_grid_s"]
    assert 0.5 * loop < eng < 1.5 * loop
    # MovingPandas clips without a gap rule (the 2 h lunch gap counts): within the 10 h span
    assert 0 < san["mean_movingpandas_in_grid_s"] <= 10 * 3600
    assert set(s["ratios"]) == {"engine_vs_movingpandas", "engine_vs_per_point_loop", "engine_vs_rules_loop",
                                "engine_cost_per_fix_vs_contains_xy", "engine_vs_per_point_loop_each_turn"}
    # (a) and (b) run in turn: one ratio per turn, the best-of ratio not below the worst turn's
    assert s["gc_freeze"] is True and gc.get_freeze_count() == 0  # frozen while timing, then not
    turns = s["ratios"]["engine_vs_per_point_loop_each_turn"]
    assert len(turns) == s["repeat"] and s["ratios"]["engine_vs_per_point_loop"] >= min(turns) - 0.1
    # (b2), the all-rules per-point loop, on the same 5 workers as the engine's figures
    assert s["rules_loop"]["workers"] == 5 and s["rules_loop"]["worker_days_per_s"] > 0
    rl, el = san["rules_loop"], san["engine_on_loop_subset"]
    assert el["mean_in_grid_s"] == eng
    # no interpolated crossings: (b2) drops the segments that cross the boundary (a few
    # percent of the time on these tracks near their boundary), so it counts a little less
    assert 0.9 * eng <= rl["mean_in_grid_s"] <= 1.01 * eng
    assert rl["suspect_fixes"] == el["suspect_fixes"]  # GEO-SPOOF decides on fixes alone
    assert rl["phone_off_intervals"] == el["phone_off_intervals"]  # and GEO-PHONEOFF on times
    assert san["patrol_status_agreement"] >= 0.9


def test_bench_township_shape():
    """The synthetic township has one grid per worker and 960 fixes per duty day."""
    gb = _bench()
    days, index = gb.make_township(5, vertices=500)
    assert len(days) == 5 and len(index.grid_ids) == 5
    assert all(len(d.grid.exterior.coords) == 501 for d in days)
    fixes = [int((~d.fixes.is_heartbeat).sum()) for d in days]
    # 960, fewer for the workers with a 40-minute gap or a 45-minute dark spell
    assert all(800 <= f <= 960 for f in fixes) and max(fixes) == 960


def test_bench_processes_option(tmp_path):
    """--processes 2 judges the same worker-days on two forked processes, same results."""
    gb = _bench()
    s = gb.main(["--workers", "20", "--loop-workers", "2", "--mp-workers", "0", "--no-memory",
                 "--repeat", "1", "--processes", "2", "--out", str(tmp_path / "b.json")])
    p = s["engine_processes"]
    assert p["processes"] == 2 and p["worker_days_per_wall_s"] > 0
    assert p["children_cpu_s"] > 0  # the work was done in the children


# ---------------------------------------------------------------- (b2) on constructed days
def _walk(world, legs, gaps=(), frozen=None):
    """Fixes every 30 s along waypoints [(local h, m), x, y] per duty half, minus ``gaps``
    (pairs of local (h, m) bounds without any item); ``frozen``: (h, m, count) repeats."""
    ts, xs, ys = [], [], []
    for leg in legs:
        wt = np.array([T(h, m) for (h, m), _, _ in leg])
        t = np.arange(wt[0], wt[-1] + 1e-9, 30.0)
        ts.append(t)
        xs.append(np.interp(t, wt, [x for _, x, _ in leg]))
        ys.append(np.interp(t, wt, [y for _, _, y in leg]))
    t, x, y = np.concatenate(ts), np.concatenate(xs), np.concatenate(ys)
    if frozen is not None:
        k = int(np.searchsorted(t, T(frozen[0], frozen[1])))
        x[k : k + frozen[2]], y[k : k + frozen[2]] = x[k], y[k]
    keep = np.ones(t.size, bool)
    for (h0, m0), (h1, m1) in gaps:
        keep &= ~((t >= T(h0, m0)) & (t < T(h1, m1)))
    return t[keep], x[keep], y[keep]


def _loop(h, m, cx, cy, half, laps, side_min=8):
    """Waypoints of ``laps`` square laps of half-side ``half`` around (cx, cy), from h:m."""
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    pts = []
    for k in range(4 * laps + 1):
        sx, sy = corners[k % 4]
        mm = m + k * side_min
        pts.append(((h + mm // 60, mm % 60), cx + sx * half, cy + sy * half))
    return pts


def test_rules_loop_exact_without_boundary_crossings():
    """(b2) on a track that never comes near the boundary: GEO-INGRID seconds per window
    equal the engine's to the rounding second, with a GEO-STILL stay, a 10-min gap, a mock
    fix, a speed spike and a frozen run; same suspect fixes, phone-off and statuses."""
    gb = _bench()
    lb = sys.modules["bench.geo_loop_baseline"]
    p, w = default_params(), World()
    grid = w.square(-1000, -1000, 2000)
    rng = np.random.default_rng(3)
    am = _loop(8, 0, 0, 0, 300, 3)  # 08:00-09:36 walking at 1.25 m/s
    am += [((9, 40), 0, 0), ((10, 15), 0, 0)]  # 35 min stay: GEO-STILL counts 20
    am += _loop(10, 16, 0, 0, 300, 5)[:-1] + [((12, 0), -300, -300)]
    pm = _loop(14, 45, 0, 0, 300, 4)[:-1] + [((17, 0), 300, 300), ((18, 0), -300, 300)]
    t, x, y = _walk(w, [am, pm], gaps=[((11, 0), (11, 10))], frozen=(15, 34, 12))
    stay = (t > T(9, 40)) & (t < T(10, 15))
    x[stay] += rng.normal(0, 3, stay.sum())
    mock = np.zeros(t.size, bool)
    mock[40] = True
    x[60] += 5000.0  # a lone jump away and back: GEO-SPOOF spike
    day = worker_day(w, w.fixes(t, x, y, mock=mock), grid=grid)
    index = GridIndex(("g01",), (grid,))
    eng = evaluate_days([day], p, index)[0]
    b2 = lb.rules_loop([day], p, index)[0]
    assert len(eng.suspect_fixes) == b2["suspect_fixes"] == 1 + 1 + 12
    for name, pr in eng.patrols.items():
        assert abs(b2["patrols"][name]["in_grid_s"] - pr.in_grid_s) <= 1, name
        assert b2["patrols"][name]["status"] == pr.status
        assert b2["patrols"][name]["stationary"] == pr.stationary
    assert eng.patrols["am"].stationary and eng.patrols["am"].lost_s["gap"] > 0
    assert len(eng.phone_off) == len(b2["phone_off"]) == 1  # 14:00-14:45, no item
    assert eng.offpost == () and b2["offpost"] == []
    assert b2["fixes_used"] == eng.fixes_used
    assert abs(b2["online_rate"] - eng.online_rate) < 1e-9
    assert gb.bench_params() == p  # the bench judges with these same parameters


def test_rules_loop_offpost_and_crosspost_like_the_engine():
    """(b2) finds the same GEO-CROSSPOST (40 min in the neighbour's grid) and GEO-OFFPOST
    (40 min outside every grid) occurrences as the engine, and not the 3-minute outing."""
    _bench()
    lb = sys.modules["bench.geo_loop_baseline"]
    p, w = default_params(), World()
    own, nb = w.square(-500, -500, 1000), w.square(500, -500, 1000)
    am = _loop(8, 0, 0, 0, 300, 2)[:-1] + [((9, 0), 300, 0), ((9, 10), 1000, 0)]
    am += [((9, 18), 1200, -200), ((9, 26), 1200, 200), ((9, 34), 800, 200), ((9, 42), 800, -200),
           ((9, 50), 1000, 0), ((10, 0), 0, 0), ((10, 10), 0, 300), ((10, 20), 0, 1000)]
    am += [((10, 28), 300, 1200), ((10, 36), -300, 1200), ((10, 44), -300, 800), ((10, 52), 300, 800),
           ((11, 0), 0, 1000), ((11, 10), 0, 0), ((11, 20), 0, 0 + 300), ((11, 30), 0, 0),
           ((11, 36), 0, 700), ((11, 42), 0, 0), ((12, 0), 300, 0)]
    pm = _loop(14, 0, 0, 0, 300, 7)[:-1] + [((17, 44), 300, 300), ((18, 0), 0, 0)]
    t, x, y = _walk(w, [am, pm])
    olon, olat = w.lonlat([0.0], [-300.0])
    days = [worker_day(w, w.fixes(t, x, y), grid=own, grid_id="g-own",
                       office=Place(float(olon[0]), float(olat[0]), 150.0))]
    index = GridIndex(("g-own", "g-nb"), (own, nb))
    eng = evaluate_days(days, p, index)[0]
    b2 = lb.rules_loop(days, p, index)[0]
    assert [(o.kind, o.other_grid_id) for o in eng.offpost] == [("crosspost", "g-nb"), ("offpost", None)]
    assert [(o["kind"], o["other_grid_id"]) for o in b2["offpost"]] == [
        (o.kind, o.other_grid_id) for o in eng.offpost]
    # no interpolated crossings: (b2)'s runs go from the first to the last outside fix,
    # so each is shorter than the engine's by less than one fix interval at either end
    for o, e in zip(b2["offpost"], eng.offpost, strict=True):
        assert e.start <= o["start"] < e.start + 30 and e.end - 30 < o["end"] <= e.end
