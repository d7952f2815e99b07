"""GEO-VALID and GEO-SPOOF hand-computed cases."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geo.engine import evaluate_day
from geo.types import (
    REJECT_ACCURACY,
    REJECT_FUTURE,
    REJECT_LAT_RANGE,
    REJECT_LON_RANGE,
    REJECT_NOT_FINITE,
    REJECT_NULL_ISLAND,
    SUSPECT_FROZEN,
    SUSPECT_MOCK,
    SUSPECT_SPIKE,
    Fixes,
)
from geo.validity import reject_codes
from tests.geo.conftest import T, worker_day

FIELDS = ("t", "lon", "lat", "accuracy_m", "speed_mps", "mock", "is_heartbeat")


def test_geo_valid_each_reason_counted(world, params):
    """GEO-VALID: one fix per reason is rejected and counted; good fixes and heartbeats not.

    10 fixes inside the grid 09:00-09:04:30, then we spoil 6 of them:
    #1 lat 95, #2 lon 190, #3 (0, 0), #4 accuracy 150 m > 100, #5 device time 400 s
    ahead of the server (> 300 s), #6 NaN lon. A heartbeat is added: not a rejection.
    """
    t = T(9) + np.arange(10) * 30.0
    f = world.fixes(t, np.full(10, 500.0), np.full(10, 500.0), received_at=t.copy())
    lon, lat, acc, recv = f.lon.copy(), f.lat.copy(), f.accuracy_m.copy(), f.received_at.copy()
    lat[1] = 95.0
    lon[2] = 190.0
    lon[3], lat[3] = 0.0, 0.0
    acc[4] = 150.0
    recv[5] = t[5] - 400.0
    lon[6] = np.nan
    f = dataclasses.replace(f, lon=lon, lat=lat, accuracy_m=acc, received_at=recv)
    hb = Fixes(t=np.array([T(9, 1)]), lon=np.array([np.nan]), lat=np.array([np.nan]),
               accuracy_m=np.array([np.nan]), speed_mps=np.array([np.nan]), mock=np.array([False]),
               is_heartbeat=np.array([True]), received_at=np.array([T(9, 1)]))
    f = Fixes(**{k: np.concatenate([getattr(f, k), getattr(hb, k)]) for k in FIELDS + ("received_at",)})
    r = evaluate_day(worker_day(world, f), params)
    assert r.rejected == {
        REJECT_LAT_RANGE: 1, REJECT_LON_RANGE: 1, REJECT_NULL_ISLAND: 1,
        REJECT_ACCURACY: 1, REJECT_FUTURE: 1, REJECT_NOT_FINITE: 1,
    }
    assert r.fixes_used == 4


def test_geo_spoof_spike_bridged(world, params):
    """GEO-SPOOF: a fix 5 km away for one sample is a spike and the track bridges it.

    Walk at 1 m/s inside the grid, 09:00-09:10 (21 fixes, x=100..700). Fix #10 jumps to
    x=5100: speed in and out ~5000 m / 30 s = 600 km/h > 150. Bridged segment #9 -> #11:
    60 m in 60 s, counted: in-grid stays 600 s and nothing is lost.
    """
    t = T(9) + np.arange(21) * 30.0
    x = 100 + np.arange(21) * 30.0
    x[10] = 5100.0
    r = evaluate_day(worker_day(world, world.fixes(t, x, np.full(21, 500.0))), params)
    assert len(r.suspect_fixes) == 1
    assert r.suspect_fixes[0].reasons == (SUSPECT_SPIKE,)
    assert r.suspect_fixes[0].t == t[10]
    assert r.patrols["am"].in_grid_s == 600
    assert r.patrols["am"].lost_s["suspect"] == 0


def test_geo_spoof_mock_run_lost_to_suspect(world, params):
    """GEO-SPOOF: 11 mock fixes in a row; the bridging segment lasts 360 s > 300 s gap.

    Walk 21 fixes (600 s) inside; fixes #5..#15 mocked -> bridged segment #4 -> #16 of
    360 s fails the gap test and is charged to "suspect": in-grid 600 - 360 = 240 s.
    """
    t = T(9) + np.arange(21) * 30.0
    mock = np.zeros(21, bool)
    mock[5:16] = True
    f = world.fixes(t, 100 + np.arange(21) * 30.0, np.full(21, 500.0), mock=mock)
    r = evaluate_day(worker_day(world, f), params)
    assert len(r.suspect_fixes) == 11
    assert all(s.reasons == (SUSPECT_MOCK,) for s in r.suspect_fixes)
    assert r.patrols["am"].in_grid_s == 240
    assert r.patrols["am"].lost_s["suspect"] == 360
    assert r.patrols["am"].lost_s["gap"] == 0


def test_geo_spoof_frozen_coordinates(world, params):
    """GEO-SPOOF: 10 identical coordinates while the track around moves at 1.5 m/s.

    Walk 45 m per 30 s; fixes #5..#14 all report x=325 (fix #5's place). Before the run
    (#4, x=280) to after it (#15, x=775): 495 m in 330 s = 1.5 m/s > 1.0 -> frozen.
    A phone truly lying still (no movement around) is not flagged: see GEO-STILL tests.
    """
    n = 25
    t = T(9) + np.arange(n) * 30.0
    x = 100 + np.arange(n) * 45.0
    x[5:15] = x[5]
    f = world.fixes(t, x, np.full(n, 500.0))
    r = evaluate_day(worker_day(world, f), params)
    assert len(r.suspect_fixes) == 10
    assert {s.reasons for s in r.suspect_fixes} == {(SUSPECT_FROZEN,)}
    # bridged segment #4 -> #15 lasts 330 s > max_gap_s: lost to suspect
    assert r.patrols["am"].lost_s["suspect"] == 330


def test_geo_spoof_still_phone_not_frozen(world, params):
    """GEO-SPOOF: identical coordinates with no movement around them are not suspect."""
    n = 30
    f = world.fixes(T(9) + np.arange(n) * 30.0, np.full(n, 500.0), np.full(n, 500.0))
    assert evaluate_day(worker_day(world, f), params).suspect_fixes == ()


def test_geo_valid_receive_times_must_match_the_fixes(params):
    """GEO-VALID: ``received_at`` of another length than the fixes is an error, not ignored."""

    one = np.array([121.0, 121.0])
    lat = np.array([31.9, 31.9])
    acc = np.array([5.0, 5.0])
    t = np.array([100.0, 1000.0])
    codes = reject_codes(one, lat, acc, t, np.array([100.0, 100.0]), params)
    assert codes.tolist() == [0, 6]  # 900 s ahead of its receive time: REJECT_FUTURE
    with pytest.raises(ValueError, match="received_at has 1 values for 2 fixes"):
        reject_codes(one, lat, acc, t, np.array([100.0]), params)
