"""Shared helpers for geo tests: RULES.md default parameters and tiny metric worlds.

``default_params`` holds RULES.md's defaults (the lead will later switch it to the
``yangkou-2022`` profile loader). ``World`` builds WGS-84 geometry from metre offsets in
the engine's own local projection around 31.9N 121.0E, so tracks can be checked by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon

from geo.crs import project, projection_key, unproject
from geo.duty import local_instant
from geo.types import Fixes, GeoParams, WorkerDay

TZ = "Asia/Shanghai"
DAY = dt.date(2026, 3, 2)  # a Monday, an ordinary PRC working day


def default_params(**over) -> GeoParams:
    """GeoParams with RULES.md's defaults (choices marked there), overridable by keyword."""
    p = GeoParams(
        timezone=TZ,
        max_accuracy_m=100.0,  # GEO-VALID
        max_future_s=300.0,
        max_gap_s=300.0,  # GEO-INGRID
        max_speed_kmh=25.0,
        boundary_tolerance_m=20.0,
        still_radius_m=50.0,  # GEO-STILL
        still_max_s=1200.0,
        spike_speed_kmh=150.0,  # GEO-SPOOF
        frozen_min_count=10,
        frozen_min_speed_mps=1.0,
        offpost_min_s=1800.0,  # GEO-OFFPOST
        phoneoff_min_s=1800.0,  # GEO-PHONEOFF
        duty_windows=(("08:00", "12:00"), ("14:00", "18:00")),  # GEO-DUTY
        working_days="prc_workdays",  # YK-DAYS
        patrol_windows={"am": ("06:00", "12:00"), "pm": ("12:00", "20:00")},
        required_patrol_s={"head": 3600.0, "parttime": 3600.0, "fulltime": 7200.0},
        performed_min_in_grid_s=600.0,
        signin_radius_m=150.0,  # YK-SIGNIN-PLACE
        signin_max_accuracy_m=50.0,
        signin_roles=("fulltime", "parttime"),
        signin_deadline={"parttime": "09:00", "fulltime": None, "head": None},
        online_window_s=300.0,  # NB-ONLINE
        arrive_radius_m=50.0,  # NB-ARRIVE
    )
    return replace(p, **over)


def T(h: int, m: int = 0, s: float = 0.0, date: dt.date = DAY) -> float:
    """POSIX seconds of local time h:m:s on ``date`` (Asia/Shanghai)."""
    return local_instant(date, f"{h:02d}:{m:02d}", TZ) + s


class World:
    """Metre offsets (east, north) from an origin, in the engine's local projection."""

    def __init__(self, lon: float = 121.0, lat: float = 31.9):
        self.key = projection_key(lon, lat)
        ox, oy = project(np.array([lon]), np.array([lat]), self.key)
        self.ox, self.oy = float(ox[0]), float(oy[0])

    def lonlat(self, x, y):
        lon, lat = unproject(self.ox + np.asarray(x, float), self.oy + np.asarray(y, float), self.key)
        return lon, lat

    def poly(self, ring, holes=()):
        """Polygon from metre coordinates."""
        def conv(r):
            r = np.asarray(r, float)
            lon, lat = self.lonlat(r[:, 0], r[:, 1])
            return np.c_[lon, lat]

        return Polygon(conv(ring), [conv(h) for h in holes])

    def square(self, x0=0.0, y0=0.0, size=1000.0, holes=()):
        return self.poly([(x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)], holes)

    def multi(self, *polys):
        return MultiPolygon(list(polys))

    def fixes(self, t, x, y, accuracy_m=10.0, mock=None, heartbeat=None, **extra) -> Fixes:
        t = np.asarray(t, float)
        n = t.size
        lon, lat = self.lonlat(x, y) if n else (np.zeros(0), np.zeros(0))
        hb = np.zeros(n, bool) if heartbeat is None else np.asarray(heartbeat, bool)
        lon = np.where(hb, np.nan, lon)
        lat = np.where(hb, np.nan, lat)
        return Fixes(
            t=t, lon=np.asarray(lon, float), lat=np.asarray(lat, float),
            accuracy_m=np.broadcast_to(np.asarray(accuracy_m, float), (n,)).copy(),
            speed_mps=np.full(n, np.nan),
            mock=np.zeros(n, bool) if mock is None else np.asarray(mock, bool),
            is_heartbeat=hb, **extra,
        )


def worker_day(world: World, fixes: Fixes | None = None, grid=None, role="fulltime", **kw) -> WorkerDay:
    return WorkerDay(
        worker_id=kw.pop("worker_id", "w01"), date=kw.pop("date", DAY), role=role,
        grid_id=kw.pop("grid_id", "g01"), grid=grid if grid is not None else world.square(),
        fixes=fixes if fixes is not None else Fixes.empty(), **kw,
    )


@pytest.fixture
def params() -> GeoParams:
    return default_params()


@pytest.fixture
def world() -> World:
    return World()
