"""GEO-DUTY: on-duty intervals of a worker-day (local time: :mod:`geo.localtime`).

Duty is ``duty_windows`` (local "HH:MM"-"HH:MM") on working days (YK-DAYS), minus approved
exemptions that remove duty: ``sick_leave``, ``personal_leave``, ``special`` and a
``field_duty`` without a place. A ``field_duty`` *with* a place keeps the duty but makes
that place an allowed zone during the exemption (GEO-OFFPOST). Times are POSIX seconds;
local times are read in the profile's timezone (zoneinfo), so DST-free Asia/Shanghai and
any other zone work alike. "24:00" means the next midnight.
"""

from __future__ import annotations

import numpy as np

from geo.intervals import subtract_list
from geo.localtime import day_bounds, local_instant  # noqa: F401  (re-exported: the engine's names)
from geo.types import Exemption, Place, WorkerDay

RULE_ID = "GEO-DUTY"


def removes_duty(e: Exemption) -> bool:
    """True if an approved exemption removes duty (leave, special, field duty w/o place)."""
    return e.kind != "field_duty" or e.place is None


def duty_intervals(
    day: WorkerDay, windows: tuple[tuple[str, str], ...], tz: str, working: bool
) -> list[tuple[float, float]]:
    """GEO-DUTY: sorted on-duty intervals of the day after removing exemptions."""
    if not working:
        return []
    base = [(local_instant(day.date, a, tz), local_instant(day.date, b, tz)) for a, b in windows]
    base.sort()
    cuts = [(e.start, e.end) for e in day.exemptions if removes_duty(e)]
    out: list[tuple[float, float]] = []
    for a, b in base:
        out.extend(subtract_list(a, b, cuts) if cuts else [(a, b)])
    return [(a, b) for a, b in out if b > a]


def duty_table(duty: list[list[tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    """Per-worker duty intervals as two (workers, k) arrays of starts and ends, padded
    with empty (0, 0) intervals."""
    kd = max(1, max((len(iv) for iv in duty), default=0))
    d0 = np.zeros((len(duty), kd))
    d1 = np.zeros((len(duty), kd))
    for i, iv in enumerate(duty):
        for j, (a, b) in enumerate(iv):
            d0[i, j], d1[i, j] = a, b
    return d0, d1


def allowed_places(day: WorkerDay) -> list[tuple[Place, float, float]]:
    """Approved field-duty places with the interval in which each is allowed (GEO-OFFPOST)."""
    return [(e.place, e.start, e.end) for e in day.exemptions if e.kind == "field_duty" and e.place]


def covering_exemption(day: WorkerDay, intervals: list[tuple[float, float]]) -> str | None:
    """Kind of the approved exemption(s) covering all of ``intervals``, else None."""
    if not day.exemptions or not intervals:
        return None
    cuts = [(e.start, e.end) for e in day.exemptions]
    for a, b in intervals:
        if subtract_list(a, b, cuts):
            return None
    # name the exemption with the largest overlap
    def ov(e: Exemption) -> float:
        return sum(max(0.0, min(b, e.end) - max(a, e.start)) for a, b in intervals)

    return max(day.exemptions, key=ov).kind
