"""NB-ARRIVE: when a collector reached a case location after an instruction.

Arrival is the device time of the first usable fix (GEO-VALID, not GEO-SPOOF suspect) at
or after the instruction time that lies within ``arrive_radius_m`` of the case location,
measured in metres in the local projection. None if there is no such fix.
"""

from __future__ import annotations

import numpy as np

from geo.crs import project, projection_key
from geo.spoof import suspect_bits
from geo.types import Fixes, GeoParams
from geo.validity import reject_codes

RULE_ID = "NB-ARRIVE"


def arrival_time(
    fixes: Fixes, case_lon: float, case_lat: float, since_t: float, params: GeoParams
) -> float | None:
    """NB-ARRIVE: first usable fix within ``arrive_radius_m`` of the case at/after ``since_t``.

    Parameters
    ----------
    fixes : one worker's fixes (WGS-84), any order.
    case_lon, case_lat : the case location, WGS-84 degrees.
    since_t : the instruction time, POSIX seconds.

    Returns
    -------
    POSIX seconds of arrival, or None.
    """
    if len(fixes) == 0:
        return None
    pos = ~fixes.is_heartbeat.astype(bool)
    order = np.lexsort((fixes.lat, fixes.lon, fixes.t))
    order = order[pos[order]]
    t = fixes.t[order]
    lon, lat = fixes.lon[order], fixes.lat[order]
    recv = None if fixes.received_at is None else fixes.received_at[order]
    ok = reject_codes(lon, lat, fixes.accuracy_m[order], t, recv, params) == 0
    t, lon, lat, mock = t[ok], lon[ok], lat[ok], fixes.mock[order][ok]
    if t.size == 0:
        return None
    key = projection_key(case_lon, case_lat)
    x, y = project(lon, lat, key)
    usable = suspect_bits(x, y, t, mock, np.zeros(t.size, np.int64), params) == 0
    cx, cy = project(np.array([case_lon]), np.array([case_lat]), key)
    near = usable & (t >= since_t) & (np.hypot(x - cx[0], y - cy[0]) <= params.arrive_radius_m)
    hit = np.flatnonzero(near)
    return float(t[hit[0]]) if hit.size else None
