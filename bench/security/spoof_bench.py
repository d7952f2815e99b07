"""GEO-SPOOF on spoofed tracks and the false-flag rate on the demo's normal tracks.

    uv run python -m bench.security.spoof_bench [--seeds 7 2022 11]

Prints one JSON object: per scenario, the fixes the scenario falsified and how many of them
GEO-SPOOF flagged (``geo.spoof.suspect_bits``: suspect fixes, left out; then
``geo.spoof.review_flags`` on the usable fixes, as the engine runs them: review flags that
exclude nothing; a fix counts as flagged if it is suspect or lies in a flagged run / is the
fix a jump lands on); per demo seed, the flags on the valid fixes of workers whose simulated
behaviour is not ``mock`` (their tracks are all genuine), as the demo simulates them
(Android-like accuracies, 4–18 m to 0.1 m) and with iPhone-like quantised accuracies, on
the demo's iPhones (platform known, as the database flow passes it) and on every phone with
the platform unknown (as from position files).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

import numpy as np

from checkins.demo.service import build_demo
from geo.spoof import BIT_FROZEN, BIT_MOCK, BIT_SPIKE, review_flags, suspect_bits
from geo.types import FLAG_CONSTANT_ACCURACY, FLAG_JUMP
from scoring.profiles import load_profile

PARAMS = load_profile("yangkou-2022").geo_params()
SUSPECT = (("mock", BIT_MOCK), ("spike", BIT_SPIKE), ("frozen", BIT_FROZEN))
REVIEW = (FLAG_CONSTANT_ACCURACY, FLAG_JUMP)
# iPhone-like accuracy: Core Location's quantised horizontalAccuracy values (m) and how often
# each is entered; the value is kept for the next fix with IOS_STAY (mean run 1/(1-IOS_STAY))
IOS_VALUES = (5.0, 10.0, 65.0)
IOS_WEIGHTS = (0.5, 0.35, 0.15)
IOS_STAY = 0.97
# sensitivity: iPhones that also hold a value the profile does not list (30 m, 15 % of runs)
IOS_VALUES_UNLISTED = (5.0, 10.0, 30.0, 65.0)
IOS_WEIGHTS_UNLISTED = (0.45, 0.3, 0.15, 0.1)


def walk(n: int = 240, step_s: float = 15.0, seed: int = 1) -> dict[str, np.ndarray]:
    """A genuine-looking walk at ~1.3 m/s with noisy accuracy (metres, local projection)."""
    rng = np.random.default_rng(seed)
    heading = np.cumsum(rng.normal(0, 0.3, n))
    v = rng.uniform(0.8, 1.8, n) * step_s
    x, y = np.cumsum(v * np.cos(heading)), np.cumsum(v * np.sin(heading))
    return {"x": x, "y": y, "t": np.arange(n) * step_s, "mock": np.zeros(n, bool),
            "acc": rng.uniform(4, 25, n)}


def ios_accuracy(n: int, rng: np.random.Generator, values=IOS_VALUES, weights=IOS_WEIGHTS
                 ) -> np.ndarray:
    """``n`` iPhone-like accuracies: quantised values held for long stretches (see IOS_*)."""
    out = np.empty(n)
    cur = rng.choice(values, p=weights)
    for i in range(n):
        if rng.uniform() > IOS_STAY:
            cur = rng.choice(values, p=weights)
        out[i] = cur
    return out


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


def judge(x, y, t, acc, mock, w, ios=None, params=PARAMS
          ) -> tuple[np.ndarray, dict[str, np.ndarray], Any]:
    """GEO-SPOOF as the engine runs it: suspect bits per fix, then review flags on the usable
    fixes (``ios``: per fix, the phone is known to be an iPhone); returns (bits, {review
    reason: bool mask of the fixes it covers}, flags)."""
    bits = suspect_bits(x, y, t, mock, w, params)
    us = np.flatnonzero(bits == 0)
    rf = review_flags(x[us], y[us], t[us], acc[us], w[us], np.ones(us.size, bool), params,
                      None if ios is None else ios[us])
    covered = {r: np.zeros(x.shape[0], bool) for r in REVIEW}
    for reason, a, o in zip(rf.reason, rf.at, rf.other, strict=True):
        if reason == FLAG_JUMP:  # the fix it lands on
            covered[reason][us[a]] = True
        else:  # the run's fixes (consecutive usable fixes a..o)
            covered[reason][us[a:o + 1]] = True
    return bits, covered, rf


def bits_of(tr: dict[str, np.ndarray]) -> np.ndarray:
    """GEO-SPOOF suspect bits of one worker's track (fixes left out of every computation)."""
    n = tr["x"].shape[0]
    return suspect_bits(tr["x"], tr["y"], tr["t"].astype(float), tr["mock"],
                        np.zeros(n, np.int64), PARAMS)


def flagged_of(tr: dict[str, np.ndarray], ios: bool = False
               ) -> tuple[np.ndarray, np.ndarray, Any]:
    """(suspect bits, fixes flagged by anything, review flags) of one worker's track, from a
    phone of unknown platform (or known to be an iPhone)."""
    n = tr["x"].shape[0]
    bits, cov, rf = judge(tr["x"], tr["y"], tr["t"].astype(float), tr["acc"], tr["mock"],
                          np.zeros(n, np.int64), np.full(n, ios) if ios else None)
    return bits, (bits != 0) | cov[FLAG_CONSTANT_ACCURACY] | cov[FLAG_JUMP], rf


