"""Helpers for half-open time intervals [a, b).

No rule of its own: a building block of GEO-PHONEOFF (GEO-OFFPOST's and NB-ONLINE's
interval arithmetic is compiled in ``geo.offpost`` and ``geo.online``). Times are POSIX seconds.
"""

from __future__ import annotations


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
