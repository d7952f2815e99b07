"""GEO-SIGNIN / YK-SIGNIN-PLACE / YK-LOG deadline, YK-PATROL*, GEO-DUTY, YK-DAYS cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from geo.engine import evaluate_day
from geo.types import Exemption, Interval, Place, SignIn
from tests.geo.conftest import T, worker_day


@pytest.fixture
def office(world):
    lon, lat = world.lonlat(-200.0, 500.0)
    return Place(float(lon), float(lat), 150.0)


def signin_at(world, t, x, y, acc):
    lon, lat = world.lonlat(x, y)
    return SignIn(t=t, lon=float(lon), lat=float(lat), accuracy_m=acc)


def test_geo_signin_place_radius_plus_accuracy(world, params, office):
    """YK-SIGNIN-PLACE: 180 m from the office with accuracy 40 m: 180 <= 150 + 40 -> ok.

    Without accuracy the limit is 150 m -> outside. Accuracy 90 m is capped at 50 m:
    180 <= 200 -> ok; 210 m with accuracy 90 -> 210 > 200 -> outside.
    """
    def status(dist, acc):
        s = signin_at(world, T(8, 30), -200.0 + dist, 500.0, acc)
        r = evaluate_day(worker_day(world, office=office, signins=(s,)), params)
        return r.signin

    assert status(180.0, 40.0).status == "ok"
    assert status(180.0, 40.0).distance_m == pytest.approx(180.0, abs=0.01)
    assert status(180.0, None).status == "outside"
    assert status(180.0, 90.0).status == "ok"
    assert status(210.0, 90.0).status == "outside"


def test_yk_log_parttime_deadline_and_first_valid(world, params, office):
    """YK-LOG / GEO-SIGNIN: parttime deadline 09:00; the first *valid* sign-in counts.

    08:30 outside (1 km away), 09:05 inside -> counted at 09:05 -> late for parttime, ok for
    fulltime (no deadline); head is not in signin_roles -> not_required.
    """
    sig = (signin_at(world, T(8, 30), 800.0, 500.0, 10.0), signin_at(world, T(9, 5), -200.0, 500.0, 10.0))
    res = {
        role: evaluate_day(worker_day(world, role=role, office=office, signins=sig), params).signin
        for role in ("parttime", "fulltime", "head")
    }
    assert res["parttime"].status == "late" and res["parttime"].at == T(9, 5)
    assert res["fulltime"].status == "ok"
    assert res["head"].status == "not_required"


def test_geo_signin_missing_holiday_and_exempt_day(world, params, office):
    """GEO-SIGNIN: none -> missing; holiday -> not_required; leave covering duty -> not_required."""
    assert evaluate_day(worker_day(world, office=office), params).signin.status == "missing"
    hol = evaluate_day(worker_day(world, office=office, date=dt.date(2026, 2, 17)), params)
    assert hol.signin.status == "not_required"
    leave = Exemption(start=T(0), end=T(23, 59), kind="sick_leave")
    r = evaluate_day(worker_day(world, office=office, exemptions=(leave,)), params)
    assert r.signin.status == "not_required"
    assert r.duty_s == 0


def inside_for(world, start, seconds):
    """A walk inside the grid from ``start`` lasting ``seconds`` (n fixes, n-1 segments)."""
    n = int(seconds // 30) + 1
    k = np.arange(n)
    # back and forth in 60 m legs (2 m/s) between x=200 and 740: no 20-min stay forms
    tri = np.where(k % 18 < 9, k % 18, 18 - k % 18)
    return world.fixes(start + k * 30.0, 200 + tri * 60.0, np.full(n, 500.0))


@pytest.mark.parametrize(
    ("seconds", "session", "role", "status"),
    [
        (7230, False, "fulltime", "ok"),  # 7200 s >= 7200 required (YK-PATROL-DURATION)
        (3630, False, "fulltime", "short"),  # 3600 s < 7200 but >= 600: performed
        (3630, False, "parttime", "ok"),  # parttime needs 3600 s
        (300, True, "fulltime", "short"),  # started in the app: performed
        (300, False, "fulltime", "missing"),  # 300 s < 600 s and no session
    ],
)
def test_yk_patrol_statuses(world, params, seconds, session, role, status):
    """YK-PATROL / -DURATION / -PERFORMED: in-grid seconds of the am window decide."""
    f = inside_for(world, T(6, 30), seconds)
    sessions = (Interval(T(7), T(8)),) if session else ()
    r = evaluate_day(worker_day(world, f, role=role, patrol_sessions=sessions), params)
    assert r.patrols["am"].status == status
    assert r.patrols["am"].started_in_app is session
    assert r.patrols["pm"].status == "missing"


def test_yk_patrol_exempt_and_not_required(world, params):
    """YK-PATROL: leave covering the morning duty (08:00-12:00) exempts am only; holiday."""
    leave = Exemption(start=T(8), end=T(12), kind="personal_leave")
    r = evaluate_day(worker_day(world, exemptions=(leave,)), params)
    assert r.patrols["am"].status == "exempt" and r.patrols["am"].exemption == "personal_leave"
    assert r.patrols["pm"].status == "missing"
    # GEO-DUTY: leave removes 4 h of duty
    assert r.duty_s == 4 * 3600
    hol = evaluate_day(worker_day(world, date=dt.date(2026, 2, 17)), params)
    assert {p.status for p in hol.patrols.values()} == {"not_required"}
    assert hol.working_day is False


def test_yk_days_adjusted_working_sunday(world, params):
    """YK-DAYS: Sunday 2025-01-26 is an adjusted working day: patrols and duty required."""
    r = evaluate_day(worker_day(world, date=dt.date(2025, 1, 26)), params)
    assert r.working_day is True and r.duty_s == 28800
    assert r.patrols["am"].status == "missing"


def test_geo_duty_partial_leave(world, params):
    """GEO-DUTY: leave 10:00-11:00 -> duty 08-10, 11-12, 14-18 = 7 h = 25200 s."""
    leave = Exemption(start=T(10), end=T(11), kind="sick_leave")
    r = evaluate_day(worker_day(world, exemptions=(leave,)), params)
    assert r.duty_s == 25200
    # phone-off follows duty: the silent day is 3 pieces, none in 10-11
    assert [(p.start, p.end) for p in r.phone_off] == [(T(8), T(10)), (T(11), T(12)), (T(14), T(18))]