def _demo_tracks(seed: int, day: dt.date):
    demo = build_demo(seed=seed, day=day)
    beh = {w.worker_id: w.behaviour for w in demo.workers}
    ios = {d["worker_id"] for d in demo.devices if d.get("platform") == "ios"}
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
    w = np.array([widx[p["worker_id"]] for p in fixes], dtype=np.int64)
    acc = np.array([np.nan if p["accuracy_m"] is None else p["accuracy_m"] for p in fixes], float)
    mock = np.array([p["mock"] for p in fixes], bool)
    is_ios = np.array([wk in ios for wk in workers], bool)
    return workers, x, y, t, w, acc, mock, is_ios


def _flag_figures(workers, x, y, t, w, acc, mock, only: np.ndarray | None = None,
                  ios: np.ndarray | None = None) -> dict[str, Any]:
    bits, cov, rf = judge(x, y, t, acc, mock, w, None if ios is None else ios[w])
    sel = np.ones(x.shape[0], bool) if only is None else only[w]
    nw = len(workers) if only is None else int(only.sum())
    any_flag = (bits != 0) | cov[FLAG_CONSTANT_ACCURACY] | cov[FLAG_JUMP]
    flag_w = rf_w = np.zeros(0, np.int64)
    if rf.at.size:
        us = np.flatnonzero(bits == 0)
        rf_w = w[us[rf.at]]
        if only is not None:
            keep = only[rf_w]
            rf_w = rf_w[keep]
            reasons = rf.reason[keep]
        else:
            reasons = rf.reason
    else:
        reasons = np.zeros(0, object)
    flag_w = np.union1d(np.unique(w[(bits != 0) & sel]), rf_w)
    return {"workers": nw, "valid_fixes": int(sel.sum()),
            "flagged_fixes": int((any_flag & sel).sum()),
            "false_flag_rate": float((any_flag & sel).sum() / max(1, sel.sum())),
            "by_reason": ({r: int((((bits & b) != 0) & sel).sum()) for r, b in SUSPECT}
                          | {r: int((reasons == r).sum()) for r in REVIEW}),
            "review_flags": int(reasons.size),
            "worker_days_flagged": f"{flag_w.size}/{nw}",
            "workers_with_a_flag": sorted(workers[i] for i in flag_w)}


def demo_false_flags(seed: int, day: dt.date) -> dict[str, Any]:
    """Flags on the valid fixes of the demo workers without the mock behaviour: as simulated
    (Android-like accuracies; platforms as registered), then with iPhone-like accuracies
    (``ios_accuracy``) for the workers whose demo phone is an iPhone (platform known), and
    for every worker with the platform unknown."""
    workers, x, y, t, w, acc, mock, is_ios = _demo_tracks(seed, day)
    out: dict[str, Any] = {"seed": seed, "day": day.isoformat()}
    out |= _flag_figures(workers, x, y, t, w, acc, mock, ios=is_ios)
    rng = np.random.default_rng(seed)
    acc_ios, acc_ios30 = acc.copy(), acc.copy()
    for i in range(len(workers)):
        sel = w == i
        acc_ios[sel] = ios_accuracy(int(sel.sum()), rng)
        acc_ios30[sel] = ios_accuracy(int(sel.sum()), rng, IOS_VALUES_UNLISTED, IOS_WEIGHTS_UNLISTED)
    acc_demo_ios = np.where(is_ios[w], acc_ios, acc)
    out["iphone_like_accuracy_on_demo_iphones_platform_known"] = _flag_figures(
        workers, x, y, t, w, acc_demo_ios, mock, only=is_ios, ios=is_ios)
    out["iphone_like_accuracy_on_demo_iphones_platform_unknown"] = _flag_figures(
        workers, x, y, t, w, acc_demo_ios, mock, only=is_ios)
    out["iphone_like_accuracy_on_every_phone_platform_unknown"] = _flag_figures(
        workers, x, y, t, w, acc_ios, mock)
    out["iphone_like_with_unlisted_30m_on_demo_iphones_platform_known"] = _flag_figures(
        workers, x, y, t, w, np.where(is_ios[w], acc_ios30, acc), mock, only=is_ios, ios=is_ios)
    return out


def run(seeds: list[int]) -> dict[str, Any]:
    """All figures as one JSON-able dict."""
    res: dict[str, Any] = {"rule": "GEO-SPOOF", "params": {
        k: getattr(PARAMS, k) for k in ("spike_speed_kmh", "frozen_min_count", "frozen_min_speed_mps",
                                        "constant_accuracy_min_count",
                                        "constant_accuracy_min_extent_m",
                                        "constant_accuracy_ios_values_m", "jump_min_distance_m")},
        "ios_model": {"values_m": IOS_VALUES, "weights": IOS_WEIGHTS, "stay": IOS_STAY,
                      "unlisted_variant": {"values_m": IOS_VALUES_UNLISTED,
                                           "weights": IOS_WEIGHTS_UNLISTED}},
        "scenarios": {}, "demo": []}
    for name, (tr, m) in scenarios().items():
        b, flagged, rf = flagged_of(tr)
        res["scenarios"][name] = {
            "falsified_fixes": int(m.sum()), "flagged_of_those": int(flagged[m].sum()),
            "flagged_elsewhere": int(flagged[~m].sum()),
            "excluded_fixes": int((b != 0).sum()),
            "reasons": sorted({r for r, bit in SUSPECT if (b & bit).any()} | set(rf.reason)),
            "track_flagged": bool(flagged.any())}
    tr, m = scenarios()["constant_accuracy"]  # the same emulator, registered as an iPhone
    res["constant_accuracy_on_a_phone_registered_as_ios"] = {}
    for value in (10.0, 12.5):
        tr["acc"] = np.full(m.size, value)
        _, flagged, _ = flagged_of(tr, ios=True)
        res["constant_accuracy_on_a_phone_registered_as_ios"][f"{value:g} m"] = {
            "falsified_fixes": int(m.sum()), "flagged_of_those": int(flagged[m].sum())}
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
