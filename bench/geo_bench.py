"""Benchmark of the patrol engine (geo/) against the tools a data analyst would use.

Synthetic township: N workers (default 5,000), each with its own grid (a 20-vertex
polygon; ``--vertices 500`` for the detailed variant), one fix every 30 s over an 8-hour
duty day (960 fixes), a correlated walk that leaves and re-enters the grid, stays, a few
suspect fixes, heartbeats every 10 minutes and a silent gap for some workers.

Measured side by side in one run:
(a) ``geo.engine.evaluate_days``: every GEO rule, batched across workers, one core;
(b) a straightforward per-point ``Polygon.contains(Point)`` loop computing in-grid time;
(b2) a straightforward per-point shapely loop evaluating the same rules as the engine
     (``bench/geo_loop_baseline.py``: GEO-VALID, -SPOOF, -STILL, -INGRID without
     interpolated crossings, YK-PATROL, GEO-OFFPOST/-CROSSPOST with an STRtree query per
     outside fix, GEO-PHONEOFF, NB-ONLINE, GEO-SIGNIN), on the same subset as (b), scaled;
(c) MovingPandas ``Trajectory.clip`` + durations (on a subset, scaled);
(d) raw ``shapely.contains_xy`` over the same points: the floor for point-in-polygon work.

Run: ``uv run python bench/geo_bench.py [--workers N] [--vertices 20|500] [--quick]``
(``--loop-workers N``: the subset timed for (b) and (b2); ``--repeat N``: runs of (a), (b) and
(d), the best kept);
``--processes 2`` also times the engine on two forked processes (wall clock), reported
apart from the one-core figures. The objects made before timing (imports, among them
pandas and MovingPandas for (c), and the synthetic township) are frozen out of the cyclic
garbage collector (``gc.freeze``), as a long-running server does after start-up: otherwise
each full collection walks them (70-100 ms on this machine kind, about one per 5,000
worker-days of results), charged to whatever runs when it fires; ``--no-gc-freeze`` to
measure without.
Prints a table and writes ``bench/out/geo_bench.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Point, Polygon

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.geo_loop_baseline import engine_sanity, loop_sanity, rules_loop, status_agreement  # noqa: E402
from geo.crs import project, projection_key, unproject  # noqa: E402
from geo.duty import local_instant  # noqa: E402
from geo.engine import evaluate_days  # noqa: E402
from geo.types import Fixes, GeoParams, GridIndex, Place, WorkerDay  # noqa: E402

TZ = "Asia/Shanghai"
DATE = dt.date(2026, 3, 2)
FIX_EVERY_S = 30.0
N_FIXES = 960  # 8 h
CENTRE = (121.0, 31.9)


def bench_params() -> GeoParams:
    """RULES.md defaults (same values as tests/geo/conftest.py)."""
    return GeoParams(
        timezone=TZ, max_accuracy_m=100.0, max_future_s=300.0, max_gap_s=300.0,
        max_speed_kmh=25.0, boundary_tolerance_m=20.0, still_radius_m=50.0, still_max_s=1200.0,
        spike_speed_kmh=150.0, frozen_min_count=10, frozen_min_speed_mps=1.0,
        offpost_min_s=1800.0, phoneoff_min_s=1800.0,
        duty_windows=(("08:00", "12:00"), ("14:00", "18:00")), working_days="prc_workdays",
        patrol_windows={"am": ("06:00", "12:00"), "pm": ("12:00", "20:00")},
        required_patrol_s={"head": 3600.0, "parttime": 3600.0, "fulltime": 7200.0},
        performed_min_in_grid_s=600.0, signin_radius_m=150.0, signin_max_accuracy_m=50.0,
        signin_roles=("fulltime", "parttime"),
        signin_deadline={"parttime": "09:00", "fulltime": None, "head": None},
        online_window_s=300.0, arrive_radius_m=50.0,
    )


def make_township(n_workers: int, vertices: int = 20, seed: int = 7):
    """Synthetic worker-days (WGS-84) and the township's GridIndex."""
    rng = np.random.default_rng(seed)
    key = projection_key(*CENTRE)
    cx0, cy0 = project(np.array([CENTRE[0]]), np.array([CENTRE[1]]), key)
    side = int(np.ceil(np.sqrt(n_workers)))
    spacing = 1100.0
    ix, iy = np.arange(n_workers) % side, np.arange(n_workers) // side
    gx = cx0[0] + (ix - side / 2) * spacing
    gy = cy0[0] + (iy - side / 2) * spacing
    # star-shaped grids: radius 380-540 m, smooth noise for the 500-vertex variant
    ang = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    k = np.arange(1, 4)
    amp = rng.uniform(0, 40, (n_workers, 3))
    ph = rng.uniform(0, 2 * np.pi, (n_workers, 3))
    rad = 460 + (amp[:, :, None] * np.sin(k[None, :, None] * ang[None, None, :] + ph[:, :, None])).sum(1)
    if vertices <= 40:
        rad = rad + rng.uniform(-30, 30, rad.shape)
    px = gx[:, None] + rad * np.cos(ang)
    py = gy[:, None] + rad * np.sin(ang)
    plon, plat = unproject(px.ravel(), py.ravel(), key)
    plon, plat = plon.reshape(px.shape), plat.reshape(px.shape)
    grids = [Polygon(np.c_[plon[i], plat[i]]) for i in range(n_workers)]
    # correlated walks: ~1.1 m/s, heading drifts, pulled back toward the grid centre
    n = N_FIXES
    x = np.empty((n_workers, n))
    y = np.empty((n_workers, n))
    x[:, 0] = gx + rng.uniform(-300, 300, n_workers)
    y[:, 0] = gy + rng.uniform(-300, 300, n_workers)
    head = rng.uniform(0, 2 * np.pi, n_workers)
    speed = rng.uniform(0.8, 1.4, n_workers)
    moving = np.ones(n_workers, bool)
    for j in range(1, n):
        dxc, dyc = gx - x[:, j - 1], gy - y[:, j - 1]
        dist = np.hypot(dxc, dyc)
        to_c = np.arctan2(dyc, dxc)
        pull = np.clip((dist - 350) / 400, 0, 1) * 0.35
        dh = np.angle(np.exp(1j * (to_c - head)))
        head = head + rng.normal(0, 0.35, n_workers) + pull * dh
        # stays: stop with probability 0.5% per fix, resume with 5% (mean stay 10 min)
        u = rng.random(n_workers)
        moving = np.where(moving, u >= 0.005, u < 0.05)
        step = np.where(moving, speed * FIX_EVERY_S, rng.normal(0, 3, n_workers))
        x[:, j] = x[:, j - 1] + step * np.cos(head)
        y[:, j] = y[:, j - 1] + step * np.sin(head)
    x += rng.normal(0, 4, x.shape)  # GPS noise
    y += rng.normal(0, 4, y.shape)
    lon, lat = unproject(x.ravel(), y.ravel(), key)
    lon, lat = lon.reshape(x.shape), lat.reshape(x.shape)
    # the duty day: 08:00-12:00 and 14:00-18:00, one fix every 30 s (480 + 480)
    t0 = local_instant(DATE, "08:00", TZ)
    half = n // 2
    t = np.concatenate([
        t0 + np.arange(half) * FIX_EVERY_S,
        local_instant(DATE, "14:00", TZ) + np.arange(n - half) * FIX_EVERY_S,
    ])
    acc = rng.gamma(2.0, 6.0, (n_workers, n))
    acc[rng.random(acc.shape) < 0.002] = 150.0  # some rejected fixes
    mock = rng.random((n_workers, n)) < 0.0005
    # silent gaps: 10% of workers lose 40 minutes
    keep = np.ones((n_workers, n), bool)
    silent = np.flatnonzero(rng.random(n_workers) < 0.10)
    start = rng.integers(0, n - 80, silent.size)
    for w, s in zip(silent, start, strict=True):
        keep[w, s : s + 80] = False
    hb_t = t[::20] + 7.0  # a heartbeat every 10 minutes
    # 3% of workers go fully silent (no fix, no heartbeat) for 45 minutes: phone off
    dark = np.flatnonzero(rng.random(n_workers) < 0.03)
    dark_start = t[rng.integers(0, n - 100, dark.size)]
    dark_of = dict(zip(dark.tolist(), dark_start.tolist(), strict=True))
    roles = np.array(["fulltime", "parttime", "head"])[rng.integers(0, 3, n_workers)]
    days = []
    for i in range(n_workers):
        m = keep[i]
        kh = hb_t.size
        ft = np.concatenate([t[m], hb_t])
        fixes = Fixes(
            t=ft,
            lon=np.concatenate([lon[i, m], np.full(kh, np.nan)]),
            lat=np.concatenate([lat[i, m], np.full(kh, np.nan)]),
            accuracy_m=np.concatenate([acc[i, m], np.full(kh, np.nan)]),
            speed_mps=np.full(ft.size, np.nan),
            mock=np.concatenate([mock[i, m], np.zeros(kh, bool)]),
            is_heartbeat=np.concatenate([np.zeros(int(m.sum()), bool), np.ones(kh, bool)]),
        )
        order = np.argsort(fixes.t, kind="stable")
        if i in dark_of:
            s0 = dark_of[i]
            order = order[~((fixes.t[order] >= s0) & (fixes.t[order] < s0 + 2700.0))]
        fixes = Fixes(**{f: getattr(fixes, f)[order] for f in (
            "t", "lon", "lat", "accuracy_m", "speed_mps", "mock", "is_heartbeat")})
        olon, olat = unproject(np.array([gx[i] + 200.0]), np.array([gy[i] - 100.0]), key)
        days.append(WorkerDay(
            worker_id=f"w{i:05d}", date=DATE, role=str(roles[i]), grid_id=f"g{i:05d}",
            grid=grids[i], office=Place(float(olon[0]), float(olat[0]), 150.0), fixes=fixes,
        ))
    index = GridIndex(tuple(d.grid_id for d in days), tuple(grids))
    return days, index


