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
"""

from __future__ import annotations

import numpy as np

from geo.types import SUSPECT_FROZEN, SUSPECT_MOCK, SUSPECT_SPIKE, GeoParams

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
