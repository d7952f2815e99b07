"""NB-ONLINE: share of on-duty time during which the phone was online.

Online at time s means a fix (valid or not) or a heartbeat at some device time in
(s - online_window_s, s]: each item covers [t, t + online_window_s), cut at the next item.
The rate is online duty seconds over duty seconds (GEO-DUTY); None without duty.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from geo.jit import JIT

RULE_ID = "NB-ONLINE"


@njit(**JIT)
def _online_kernel(t, w, duty0, duty1, window_s):
    n, k = duty0.shape
    acc = np.zeros((n, k))
    m = t.shape[0]
    for i in range(m):
        g = w[i]
        end = t[i] + window_s
        if i + 1 < m and w[i + 1] == g:  # cut at the next item
            end = min(end, t[i + 1])
        for j in range(k):
            ov = min(end, duty1[g, j]) - max(t[i], duty0[g, j])
            acc[g, j] += max(ov, 0.0)
    return acc


def online_seconds(
    t: np.ndarray, w: np.ndarray, duty0: np.ndarray, duty1: np.ndarray, window_s: float
) -> np.ndarray:
    """Online on-duty seconds per worker; ``t`` sorted by (w, t), duty as (workers, k).

    One compiled pass over the items (sums per worker and duty interval, in item order).
    """
    acc = _online_kernel(
        np.ascontiguousarray(t, dtype=np.float64), np.ascontiguousarray(w, dtype=np.int64),
        np.ascontiguousarray(duty0, dtype=np.float64), np.ascontiguousarray(duty1, dtype=np.float64),
        float(window_s),
    )
    return acc.sum(axis=1)