# ---------------------------------------------------------------------------- peers
def per_point_loop(days, max_gap_s: float) -> list[float]:
    """(b) the straightforward way: Polygon.contains(Point) per fix, sum dt when both in."""
    out = []
    for d in days:
        f = d.fixes
        poly = d.grid
        total = 0.0
        prev_t, prev_in = None, False
        for tt, lo, la, hb in zip(f.t, f.lon, f.lat, f.is_heartbeat, strict=True):
            if hb:
                continue
            inside = poly.contains(Point(lo, la))
            if prev_t is not None and prev_in and inside and tt - prev_t <= max_gap_s:
                total += tt - prev_t
            prev_t, prev_in = tt, inside
        out.append(total)
    return out


def movingpandas_clip(days) -> list[float]:
    """(c) MovingPandas: Trajectory per worker, clip to the grid, sum the parts' durations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import geopandas as gpd
        import movingpandas as mpd
        import pandas as pd
    out = []
    for d in days:
        f = d.fixes
        m = ~f.is_heartbeat
        df = pd.DataFrame({"t": pd.to_datetime(f.t[m], unit="s")})
        gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(f.lon[m], f.lat[m]), crs=4326)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traj = mpd.Trajectory(gdf, d.worker_id, t="t")
            clipped = traj.clip(d.grid)
        out.append(sum(tr.get_duration().total_seconds() for tr in clipped.trajectories))
    return out


def contains_inputs(days):
    """Each position with its worker's prepared grid (built outside the timing)."""
    polys = np.empty(len(days), dtype=object)
    polys[:] = [d.grid for d in days]
    shapely.prepare(polys)
    lens = np.array([len(d.fixes) for d in days])
    lon = np.concatenate([d.fixes.lon for d in days])
    lat = np.concatenate([d.fixes.lat for d in days])
    g = np.repeat(polys, lens)
    ok = np.isfinite(lon)
    return g[ok], lon[ok], lat[ok]


