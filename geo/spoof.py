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
from numba import njit

from geo.jit import JIT
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


@njit(**JIT)
def _speed(x, y, t, i, j):
    """Speed (m/s) from fix i to fix j (later): inf for dt 0 if it moved, 0 if not."""
    d = np.hypot(x[j] - x[i], y[j] - y[i])
    dt = t[j] - t[i]
    if dt == 0:
        return np.inf if d > 0 else 0.0
    return d / dt


#: Relative margin of the squared-distance prefilters: a pair whose squared distance is
#: below (limit)^2 * (1 - margin) is certainly not above the limit (rounding errors are
#: ~1e-16), so the exact ``hypot`` is only computed near or above the limit.
_PREFILTER = 1e-9


@njit(**JIT)
def _faster(x, y, t, i, j, lim):
    """Whether ``_speed(x, y, t, i, j) > lim``, exactly, computing ``hypot`` only near or
    above the limit."""
    dt = t[j] - t[i]
    if dt > 0 and lim > 0:
        dx = x[j] - x[i]
        dy = y[j] - y[i]
        thr = lim * dt
        if dx * dx + dy * dy < thr * thr * (1.0 - _PREFILTER):
            return False
    return _speed(x, y, t, i, j) > lim


@njit(**JIT)
def _suspect_kernel(x, y, t, mock, w, spike_mps, frozen_min_count, frozen_min_speed_mps):
    """GEO-SPOOF bits of every fix, one pass per worker (see :func:`suspect_bits`)."""
    n = x.shape[0]
    bits = np.zeros(n, np.uint8)
    idx = np.empty(n, np.int64)  # scratch: the current worker's fixes not flagged yet
    s = 0
    while s < n:
        e = s + 1
        while e < n and w[e] == w[s]:
            e += 1
        # 1. mock_location
        m = 0
        for i in range(s, e):
            if mock[i]:
                bits[i] |= BIT_MOCK
            else:
                idx[m] = i
                m += 1
        # 2. speed_spike among the others: speed into and out of the fix above the limit
        if m >= 3:
            fin = _faster(x, y, t, idx[0], idx[1], spike_mps)
            for j in range(1, m - 1):
                fout = _faster(x, y, t, idx[j], idx[j + 1], spike_mps)
                if fin and fout:
                    bits[idx[j]] |= BIT_SPIKE
                fin = fout
        # 3. frozen_coordinates among the remaining: a long run of identical coordinates
        #    between a fix before it and one after it, the track moving fast enough
        if frozen_min_count >= 2 and m >= frozen_min_count + 2:
            r = 0
            for j in range(m):
                if bits[idx[j]] == 0:
                    idx[r] = idx[j]
                    r += 1
            f = 0  # first of the current run
            for j in range(1, r + 1):
                if j < r and x[idx[j]] == x[idx[j - 1]] and y[idx[j]] == y[idx[j - 1]]:
                    continue
                # the run is f .. j-1
                if j - f >= frozen_min_count and f > 0 and j < r:
                    bi = idx[f - 1]
                    ai = idx[j]
                    dt = t[ai] - t[bi]
                    d = np.hypot(x[ai] - x[bi], y[ai] - y[bi])
                    v = d / dt if dt > 0 else np.inf
                    if v > frozen_min_speed_mps:
                        for q in range(f, j):
                            bits[idx[q]] |= BIT_FROZEN
                f = j
        s = e
    return bits


def suspect_bits(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    mock: np.ndarray,
    w: np.ndarray,
    params: GeoParams,
) -> np.ndarray:
    """GEO-SPOOF bits per valid fix (1 mock, 2 spike, 4 frozen), compiled (one pass per
    worker, all workers in one call).

    Parameters
    ----------
    x, y : metres in a local projection; t : POSIX seconds; mock : bool;
    w : worker index, the arrays sorted by (w, t).
    """
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (x, y, t)]
    return _suspect_kernel(
        *f64, np.ascontiguousarray(mock, dtype=np.bool_), np.ascontiguousarray(w, dtype=np.int64),
        params.spike_speed_kmh / 3.6, int(params.frozen_min_count), float(params.frozen_min_speed_mps),
    )


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


