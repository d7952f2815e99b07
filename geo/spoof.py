"""GEO-SPOOF: mark suspect fixes (乱定位 candidates) among valid fixes.

Three tests, applied in order on each worker's valid fixes sorted by time:

1. ``mock_location``: the phone's mock-location flag.
2. ``speed_spike``: among the non-mock fixes, both the speed into the fix and the speed out
   of it exceed ``spike_speed_kmh`` (a lone jump away and back).
3. ``frozen_coordinates``: among the remaining fixes, a run of at least
   ``frozen_min_count`` consecutive fixes with identical coordinates, while the track
   around it (the fix before the run to the fix after it) moves faster than
   ``frozen_min_speed_mps``. A run at the start or end of the track cannot be judged.

Suspect fixes are kept and reported but left out of every computation: the track bridges
over them. Distances are metres in the local projection.

Two more tests raise *review flags* (:func:`review_flags`) that exclude nothing: honest
iPhones report flat, quantised accuracies for long stretches, and after a one-way jump the
track goes on from the new place, so leaving fixes out would be wrong or would cascade. They
run on the usable fixes (valid, not suspect) of the local day, per worker, in time order:

4. ``constant_accuracy``: a run of at least ``constant_accuracy_min_count`` consecutive
   usable fixes with bit-identical accuracy (unknown accuracy never matches), while the track
   moves: some fix of the run lies more than ``constant_accuracy_min_extent_m`` from the
   run's first fix, unless the phone is known to be an iPhone (``ios``) and the accuracy
   is one of ``constant_accuracy_ios_values_m`` (the quantised values iPhones hold
   honestly). One flag per run, at its first fix.
5. ``jump``: a segment between consecutive usable fixes longer than ``jump_min_distance_m``
   and faster than ``spike_speed_kmh``. A jump away and straight back is a ``speed_spike``
   (the far fix is suspect, so no usable segment jumps); a jump that stays is flagged once,
   at the fix it lands on; an excursion of several fixes gives one flag out, one back.

Nothing is deducted for a flag until an office confirms it (``scoring.day``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geo.types import (
    FLAG_CONSTANT_ACCURACY,
    FLAG_JUMP,
    SUSPECT_FROZEN,
    SUSPECT_MOCK,
    SUSPECT_SPIKE,
    GeoParams,
    SpoofFlag,
)

RULE_ID = "GEO-SPOOF"
BIT_MOCK = 1
BIT_SPIKE = 2
BIT_FROZEN = 4
BITS = ((BIT_MOCK, SUSPECT_MOCK), (BIT_SPIKE, SUSPECT_SPIKE), (BIT_FROZEN, SUSPECT_FROZEN))


def _speeds(x, y, t, same):
    """Speed (m/s) between consecutive fixes i-1 -> i; NaN across workers, inf for dt 0."""
    d = np.hypot(np.diff(x), np.diff(y))
    dt = np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = d / dt  # dt 0: inf (moved) or NaN (0/0)
    v[dt == 0] = np.where(d[dt == 0] > 0, np.inf, 0.0)
    v[~same] = np.nan
    return v


def suspect_bits(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    mock: np.ndarray,
    w: np.ndarray,
    params: GeoParams,
) -> np.ndarray:
    """GEO-SPOOF bits per valid fix (1 mock, 2 spike, 4 frozen), vectorised.

    Parameters
    ----------
    x, y : metres in a local projection; t : POSIX seconds; mock : bool;
    w : worker index, the arrays sorted by (w, t).
    """
    n = x.shape[0]
    bits = np.zeros(n, dtype=np.uint8)
    if n == 0:
        return bits
    bits[mock.astype(bool)] |= BIT_MOCK
    # --- spikes among non-mock fixes
    idx = np.flatnonzero(bits == 0)
    if idx.size >= 3:
        if idx.size == n:  # nothing flagged yet: no copies
            xs, ys, ts, ws = x, y, t, w
        else:
            xs, ys, ts, ws = x[idx], y[idx], t[idx], w[idx]
        v = _speeds(xs, ys, ts, ws[1:] == ws[:-1])  # v[k]: idx[k] -> idx[k+1]
        lim = params.spike_speed_kmh / 3.6
        vin = np.concatenate([[np.nan], v])
        vout = np.concatenate([v, [np.nan]])
        with np.errstate(invalid="ignore"):
            spike = (vin > lim) & (vout > lim)
        bits[idx[spike]] |= BIT_SPIKE
    # --- frozen runs among the remaining fixes
    idx = np.flatnonzero(bits == 0)
    m = idx.size
    if m >= params.frozen_min_count + 2 and params.frozen_min_count >= 2:
        if m == n:
            xs, ys, ts, ws = x, y, t, w
        else:
            xs, ys, ts, ws = x[idx], y[idx], t[idx], w[idx]
        same = np.zeros(m, dtype=bool)
        same[1:] = (xs[1:] == xs[:-1]) & (ys[1:] == ys[:-1]) & (ws[1:] == ws[:-1])
        if int(same.sum()) < params.frozen_min_count - 1:  # no run can be long enough
            return bits
        run = np.cumsum(~same) - 1
        first = np.flatnonzero(~same)
        length = np.diff(np.append(first, m))
        last = first + length - 1
        cand = np.flatnonzero(length >= params.frozen_min_count)
        if cand.size:
            b = first[cand] - 1
            a = last[cand] + 1
            ok = (b >= 0) & (a < m)
            b_, a_ = np.where(ok, b, 0), np.where(ok, a, 0)
            ok &= (ws[b_] == ws[first[cand]]) & (ws[a_] == ws[first[cand]])
            dt = ts[a_] - ts[b_]
            d = np.hypot(xs[a_] - xs[b_], ys[a_] - ys[b_])
            with np.errstate(divide="ignore", invalid="ignore"):
                v = np.where(dt > 0, d / np.where(dt > 0, dt, 1.0), np.inf)
            frozen_runs = cand[ok & (v > params.frozen_min_speed_mps)]
            if frozen_runs.size:
                flag_run = np.zeros(first.size, dtype=bool)
                flag_run[frozen_runs] = True
                flag = flag_run[run]
                bits[idx[flag]] |= BIT_FROZEN
    return bits


def reasons_of(bits: int) -> tuple[str, ...]:
    """Stable reason strings of one fix's suspect bits."""
    return tuple(name for bit, name in BITS if bits & bit)


