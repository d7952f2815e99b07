"""GEO-SPOOF on spoofed tracks and the false-flag rate on the demo's normal tracks.

    uv run python -m bench.security.spoof_bench [--seeds 7 2022 11]

Prints one JSON object: per scenario, the fixes the scenario falsified and how many of them
``geo.spoof.suspect_bits`` flagged; per demo seed, the flagged share of the valid fixes of
workers whose simulated behaviour is not ``mock`` (their tracks are all genuine).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

import numpy as np

from checkins.demo import build_demo
from geo.spoof import BIT_FROZEN, BIT_MOCK, BIT_SPIKE, suspect_bits
from scoring.profiles import load_profile

PARAMS = load_profile("yangkou-2022").geo_params()


def walk(n: int = 240, step_s: float = 15.0, seed: int = 1) -> dict[str, np.ndarray]:
    """A genuine-looking walk at ~1.3 m/s with noisy accuracy (metres, local projection)."""
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.3, n))
    v = rng.uniform(0.8, 1.8, n) * step_s
    x, y = np.cumsum(v * np.cos(heading)), np.cumsum(v * np.sin(heading))
    return {"x": x, "y": y, "t": np.arange(n) * step_s, "mock": np.zeros(n, bool),
            "acc": rng.uniform(4, 25, n)}


def scenarios() -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    """name -> (track, mask of the falsified fixes)."""
    out = {}
    tr = walk()
    m = np.zeros(240, bool)
    m[100:140] = True
    tr["mock"] = m.copy()
    out["mock_location_flag"] = (tr, m)
    tr = walk(seed=2)
    tr["acc"] = np.full(240, 10.0)  # an emulator reports the same accuracy every time
    out["constant_accuracy"] = (tr, np.ones(240, bool))
    tr = walk(seed=3)  # 50 km away within a minute, then back a minute later
    tr["t"] = np.arange(240) * 60.0
    tr["x"][120] += 50_000.0
    m = np.zeros(240, bool)
    m[120] = True
    out["jump_50km_in_a_minute_and_back"] = (tr, m)
    tr = walk(seed=4)  # 50 km away within a minute, and stays there
    tr["t"] = np.arange(240) * 60.0
    tr["x"][120:] += 50_000.0
    m = np.zeros(240, bool)
    m[120] = True
    out["jump_50km_in_a_minute_one_way"] = (tr, m)
    tr = walk(seed=5)  # the same coordinates repeated while the track moves on
    m = np.zeros(240, bool)
    m[100:130] = True
    tr["x"][100:130], tr["y"][100:130] = tr["x"][100], tr["y"][100]
    tr["x"][130:] += 30 * 20.0  # the real walk went on
    out["repeated_identical_coordinates"] = (tr, m)
    return out


def bits_of(tr: dict[str, np.ndarray]) -> np.ndarray:
    """GEO-SPOOF bits of one worker's track."""
    n = tr["x"].shape[0]
    return suspect_bits(tr["x"], tr["y"], tr["t"].astype(float), tr["mock"],
                        np.zeros(n, np.int64), PARAMS)


def demo_false_flags(seed: int, day: dt.date) -> dict[str, Any]:
    """Flagged share of the valid fixes of the demo workers without the mock behaviour."""
    demo = build_demo(seed=seed, day=day)
    beh = {w.worker_id: w.behaviour for w in demo.workers}
    fixes = [p for p in demo.positions if p["kind"] == "fix" and p["reject_reason"] is None
             and beh.get(p["worker_id"]) != "mock"]
    workers = sorted({p["worker_id"] for p in fixes})
    widx = {w: i for i, w in enumerate(workers)}
    fixes.sort(key=lambda p: (widx[p["worker_id"]], p["recorded_at"]))
    lon = np.array([p["wgs84"][0] for p in fixes])
    lat = np.array([p["wgs84"][1] for p in fixes])
    lon0, lat0 = lon.mean(), lat.mean()
    x = (lon - lon0) * 111_320.0 * np.cos(np.radians(lat0))
    y = (lat - lat0) * 110_574.0
    t = np.array([p["recorded_at"].timestamp() for p in fixes])
    w = np.array([widx[p["worker_id"]] for p in fixes])
    bits = suspect_bits(x, y, t, np.array([p["mock"] for p in fixes], bool), w, PARAMS)
    flagged_workers = sorted({workers[i] for i in w[bits != 0]})
    return {"seed": seed, "day": day.isoformat(), "workers": len(workers),
            "valid_fixes": len(fixes), "flagged_fixes": int((bits != 0).sum()),
            "false_flag_rate": float((bits != 0).mean()) if len(fixes) else 0.0,
            "by_reason": {r: int(((bits & bit) != 0).sum()) for r, bit in (
                ("mock", BIT_MOCK), ("spike", BIT_SPIKE), ("frozen", BIT_FROZEN))},
            "worker_days_flagged": f"{len(flagged_workers)}/{len(workers)}",
            "workers_with_a_flag": flagged_workers}


def run(seeds: list[int]) -> dict[str, Any]:
    """All figures as one JSON-able dict."""
    res: dict[str, Any] = {"rule": "GEO-SPOOF", "scenarios": {}, "demo": []}
    for name, (tr, m) in scenarios().items():
        b = bits_of(tr)
        res["scenarios"][name] = {
            "falsified_fixes": int(m.sum()), "flagged_of_those": int((b[m] != 0).sum()),
            "flagged_elsewhere": int((b[~m] != 0).sum()),
            "reasons": sorted({r for r, bit in (("mock", BIT_MOCK), ("spike", BIT_SPIKE),
                                                 ("frozen", BIT_FROZEN)) if (b & bit).any()}),
            "track_flagged": bool((b != 0).any())}
    for i, seed in enumerate(seeds):
        res["demo"].append(demo_false_flags(seed, dt.date(2026, 11, 16) + dt.timedelta(days=i)))
    return res


def main() -> None:
    """Command line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 2022, 11])
    print(json.dumps(run(ap.parse_args().seeds), ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
