"""NB-ARRIVE hand-computed case."""

from __future__ import annotations

import numpy as np

from geo.arrival import arrival_time
from tests.geo.conftest import T


def test_nb_arrive_first_fix_within_radius(world, params):
    """NB-ARRIVE: case at (790, 500); walk east from x=0 at 1 m/s from 09:00, fix every 30 s.

    First fix within 50 m: x=750 (40 m short) at 09:12:30; x=720 is 70 m short. If that fix is mocked (GEO-SPOOF), the next
    one, x=780 at 09:13:00. Fixes before the instruction time do not count.
    """
    t = T(9) + np.arange(40) * 30.0
    x = np.arange(40) * 30.0
    lon, lat = world.lonlat(790.0, 500.0)
    f = world.fixes(t, x, np.full(40, 500.0))
    assert arrival_time(f, float(lon), float(lat), T(9), params) == T(9, 12, 30)
    mock = np.zeros(40, bool)
    mock[25] = True
    f2 = world.fixes(t, x, np.full(40, 500.0), mock=mock)
    assert arrival_time(f2, float(lon), float(lat), T(9), params) == T(9, 13)
    assert arrival_time(f, float(lon), float(lat), T(9, 30), params) is None
    empty = world.fixes([], [], [])
    assert arrival_time(empty, float(lon), float(lat), T(9), params) is None


def test_own_report_of_a_grid_case_same_category_within_near_m():
    from geo.arrival import own_report_s
    from geo.types import CaseRecord

    lon, lat = 121.0, 31.9
    dlat_100m = 100.0 / 111_320.0  # ~100 m north
    found = CaseRecord("g1", "grid", 1_000_000.0, lon, lat, valid=True, category="安全隐患")
    near = CaseRecord("r1", "report", 1_003_600.0, lon, lat + 0.9 * dlat_100m, category="安全隐患")
    far = CaseRecord("r2", "report", 1_000_600.0, lon, lat + 1.5 * dlat_100m, category="安全隐患")
    other = CaseRecord("r3", "report", 1_000_060.0, lon, lat, category="矛盾纠纷")
    rejected = CaseRecord("r4", "report", 1_000_030.0, lon, lat, valid=False, category="安全隐患")
    assert own_report_s(found, [near, far, other, rejected], 100.0) == 3600  # the near one, 1 h after
    assert own_report_s(found, [far, other, rejected], 100.0) is None
    earlier = CaseRecord("r5", "report", 999_400.0, lon, lat, category="安全隐患")
    assert own_report_s(found, [near, earlier], 100.0) == -600  # the worker reported it first