# ---------------------------------------------------------------------------- review flags
@dataclass(frozen=True)
class ReviewFlags:
    """Review flags of a batch, as parallel arrays (indices into the arrays given).

    ``at``: the fix the flag is shown at (first fix of a run; the fix a jump lands on);
    ``other``: the run's last fix, or the fix a jump leaves; ``count``: fixes in the run (2
    for a jump); ``value``: the run's accuracy (m) or the jump's speed (km/h); ``dist_m``:
    the run's extent from its first fix or the jump's length.
    """

    reason: np.ndarray  # object: FLAG_CONSTANT_ACCURACY | FLAG_JUMP
    at: np.ndarray
    other: np.ndarray
    count: np.ndarray
    value: np.ndarray
    dist_m: np.ndarray


def review_key(at_iso: str, reason: str) -> str:
    """The key an office decision uses for a review flag: its local ISO time and reason.

    (A suspect fix is keyed by its time alone; a review flag may share a fix's time.)
    """
    return f"{at_iso}#{reason}"


def review_flags(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    acc: np.ndarray,
    w: np.ndarray,
    in_day: np.ndarray,
    params: GeoParams,
    ios: np.ndarray | None = None,
) -> ReviewFlags:
    """GEO-SPOOF review flags (``constant_accuracy``, ``jump``) on usable fixes, vectorised.

    Parameters
    ----------
    x, y : metres in a local projection; t : POSIX seconds; acc : accuracy in metres (NaN
    unknown); w : worker index, the arrays sorted by (w, t); in_day : the fix lies in its
    worker's local day (only those are judged: runs break at the day's edges, a jump must
    land inside the day); ios : the fix comes from a phone known to be an iPhone (None: no).
    """
    n = x.shape[0]
    reasons: list[np.ndarray] = []
    cols: list[list[np.ndarray]] = [[], [], [], [], []]

    def add(reason: str, *arrays: np.ndarray) -> None:
        reasons.append(np.full(arrays[0].size, reason, dtype=object))
        for c, a in zip(cols, arrays, strict=True):
            c.append(np.asarray(a))

    # --- constant accuracy: runs of bit-identical accuracy among in-day fixes of a worker
    k_min = params.constant_accuracy_min_count
    if n >= k_min >= 2:
        same = np.zeros(n, dtype=bool)
        same[1:] = (acc[1:] == acc[:-1]) & (w[1:] == w[:-1]) & in_day[1:] & in_day[:-1]
        if int(same.sum()) >= k_min - 1:
            first = np.flatnonzero(~same)
            length = np.diff(np.append(first, n))
            keep = (length >= k_min) & in_day[first]
            first, length = first[keep], length[keep]
        else:
            first = length = np.zeros(0, dtype=np.int64)
        if first.size:  # the extent of the long runs only: distance of each fix to the first
            f0 = np.repeat(first, length)
            at = f0 + (np.arange(f0.size) - np.repeat(np.cumsum(length) - length, length))
            d = np.hypot(x[at] - x[f0], y[at] - y[f0])
            extent = np.maximum.reduceat(d, np.cumsum(length) - length)
            ok = extent > params.constant_accuracy_min_extent_m
            if ios is not None and params.constant_accuracy_ios_values_m:
                quantised = np.isin(acc[first], np.asarray(params.constant_accuracy_ios_values_m, float))
                ok &= ~(ios[first] & quantised)
            f = first[ok]
            add(FLAG_CONSTANT_ACCURACY, f, f + length[ok] - 1, length[ok], acc[f], extent[ok])
    # --- jumps: long and fast segments between consecutive usable fixes of a worker
    if n >= 2:
        d = np.hypot(np.diff(x), np.diff(y))  # d[k]: fix k -> k + 1
        a = np.flatnonzero((d > params.jump_min_distance_m) & (w[1:] == w[:-1]) & in_day[1:])
        b = a + 1
        d, dt = d[a], t[b] - t[a]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(dt > 0, d / np.where(dt > 0, dt, 1.0), np.inf) * 3.6  # km/h
        j = v > params.spike_speed_kmh
        add(FLAG_JUMP, b[j], a[j], np.full(int(j.sum()), 2), v[j], d[j])
    if not reasons:
        z = np.zeros(0, dtype=np.int64)
        return ReviewFlags(np.zeros(0, dtype=object), z, z, z, np.zeros(0), np.zeros(0))
    at = np.concatenate(cols[0]).astype(np.int64)
    order = np.argsort(at, kind="stable")  # by worker and time (the arrays' order)
    return ReviewFlags(
        reason=np.concatenate(reasons)[order], at=at[order],
        other=np.concatenate(cols[1]).astype(np.int64)[order],
        count=np.concatenate(cols[2]).astype(np.int64)[order],
        value=np.concatenate(cols[3]).astype(np.float64)[order],
        dist_m=np.concatenate(cols[4]).astype(np.float64)[order],
    )


