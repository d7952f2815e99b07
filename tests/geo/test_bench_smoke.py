"""Smoke test of bench/geo_bench.py on 20 workers: runs end to end, sane figures (no timing)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

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
    assert set(s["ratios"]) == {"engine_vs_movingpandas", "engine_vs_per_point_loop", "engine_cost_per_fix_vs_contains_xy"}


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
