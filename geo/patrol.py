"""YK-PATROL, YK-PATROL-DURATION, YK-PATROL-WINDOWS, YK-PATROL-PERFORMED.

For each patrol window (local times from ``patrol_windows``, e.g. am 06:00-12:00 and pm
12:00-20:00), only the in-grid time inside the window counts (GEO-INGRID, after GEO-STILL).

Decision table, first matching row wins:

==== ======================================================================= ==============
row  condition                                                               status
==== ======================================================================= ==============
1    not a working day (YK-DAYS)                                             not_required
2    in-grid seconds >= ``required_patrol_s[role]`` (YK-PATROL-DURATION)     ok
3    approved exemptions cover the window's duty time (or, if the window has exempt
     no duty time, the whole window); the kind with most overlap is named
4    performed: a patrol session started in the app in the window, or        short
     in-grid seconds >= ``performed_min_in_grid_s`` (YK-PATROL-PERFORMED)
5    otherwise                                                               missing
==== ======================================================================= ==============
"""

from __future__ import annotations

from geo.types import PatrolStatus

RULE_ID = "YK-PATROL"
DURATION_RULE_ID = "YK-PATROL-DURATION"
WINDOWS_RULE_ID = "YK-PATROL-WINDOWS"
PERFORMED_RULE_ID = "YK-PATROL-PERFORMED"


def patrol_status(
    *,
    working: bool,
    in_grid_s: float,
    required_s: float,
    exemption: str | None,
    started_in_app: bool,
    performed_min_s: float,
) -> PatrolStatus:
    """YK-PATROL status of one window (see the module's decision table)."""
    if not working:
        return "not_required"
    if in_grid_s >= required_s:
        return "ok"
    if exemption is not None:
        return "exempt"
    if started_in_app or in_grid_s >= performed_min_s:
        return "short"
    return "missing"
