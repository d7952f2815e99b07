"""Vectorised helpers for sets of half-open time intervals [a, b) owned by groups (workers).

No rule of its own: the building blocks of GEO-INGRID, GEO-OFFPOST, GEO-PHONEOFF and
NB-ONLINE. Times are POSIX seconds.
"""

from __future__ import annotations

import numpy as np


def clip_to_windows(
    g: np.ndarray, a: np.ndarray, b: np.ndarray, w0: np.ndarray, w1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Intersect each interval with its group's windows ``w0[g, k], w1[g, k]``.

    Returns (piece index, window index k, start, end) of the nonempty parts, ordered by
    piece then window (time order when the windows of a group are sorted and disjoint).
    """
    if a.size == 0 or w0.shape[1] == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0), np.zeros(0)
    lo = np.maximum(a[:, None], w0[g])
    hi = np.minimum(b[:, None], w1[g])
    keep = hi > lo
    p, k = np.nonzero(keep)
    return p, k, lo[keep], hi[keep]


def overlap_sum(
    g: np.ndarray, a: np.ndarray, b: np.ndarray, w0: np.ndarray, w1: np.ndarray
) -> np.ndarray:
    """Seconds of the intervals inside each group's windows, shape (groups, windows)."""
    n, k = w0.shape
    out = np.zeros((n, k))
    w0t = np.ascontiguousarray(w0.T)
    w1t = np.ascontiguousarray(w1.T)
    for j in range(k):
        ov = np.minimum(b, w1t[j].take(g)) - np.maximum(a, w0t[j].take(g))
        np.maximum(ov, 0.0, out=ov)
        out[:, j] = np.bincount(g, weights=ov, minlength=n)
    return out


def merge_touching(
    g: np.ndarray, a: np.ndarray, b: np.ndarray, eps: float = 1e-6
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge disjoint intervals sorted by (g, a) that touch (gap <= eps) within a group.

    Returns (group, start, end, run id of each input interval).
    """
    if a.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, np.zeros(0), np.zeros(0), e
    start_new = np.ones(a.size, dtype=bool)
    start_new[1:] = (g[1:] != g[:-1]) | (a[1:] > b[:-1] + eps)
    rid = np.cumsum(start_new) - 1
    first = np.flatnonzero(start_new)
    last = np.append(first[1:], a.size) - 1
    return g[first], a[first], b[last], rid


def subtract_one(
    a: np.ndarray, b: np.ndarray, c0: np.ndarray, c1: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove [c0, c1) from each [a, b) (NaN c0 = nothing); returns (parent, start, end)."""
    with np.errstate(invalid="ignore"):
        hit = (c0 < b) & (c1 > a)
    keep = np.flatnonzero(~hit)
    h = np.flatnonzero(hit)
    left = h[c0[h] > a[h]]
    right = h[c1[h] < b[h]]
    parent = np.concatenate([keep, left, right])
    start = np.concatenate([a[keep], a[left], c1[right]])
    end = np.concatenate([b[keep], c0[left], b[right]])
    order = np.lexsort((start, parent))
    return parent[order], start[order], end[order]


def subtract_list(
    a: float, b: float, cuts: list[tuple[float, float]] | tuple
) -> list[tuple[float, float]]:
    """Remove a few intervals from [a, b) (small, pure Python)."""
    pieces = [(a, b)]
    for c0, c1 in cuts:
        nxt = []
        for p0, p1 in pieces:
            if c1 <= p0 or c0 >= p1:
                nxt.append((p0, p1))
                continue
            if c0 > p0:
                nxt.append((p0, c0))
            if c1 < p1:
                nxt.append((c1, p1))
        pieces = nxt
    return pieces
