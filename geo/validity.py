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
    code = np.zeros(lon.shape[0], dtype=np.int8)

    def put(mask: np.ndarray, k: int) -> None:
        code[(code == 0) & mask] = k

    put(~(np.isfinite(lon) & np.isfinite(lat) & np.isfinite(t)), 1)
    with np.errstate(invalid="ignore"):
        put((lat < -90.0) | (lat > 90.0), 2)
        put((lon < -180.0) | (lon > 180.0), 3)
        put((lon == 0.0) & (lat == 0.0), 4)
        put(accuracy_m > params.max_accuracy_m, 5)
        if received_at is not None:
            put(t - received_at > params.max_future_s, 6)
    return code


def count_reasons(codes: np.ndarray) -> dict[str, int]:
    """Rejection reason -> count for the nonzero codes."""
    counts = np.bincount(codes.astype(np.int64), minlength=len(REASONS))
    return {REASONS[k]: int(c) for k, c in enumerate(counts) if k > 0 and c > 0}
