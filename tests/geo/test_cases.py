"""NB-ARRIVE per instruction and NB-VOLUME counts per worker-day, hand-computed.

The case lies at (1000, 500) m in the test world; the instruction comes at 09:00 on a
Monday (on duty 08:00-12:00). Fixes walk along y = 500 so the distance is 1000 - x.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from geo.arrival import cases_json, count_reports, judge_cases
from geo.types import CaseRecord
from tests.geo.conftest import DAY, T

LIMIT_S = 1200.0  # NB-ARRIVE params.within_s of the ningbo-district profile


def _case(world, at, cid="c1", x=1000.0, y=500.0, **kw):
    lon, lat = world.lonlat(x, y)
    return CaseRecord(case_id=cid, kind="instruction", created_at=at, lon=float(lon), lat=float(lat), **kw)


def _walk(world, times, xs, mock=None):
    return world.fixes(np.asarray(times, float), np.asarray(xs, float), np.full(len(xs), 500.0), mock=mock)


def test_arrival_exactly_50m_at_exactly_20_min_is_ok(world, params):
    # 09:19 at 80 m, 09:20:00 at exactly 50 m -> arrival 09:20:00, 1200 s: ok (boundary included)
    f = _walk(world, [T(9, 18, 30), T(9, 19), T(9, 20)], [900.0, 920.0, 950.0])
    (v,) = judge_cases(f, [_case(world, T(9))], params, LIMIT_S)
    assert (v.arrived_at, v.arrival_s, v.arrival, v.on_duty) == (T(9, 20), 1200, "ok", True)


def test_arrival_one_second_after_20_min_is_late_and_just_outside_50m_is_none(world, params):
    f = _walk(world, [T(9, 19), T(9, 20, 1)], [920.0, 950.0])
    (v,) = judge_cases(f, [_case(world, T(9))], params, LIMIT_S)
    assert (v.arrival_s, v.arrival) == (1201, "late")
    g = _walk(world, [T(9, 19), T(9, 20)], [920.0, 949.9])  # 50.1 m: never within 50 m
    (w,) = judge_cases(g, [_case(world, T(9))], params, LIMIT_S)
    assert (w.arrived_at, w.arrival_s, w.arrival) == (None, None, "none")


def test_mock_fix_inside_the_radius_is_not_an_arrival(world, params):
    # 09:10 at 10 m but the phone's mock-location flag is set (GEO-SPOOF): not an arrival;
    # the next usable fix inside the radius is 09:25 at 20 m -> 1500 s, late
    f = _walk(world, [T(9, 9), T(9, 10), T(9, 24), T(9, 25)], [900.0, 990.0, 900.0, 980.0],
              mock=[False, True, False, False])
    (v,) = judge_cases(f, [_case(world, T(9))], params, LIMIT_S)
    assert (v.arrived_at, v.arrival_s, v.arrival) == (T(9, 25), 1500, "late")


def test_fixes_before_the_instruction_or_on_the_next_day_do_not_count(world, params):
    f = _walk(world, [T(8, 50), T(23, 50), T(0, 10, date=DAY + dt.timedelta(days=1))],
              [1000.0, 800.0, 1000.0])
    (v,) = judge_cases(f, [_case(world, T(9))], params, LIMIT_S)
    assert v.arrival == "none"


def test_instruction_outside_duty_hours_is_judged_but_marked_off_duty(world, params):
    # 19:00 is after the 14:00-18:00 window: the arrival is measured (600 s), on_duty False
    f = _walk(world, [T(19, 10)], [1000.0])
    (v,) = judge_cases(f, [_case(world, T(19))], params, LIMIT_S)
    assert (v.arrival_s, v.arrival, v.on_duty) == (600, "ok", False)
    (w,) = judge_cases(f, [_case(world, T(12, 30))], params, LIMIT_S)  # lunch break: off duty
    assert w.on_duty is False


def test_reports_total_and_valid(world):
    def rep(cid, valid):
        return CaseRecord(case_id=cid, kind="report", created_at=T(10), lon=121.0, lat=31.9, valid=valid)

    n = count_reports([rep("r1", True), rep("r2", False), rep("r3", None), rep("r4", True),
                       _case(world, T(9))])
    assert (n.total, n.valid, n.valid_ids) == (4, 2, ("r1", "r4"))


def test_cases_json_keeps_the_record_and_the_verdict(world, params):
    f = _walk(world, [T(9, 14)], [1000.0])
    vs = judge_cases(f, [_case(world, T(9), complex=True)], params, LIMIT_S)
    (e,) = cases_json(vs, params.timezone)
    assert e["created_at"] == "2026-03-02T09:00:00+08:00"
    assert (e["arrived_at"], e["arrival_s"], e["arrival"], e["complex"]) == (
        "2026-03-02T09:14:00+08:00", 840, "ok", True)