def spoof_flags_of(rf: ReviewFlags, lo: int, hi: int, t: np.ndarray, lon: np.ndarray,
                   lat: np.ndarray) -> tuple[SpoofFlag, ...]:
    """The review flags ``lo:hi`` of ``rf`` as ``SpoofFlag``s (t, lon, lat: the fixes' arrays)."""
    out = []
    for k in range(lo, hi):
        i, o = int(rf.at[k]), int(rf.other[k])
        if rf.reason[k] == FLAG_JUMP:
            v = float(rf.value[k])
            ev = {"distance_m": round(float(rf.dist_m[k]), 1), "seconds": round(float(t[i] - t[o]), 1),
                  "speed_kmh": round(v, 1) if np.isfinite(v) else None,
                  "from_lon": float(lon[o]), "from_lat": float(lat[o])}
            start, end = float(t[o]), float(t[i])
        else:
            ev = {"accuracy_m": float(rf.value[k]), "fixes": int(rf.count[k]),
                  "extent_m": round(float(rf.dist_m[k]), 1)}
            start, end = float(t[i]), float(t[o])
        out.append(SpoofFlag(reason=str(rf.reason[k]), t=float(t[i]), lon=float(lon[i]),
                             lat=float(lat[i]), start=start, end=end, evidence=ev))
    return tuple(out)