_PAR: tuple = ()


def _par_slice(bounds: tuple[int, int]) -> list:
    days, params, index = _PAR
    return evaluate_days(days[bounds[0] : bounds[1]], params, index)


def engine_processes(days, params, index, processes: int, expect: list, slice_n: int = 1000) -> dict:
    """(a') the engine on ``processes`` forked worker processes over slices of workers.

    The days are inherited by fork (not pickled); the results are pickled back. Returns
    wall seconds and the CPU seconds of the parent and of the children (pool start-up,
    result transfer and all included), so the overhead against one core is visible. The
    results must equal ``expect`` (the one-process results).
    """
    global _PAR
    _PAR = (days, params, index)
    n = len(days)
    bounds = [(s, min(s + slice_n, n)) for s in range(0, n, slice_n)]
    gc.collect()
    ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0, c0 = time.perf_counter(), time.process_time()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        parts = pool.map(_par_slice, bounds, chunksize=1)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    _PAR = ()
    if [r for p in parts for r in p] != expect:  # same results as one process, or no figure
        raise AssertionError("results on several processes differ from one process")
    return {"processes": processes, "wall_s": round(wall, 3), "parent_cpu_s": round(cpu, 3),
            "children_cpu_s": round(child, 3), "worker_days_per_wall_s": round(n / wall, 1),
            "worker_days_per_total_cpu_s": round(n / (cpu + child), 1)}


