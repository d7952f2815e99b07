"""NB-ONLINE: share of on-duty time during which the phone was online.

Online at time s means a fix (valid or not) or a heartbeat at some device time in
(s - online_window_s, s]: each item covers [t, t + online_window_s), cut at the next item.
The rate is online duty seconds over duty seconds (GEO-DUTY); None without duty.
"""

from __future__ import annotations

import numpy as np

from geo.intervals import overlap_sum

RULE_ID = "NB-ONLINE"


def online_seconds(
    t: np.ndarray, w: np.ndarray, duty0: np.ndarray, duty1: np.ndarray, window_s: float
) -> np.ndarray:
    """Online on-duty seconds per worker; ``t`` sorted by (w, t), duty as (workers, k)."""
    n = duty0.shape[0]
    if t.size == 0:
        return np.zeros(n)
    end = t + window_s
    same = np.zeros(t.size, dtype=bool)
    same[:-1] = w[1:] == w[:-1]
    nxt = np.concatenate([t[1:], [np.inf]])
    end = np.where(same, np.minimum(end, nxt), end)
    return overlap_sum(w, t, end, duty0, duty1).sum(axis=1)
