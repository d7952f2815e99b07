"""GEO-VALID: reject impossible or untrustworthy fixes, keeping the reason.

A fix is used only if lat in [-90, 90], lon in [-180, 180], not (0, 0), accuracy at most
``max_accuracy_m`` (unknown accuracy passes) and device time not more than ``max_future_s``
ahead of the server's receive time (unknown receive time passes). Rejected fixes are never
dropped silently: each gets one stable reason string from :mod:`geo.types` (the first test
that fails, in the order of :data:`REASONS`) and the engine counts them per day.
Heartbeats are not positions and are not judged here.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from geo.jit import JIT
from geo.types import (
    REJECT_ACCURACY,
    REJECT_FUTURE,
    REJECT_LAT_RANGE,
    REJECT_LON_RANGE,
    REJECT_NOT_FINITE,
    REJECT_NULL_ISLAND,
    GeoParams,
)

RULE_ID = "GEO-VALID"
#: Reason codes: index 0 means valid; code k > 0 means ``REASONS[k]``.
REASONS: tuple[str | None, ...] = (
    None,
    REJECT_NOT_FINITE,
    REJECT_LAT_RANGE,
    REJECT_LON_RANGE,
    REJECT_NULL_ISLAND,
    REJECT_ACCURACY,
    REJECT_FUTURE,
)


def reject_codes(
    lon: np.ndarray,
    lat: np.ndarray,
    accuracy_m: np.ndarray,
    t: np.ndarray,
    received_at: np.ndarray | None,
    params: GeoParams,
) -> np.ndarray:
    """GEO-VALID reason code per fix (int8, 0 = valid), vectorised.

    Parameters
    ----------
    lon, lat : WGS-84 degrees.
    accuracy_m : horizontal accuracy in metres, NaN when unknown.
    t : device time, POSIX seconds.
    received_at : server receive time, POSIX seconds (NaN or None when unknown).
    """
    f64 = [np.ascontiguousarray(v, dtype=np.float64) for v in (lon, lat, accuracy_m, t)]
    recv = _NO_RECV if received_at is None else np.ascontiguousarray(received_at, dtype=np.float64)
    if received_at is not None and recv.shape != f64[0].shape:
        raise ValueError(f"received_at has {recv.shape[0]} values for {f64[0].shape[0]} fixes")
    return _reject_kernel(*f64, recv, float(params.max_accuracy_m), float(params.max_future_s))


_NO_RECV = np.zeros(0)


@njit(**JIT)
def _reject_kernel(lon, lat, acc, t, recv, max_acc, max_future):
    """The first failing test of each fix, in the order of REASONS (one compiled pass).
    Comparisons with NaN are false, so unknown accuracy and receive time pass."""
    n = lon.shape[0]
    code = np.zeros(n, dtype=np.int8)
    has_recv = recv.shape[0] > 0
    for i in range(n):
        lo = lon[i]
        la = lat[i]
        if not (np.isfinite(lo) and np.isfinite(la) and np.isfinite(t[i])):
            code[i] = 1
        elif la < -90.0 or la > 90.0:
            code[i] = 2
        elif lo < -180.0 or lo > 180.0:
            code[i] = 3
        elif lo == 0.0 and la == 0.0:
            code[i] = 4
        elif acc[i] > max_acc:
            code[i] = 5
        elif has_recv and t[i] - recv[i] > max_future:
            code[i] = 6
    return code


def count_reasons(codes: np.ndarray) -> dict[str, int]:
    """Rejection reason -> count for the nonzero codes."""
    counts = np.bincount(codes.astype(np.int64), minlength=len(REASONS))
    return {REASONS[k]: int(c) for k, c in enumerate(counts) if k > 0 and c > 0}
