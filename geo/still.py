"""GEO-STILL: a phone left lying in the grid is not a patrol.

A stay starts at a usable fix (its anchor) and goes on while the following fixes remain
within ``still_radius_m`` of the anchor; the first fix farther away ends it and anchors the
next stay (greedy, in time order, per worker). A stay lasting longer than ``still_max_s``
(anchor time to its last fix) counts only its first ``still_max_s`` toward patrol time:
every segment inside the stay gets a *cut* time ``anchor_t + still_max_s`` after which its
in-grid time is lost to ``still``. A window with such lost time is marked ``stationary``.

Compiled (numba): one pass over each worker's fixes, all workers in one call.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from geo.jit import JIT

RULE_ID = "GEO-STILL"


@njit(**JIT)
def _stays_kernel(x, y, t, starts, ends, r2, max_s):
    n = x.shape[0]
    cut = np.full(n, np.inf)
    sf = np.empty(n, np.int64)
    sl = np.empty(n, np.int64)
    m = 0
    for w in range(starts.shape[0]):
        a = starts[w]
        e = ends[w]
        while a < e:  # a: the anchor of a stay
            j = a + 1
            while j < e:
                dx = x[j] - x[a]
                dy = y[j] - y[a]
                if dx * dx + dy * dy > r2:
                    break
                j += 1
            # the stay is a .. j-1; fix j (if any) anchors the next one
            if t[j - 1] - t[a] > max_s:
                for s in range(a, j - 1):  # its segments a -> a+1 ... j-2 -> j-1
                    cut[s] = t[a] + max_s
                sf[m] = a
                sl[m] = j - 1
                m += 1
            a = j
    return cut, sf[:m], sl[:m]


def stay_cut_times(
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    radius_m: float,
    max_s: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-segment GEO-STILL cut times and the long stays.

    Parameters
    ----------
    x, y : usable fixes in metres; t : POSIX seconds; sorted by worker then time.
    starts, ends : per-worker slice bounds into those arrays.
    radius_m, max_s : ``still_radius_m`` and ``still_max_s``.

    Returns
    -------
    cut : float array, one per fix i (for the segment i -> i+1): +inf, or the time after
        which that segment no longer counts.
    stay_first, stay_last : fix indices of the stays longer than ``max_s``.
    """
    f = [np.ascontiguousarray(v, dtype=np.float64) for v in (x, y, t)]
    return _stays_kernel(
        *f, np.ascontiguousarray(starts, dtype=np.int64), np.ascontiguousarray(ends, dtype=np.int64),
        float(radius_m) * float(radius_m), float(max_s),
    )
