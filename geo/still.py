"""GEO-STILL: a phone left lying in the grid is not a patrol.

A stay starts at a usable fix (its anchor) and goes on while the following fixes remain
within ``still_radius_m`` of the anchor; the first fix farther away ends it and anchors the
next stay (greedy, in time order, per worker). A stay lasting longer than ``still_max_s``
(anchor time to its last fix) counts only its first ``still_max_s`` toward patrol time:
every segment inside the stay gets a *cut* time ``anchor_t + still_max_s`` after which its
in-grid time is lost to ``still``. A window with such lost time is marked ``stationary``.

Vectorised: the next anchor of every fix within a short look-ahead is computed for all
fixes at once; the anchor chains of all workers are then followed in lock-step (one numpy
step per stay, not per fix); only stays longer than the look-ahead scan further.
"""

from __future__ import annotations

import numpy as np

RULE_ID = "GEO-STILL"
_LOOKAHEAD = 4
_LOOKAHEAD_WIDE = 64


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
    n = x.shape[0]
    cut = np.full(n, np.inf)
    if n == 0:
        return cut, np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    wend = np.zeros(n, dtype=np.int64)
    wend[: ends[-1] if ends.size else 0] = np.repeat(ends, ends - starts)  # contiguous slices
    r2 = radius_m * radius_m
    # next anchor within the look-ahead: first j in i+1..i+K with d(i, j) > r, or the end
    # (the smallest k with k >= wend - i or fix i+k far gives i + k; none: -1)
    idx = np.arange(n)
    rem = wend - idx
    kstar = np.zeros(n, dtype=np.int64)
    for k in range(_LOOKAHEAD, 0, -1):
        stop = rem <= k
        if n > k:
            dx = x[k:] - x[:-k]
            dy = y[k:] - y[:-k]
            dx *= dx
            dy *= dy
            dx += dy
            stop[:-k] |= dx > r2
        np.copyto(kstar, k, where=stop)
    nxt = np.where(kstar > 0, idx + kstar, -1)
    firsts, lasts = [], []
    anchor = starts[ends > starts]
    while anchor.size:
        nx = nxt[anchor]
        slow = np.flatnonzero(nx < 0)
        if slow.size:  # longer stays: a wider vectorised look-ahead for those anchors
            sa = anchor[slow]
            off = np.arange(_LOOKAHEAD + 1, _LOOKAHEAD_WIDE + 1)
            j = sa[:, None] + off[None, :]
            valid = j < wend[sa][:, None]
            jj = np.minimum(j, n - 1)
            far = valid & ((x[jj] - x[sa][:, None]) ** 2 + (y[jj] - y[sa][:, None]) ** 2 > r2)
            stop = far | ~valid
            has = stop.any(axis=1)
            k = np.argmax(stop, axis=1)
            nx[slow[has]] = np.where(far[has, k[has]], j[has, k[has]], wend[sa[has]])
            slow = slow[~has]
        for q in slow:  # stays longer than the wide look-ahead: scan that worker's rest
            a = anchor[q]
            e = wend[a]
            d2 = (x[a + 1 : e] - x[a]) ** 2 + (y[a + 1 : e] - y[a]) ** 2
            hit = np.flatnonzero(d2 > r2)
            nx[q] = a + 1 + hit[0] if hit.size else e
        long = t[nx - 1] - t[anchor] > max_s
        if long.any():
            firsts.append(anchor[long])
            lasts.append(nx[long] - 1)
        anchor = nx[nx < wend[anchor]]
    if firsts:
        sf = np.concatenate(firsts)
        sl = np.concatenate(lasts)
        order = np.argsort(sf)
        sf, sl = sf[order], sl[order]
        # segments sf .. sl-1 lie inside the stay
        lens = sl - sf
        seg = np.repeat(sf, lens) + (np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens))
        cut[seg] = np.repeat(t[sf] + max_s, lens)
    else:
        sf = sl = np.zeros(0, np.int64)
    return cut, sf, sl