def raw_contains_xy(g, lon, lat) -> int:
    """(d) the floor: shapely.contains_xy over every position, each with its own grid."""
    return int(shapely.contains_xy(g, lon, lat).sum())


#: "cpu": process CPU seconds (what one core spends, robust when other jobs share the
#: machine); "wall": elapsed seconds. Both are recorded in the JSON.
CLOCK = "cpu"
TIMINGS: list[dict] = []


def _timed(fn, *a):
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    r = fn(*a)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    TIMINGS.append({"what": fn.__name__, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3)})
    return r, (cpu if CLOCK == "cpu" else wall)


def run(
    n_workers: int, vertices: int, loop_n: int, mp_n: int, chunk: int, memory: bool, repeat: int = 1,
    processes: int = 0, gc_freeze: bool = True,
) -> dict:
    """Run the four measurements and return the figures (the caller unfreezes the garbage
    collector after, see the module doc)."""
    params = bench_params()
    t_gen = time.perf_counter()
    days, index = make_township(n_workers, vertices)
    t_gen = time.perf_counter() - t_gen
    n_fix = int(sum(int((~d.fixes.is_heartbeat).sum()) for d in days))
    n_items = int(sum(len(d.fixes) for d in days))
    # warm up before timing: imports, and the numba kernels of geo/ (compiled on the first
    # call, or loaded from __pycache__ when compiled before): reported apart
    w0, c0 = time.perf_counter(), time.process_time()
    evaluate_days(days[: min(20, n_workers)], params, index)
    first_call = {"wall_s": round(time.perf_counter() - w0, 3), "cpu_s": round(time.process_time() - c0, 3)}
    if gc_freeze:
        gc.collect()
        gc.freeze()

    def engine():
        res = []
        for s in range(0, n_workers, chunk):
            res.extend(evaluate_days(days[s : s + chunk], params, index))
        return res

    sub_loop = days[: min(loop_n, n_workers)]
    # (a) and (b), the target's baseline, run in turn, best of each: a machine that slows
    # down or speeds up during the run (a shared host) then weighs on both alike
    runs, loop_runs = [], []
    for _ in range(max(1, repeat)):
        runs.append(_timed(engine))
        loop_runs.append(_timed(per_point_loop, sub_loop, params.max_gap_s))
    results = runs[0][0]
    t_engine_all = [r[1] for r in runs]
    t_engine = min(t_engine_all)
    wall_engine = min(t["wall_s"] for t in TIMINGS if t["what"] == "engine")
    par = ([engine_processes(days, params, index, processes, runs[0][0], min(1000, -(-n_workers // processes)))
            for _ in range(max(1, repeat))] if processes > 1 else [])
    loop_res = loop_runs[0][0]
    t_loop_all = [r[1] for r in loop_runs]
    t_loop = min(t_loop_all)
    rules_res, t_rules = _timed(rules_loop, sub_loop, params, index)
    sub_mp = days[: min(mp_n, n_workers)]
    mp_res, t_mp = _timed(movingpandas_clip, sub_mp) if mp_n > 0 else ([], float("nan"))
    cin = contains_inputs(days)
    t_raw_all = [_timed(raw_contains_xy, *cin)[1] for _ in range(max(1, repeat))]
    t_raw = min(t_raw_all)
    peak_tm = None
    if memory:
        gc.collect()
        tracemalloc.start()
        evaluate_days(days[:chunk], params, index)
        peak_tm = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    wd_engine = n_workers / t_engine
    wd_loop = len(sub_loop) / t_loop
    wd_rules = len(sub_loop) / t_rules
    wd_mp = len(sub_mp) / t_mp if sub_mp else float("nan")
    per_fix_engine = t_engine / n_fix
    per_fix_raw = t_raw / n_fix
    in_grid = np.array([sum(p.in_grid_s for p in r.patrols.values()) for r in results], float)
    summary = {
        "command": "uv run python bench/geo_bench.py " + " ".join(sys.argv[1:]),
        "machine": {"python": platform.python_version(), "shapely": shapely.__version__,
                    "geos": shapely.geos_version_string, "numpy": np.__version__,
                    "cpu": platform.processor() or platform.machine()},
        "workers": n_workers, "vertices": vertices, "fixes": n_fix, "items": n_items,
        "chunk": chunk, "generate_s": round(t_gen, 2),
        "repeat": repeat, "clock": CLOCK, "gc_freeze": gc_freeze, "timings": list(TIMINGS),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "engine_first_call": first_call,
        "engine": {"seconds": round(t_engine, 3), "seconds_all_runs": [round(x, 3) for x in t_engine_all], "worker_days_per_s": round(wd_engine, 1),
                   "ns_per_fix": round(per_fix_engine * 1e9, 1)},
        "engine_processes": None if not par else {
            **min(par, key=lambda p: p["wall_s"]), "runs_wall_s": [p["wall_s"] for p in par],
            "one_process_best_wall_s": wall_engine,
            "speedup_wall_vs_one_process": round(wall_engine / min(p["wall_s"] for p in par), 2)},
        "per_point_loop": {"workers": len(sub_loop), "seconds": round(t_loop, 3),
                           "seconds_all_runs": [round(x, 3) for x in t_loop_all],
                           "worker_days_per_s": round(wd_loop, 2)},
        "rules_loop": {"workers": len(sub_loop), "seconds": round(t_rules, 3),
                       "worker_days_per_s": round(wd_rules, 2)},
        "movingpandas": {"workers": len(sub_mp), "seconds": round(t_mp, 3),
                         "worker_days_per_s": round(wd_mp, 2)},
        "raw_contains_xy": {"seconds": round(t_raw, 3), "seconds_all_runs": [round(x, 3) for x in t_raw_all], "ns_per_fix": round(per_fix_raw * 1e9, 1),
                            "points_per_s": round(n_fix / t_raw)},
        "ratios": {"engine_vs_movingpandas": round(wd_engine / wd_mp, 1),
                   "engine_vs_per_point_loop": round(wd_engine / wd_loop, 1),
                   # the same for each turn (engine run i against loop run i, back to back)
                   "engine_vs_per_point_loop_each_turn": [
                       round((n_workers / te) / (len(sub_loop) / tl), 1)
                       for te, tl in zip(t_engine_all, t_loop_all, strict=True)],
                   "engine_vs_rules_loop": round(wd_engine / wd_rules, 1),
                   "engine_cost_per_fix_vs_contains_xy": round(per_fix_engine / per_fix_raw, 1)},
        "targets": {"worker_days_per_s": 1000, "vs_movingpandas": 100, "vs_per_point_loop": 20,
                    "vs_rules_loop": 20,
                    "cost_per_fix_vs_contains_xy_max": 10},
        "memory": {"peak_rss_mb": round(maxrss_kb / 1024, 1),
                   "tracemalloc_peak_mb_evaluate": None if peak_tm is None else round(peak_tm / 2**20, 1)},
        "sanity": {
            "mean_in_grid_s": round(float(in_grid.mean()), 1),
            "mean_loop_in_grid_s": round(float(np.mean(loop_res)), 1),
            "mean_movingpandas_in_grid_s": round(float(np.mean(mp_res)), 1) if mp_res else None,
            "mean_in_grid_s_loop_subset": round(float(in_grid[: len(sub_loop)].mean()), 1),
            "offpost_intervals": int(sum(len(r.offpost) for r in results)),
            "crosspost_intervals": int(sum(o.kind == "crosspost" for r in results for o in r.offpost)),
            "phone_off_intervals": int(sum(len(r.phone_off) for r in results)),
            "suspect_fixes": int(sum(len(r.suspect_fixes) for r in results)),
            "stationary_patrols": int(sum(p.stationary for r in results for p in r.patrols.values())),
            # (b2) beside the engine on the same workers (the loop subset)
            "rules_loop": loop_sanity(rules_res),
            "engine_on_loop_subset": engine_sanity(results[: len(sub_loop)]),
            "patrol_status_agreement": round(status_agreement(rules_res, results[: len(sub_loop)]), 4),
        },
    }
    return summary


def print_table(s: dict) -> None:
    """Human-readable table of the figures."""
    rows = [
        ("geo.engine.evaluate_days (all rules)", s["workers"], s["engine"]["seconds"], s["engine"]["worker_days_per_s"]),
        ("per-point Polygon.contains loop", s["per_point_loop"]["workers"], s["per_point_loop"]["seconds"], s["per_point_loop"]["worker_days_per_s"]),
        ("per-point shapely loop, all rules (b2)", s["rules_loop"]["workers"], s["rules_loop"]["seconds"], s["rules_loop"]["worker_days_per_s"]),
        ("MovingPandas Trajectory.clip", s["movingpandas"]["workers"], s["movingpandas"]["seconds"], s["movingpandas"]["worker_days_per_s"]),
        ("raw shapely.contains_xy (floor)", s["workers"], s["raw_contains_xy"]["seconds"], round(s["workers"] / s["raw_contains_xy"]["seconds"], 1)),
    ]
    print(f"{s['workers']} workers x {N_FIXES} fixes, {s['vertices']}-vertex grids, {s['fixes']:,} fixes; "
          f"{s['clock']} seconds, best of {s['repeat']} for the engine, the per-point loop and contains_xy; "
          f"load average {s['load_average_1min']}; objects made before timing "
          f"{'frozen out of' if s['gc_freeze'] else 'left to'} the garbage collector")
    print(f"{'method':40s} {'workers':>8s} {'seconds':>9s} {'worker-days/s':>14s}")
    for name, w, sec, rate in rows:
        print(f"{name:40s} {w:8d} {sec:9.3f} {rate:14.1f}")
    p = s.get("engine_processes")
    if p:
        print(f"engine on {p['processes']} processes: {p['wall_s']} s wall = {p['worker_days_per_wall_s']} worker-days "
              f"per wall second ({p['speedup_wall_vs_one_process']}x one process's best wall time); CPU parent "
              f"{p['parent_cpu_s']} s + children {p['children_cpu_s']} s")
    r = s["ratios"]
    fc = s["engine_first_call"]
    print(f"first evaluate_days call (20 workers: imports + numba compile, or its cache load), not timed "
          f"above: {fc['wall_s']} s wall, {fc['cpu_s']} s CPU")
    print(f"engine vs MovingPandas: {r['engine_vs_movingpandas']}x (target >= 100)")
    turns = ", ".join(f"{x}x" for x in r["engine_vs_per_point_loop_each_turn"])
    print(f"engine vs per-point loop (in-grid time only): {r['engine_vs_per_point_loop']}x (target >= 20;"
          f" each turn: {turns})")
    print(f"engine vs per-point loop, all rules (b2): {r['engine_vs_rules_loop']}x (target >= 20)")
    print(f"engine cost per fix: {s['engine']['ns_per_fix']} ns = {r['engine_cost_per_fix_vs_contains_xy']}x raw contains_xy "
          f"({s['raw_contains_xy']['ns_per_fix']} ns) (target <= 10x)")
    print(f"memory: peak RSS {s['memory']['peak_rss_mb']} MB, tracemalloc peak of evaluate_days "
          f"{s['memory']['tracemalloc_peak_mb_evaluate']} MB")
    san = {k: v for k, v in s["sanity"].items() if k not in ("rules_loop", "engine_on_loop_subset")}
    print("sanity:", json.dumps(san))
    el, rl = s["sanity"]["engine_on_loop_subset"], s["sanity"]["rules_loop"]
    print(f"sanity on the {s['rules_loop']['workers']} loop workers, engine vs (b2):",
          ", ".join(f"{k} {el[k]} vs {rl[k]}" for k in el))


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--vertices", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="200 workers, smaller peer subsets")
    ap.add_argument("--loop-workers", type=int, default=200,
                    help="workers timed for the per-point loops (b) and (b2), scaled")
    ap.add_argument("--mp-workers", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=5000, help="worker-days per evaluate_days call")
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the engine, the per-point loop (b) and contains_xy (best kept)")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="process CPU time (default; fair on a shared machine) or wall time")
    ap.add_argument("--processes", type=int, default=0,
                    help="also time the engine on this many forked processes (wall clock; 0: skip)")
    ap.add_argument("--no-gc-freeze", action="store_true",
                    help="leave the objects made before timing to the garbage collector (see the module doc)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "geo_bench.json"))
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = a.clock
    TIMINGS.clear()
    if a.quick:
        a.workers, a.loop_workers, a.mp_workers = 200, 50, 10
    try:
        s = run(a.workers, a.vertices, a.loop_workers, a.mp_workers, a.chunk, not a.no_memory, a.repeat,
                a.processes, not a.no_gc_freeze)
    finally:
        gc.unfreeze()
    print_table(s)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(s, indent=2))
    return s


if __name__ == "__main__":
    main()
