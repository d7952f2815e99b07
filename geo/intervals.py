"""Vectorised helpers for sets of half-open time intervals [a, b) owned by groups (workers).

No rule of its own: building blocks of GEO-PHONEOFF and NB-ONLINE (GEO-OFFPOST's
interval arithmetic is compiled in ``geo.offpost``). Times are POSIX seconds.
"""

from __future__ import annotations

import numpy as np


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