@njit(**JIT)
def _flags_kernel(x, y, t, acc, w, in_day, skip, ios, ios_mode, k_min, min_extent_m,
                  ios_values, jump_min_m, spike_kmh, jump_cap):
    """GEO-SPOOF review flags on the fixes with ``skip == 0``, one pass over the batch.
    ``ios_mode``: 0 no phone known to be an iPhone, 1 ``ios`` per fix, 2 per worker.
    Returns the constant_accuracy flags then the jump flags, each as (at, other, count,
    value, dist) arrays in the arrays' order."""
    n = x.shape[0]
    # the buffers are never reallocated inside the loop (which would cost reference
    # counting per fix): room for every possible run, and ``jump_cap`` jumps (more: the
    # result is None and the caller calls again with room for every fix)
    ca = np.empty((n // max(k_min, 1) + 1, 3), np.int64)
    cav = np.empty((ca.shape[0], 2))
    nca = 0
    ja = np.empty((jump_cap, 2), np.int64)
    jv = np.empty((jump_cap, 2))
    nj = 0
    prev = -1  # the previous usable fix
    f = -1  # first fix of the current run of identical accuracy (usable, in the day)
    cnt = 0
    ext = 0.0
    for i in range(n + 1):
        if i < n and skip[i] != 0:
            continue
        same_w = i < n and prev >= 0 and w[i] == w[prev]
        # --- constant_accuracy: the run goes on, or it ends here
        if same_w and cnt > 0 and in_day[i] and acc[i] == acc[prev]:
            cnt += 1
            dx = x[i] - x[f]
            dy = y[i] - y[f]
            if dx * dx + dy * dy >= ext * ext * (1.0 - _PREFILTER):  # may be the new extent
                ext = max(ext, np.hypot(dx, dy))
        else:
            if k_min >= 2 and cnt >= k_min and ext > min_extent_m:
                quant = False
                if ios_mode != 0 and ios[w[f] if ios_mode == 2 else f]:
                    for v in ios_values:
                        if acc[f] == v:
                            quant = True
                if not quant:
                    ca[nca, 0] = f
                    ca[nca, 1] = prev
                    ca[nca, 2] = cnt
                    cav[nca, 0] = acc[f]
                    cav[nca, 1] = ext
                    nca += 1
            if i < n and in_day[i]:
                f = i
                cnt = 1
                ext = 0.0
            else:
                cnt = 0
        # --- jump: the segment prev -> i, long and fast, landing inside the day
        if same_w and in_day[i]:
            dx = x[i] - x[prev]
            dy = y[i] - y[prev]
            near = jump_min_m > 0 and dx * dx + dy * dy < jump_min_m * jump_min_m * (1.0 - _PREFILTER)
            d = 0.0 if near else np.hypot(dx, dy)
            if not near and d > jump_min_m:
                dt = t[i] - t[prev]
                v = (d / dt if dt > 0 else np.inf) * 3.6
                if v > spike_kmh:
                    if nj == jump_cap:
                        return None
                    ja[nj, 0] = i
                    ja[nj, 1] = prev
                    jv[nj, 0] = v
                    jv[nj, 1] = d
                    nj += 1
        if i < n:
            prev = i
    return ca[:nca], cav[:nca], ja[:nj], jv[:nj]


def review_flags(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    acc: np.ndarray,
    w: np.ndarray,
    in_day: np.ndarray,
    params: GeoParams,
    ios: np.ndarray | None = None,
    skip: np.ndarray | None = None,
    ios_by_worker: bool = False,
) -> ReviewFlags:
    """GEO-SPOOF review flags (``constant_accuracy``, ``jump``) on usable fixes, compiled.

    Parameters
    ----------
    x, y : metres in a local projection; t : POSIX seconds; acc : accuracy in metres (NaN
    unknown); w : worker index, the arrays sorted by (w, t); in_day : the fix lies in its
    worker's local day (only those are judged: runs break at the day's edges, a jump must
    land inside the day); ios : the fix comes from a phone known to be an iPhone (None: no;
    indexed by worker instead of by fix when ``ios_by_worker``); skip : fixes to leave out
    (nonzero, e.g. the suspect bits; None: every fix is usable). Indices in the result are
    positions in the arrays given.
    """
    n = x.shape[0]
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (x, y, t, acc)]
    ios_vals = np.asarray(params.constant_accuracy_ios_values_m, dtype=np.float64)
    args = (
        *f64, np.ascontiguousarray(w, dtype=np.int64), np.ascontiguousarray(in_day, dtype=np.bool_),
        np.zeros(n, np.uint8) if skip is None else np.ascontiguousarray(skip, dtype=np.uint8),
        np.zeros(1, np.bool_) if ios is None else np.ascontiguousarray(ios, dtype=np.bool_),
        0 if ios is None else 2 if ios_by_worker else 1,
        int(params.constant_accuracy_min_count), float(params.constant_accuracy_min_extent_m),
        ios_vals, float(params.jump_min_distance_m), float(params.spike_speed_kmh),
    )
    out = _flags_kernel(*args, 16 + n // 64)
    if out is None:  # more jumps than room: again, with room for one at every fix
        out = _flags_kernel(*args, max(n, 1))
    ca, cav, ja, jv = out
    at = np.concatenate([ca[:, 0], ja[:, 0]])
    order = np.argsort(at, kind="stable")  # by worker and time (the arrays' order)
    reason = np.array([FLAG_CONSTANT_ACCURACY] * ca.shape[0] + [FLAG_JUMP] * ja.shape[0], dtype=object)
    return ReviewFlags(
        reason=reason[order], at=at[order],
        other=np.concatenate([ca[:, 1], ja[:, 1]])[order],
        count=np.concatenate([ca[:, 2], np.full(ja.shape[0], 2, np.int64)])[order],
        value=np.concatenate([cav[:, 0], jv[:, 0]])[order],
        dist_m=np.concatenate([cav[:, 1], jv[:, 1]])[order],
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
