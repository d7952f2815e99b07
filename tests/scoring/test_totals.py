"""Period totals after caps (扣完为止), with the trail of contributing days."""

from __future__ import annotations

import datetime as dt

from scoring.day import Deduction
from scoring.profiles import load_profile
from scoring.totals import period_key, period_totals, totals_json, trail_json

YK = load_profile("yangkou-2022")
QS = load_profile("quanshan-positioning")
MISSING = Deduction("YK-PATROL", -0.5, "morning patrol missing")
LOG = Deduction("YK-LOG", -0.2, "no sign-in at the village office")


def dates(start: dt.date, n: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(n)]


def test_period_keys() -> None:
    d = dt.date(2026, 5, 31)
    assert (period_key(d, "month"), period_key(d, "quarter"), period_key(d, "year")) == (
        "2026-05", "2026Q2", "2026")
    assert period_key(d, None) == "range"


def test_forty_missing_patrols_are_capped_at_minus_15() -> None:
    # 20 days x 2 missing patrols = 40 x -0.5 = -20 raw; YK-PATROL cap 15 per quarter -> -15
    days = [("w01", d, [MISSING, MISSING]) for d in dates(dt.date(2026, 1, 5), 20)]
    totals = period_totals(days, YK)
    t = totals["w01"]["YK-PATROL"]
    assert (t.raw_points, t.points) == (-20.0, -15.0)
    assert len(t.periods) == 1 and t.periods[0].period == "2026Q1" and t.periods[0].capped
    assert len(t.periods[0].days) == 20 and t.periods[0].days[0] == (dt.date(2026, 1, 5), -1.0)
    assert totals_json(totals) == {"w01": {"YK-PATROL": -15.0, "YK-LOG": 0.0, "YK-SAFETY": 0.0}}


def test_caps_apply_per_quarter_across_a_range() -> None:
    # Q1: 20 days x -1 = -20 -> -15; Q2: 3 days x -0.5 = -1.5 (under the cap). Total -16.5.
    q1 = [("w01", d, [MISSING, MISSING]) for d in dates(dt.date(2026, 3, 1), 20)]
    q2 = [("w01", d, [MISSING]) for d in dates(dt.date(2026, 4, 1), 3)]
    t = period_totals(q1 + q2, YK)["w01"]["YK-PATROL"]
    assert [(p.period, p.raw_points, p.points) for p in t.periods] == [
        ("2026Q1", -20.0, -15.0), ("2026Q2", -1.5, -1.5)]
    assert t.points == -16.5


def test_decimal_arithmetic_and_log_cap() -> None:
    # 3 x -0.2 is exactly -0.6 (not -0.6000000000000001); 16 x -0.2 = -3.2 -> cap 3 -> -3
    three = period_totals([("w01", d, [LOG]) for d in dates(dt.date(2026, 1, 5), 3)], YK)
    assert three["w01"]["YK-LOG"].points == -0.6
    sixteen = period_totals([("w01", d, [LOG]) for d in dates(dt.date(2026, 1, 5), 16)], YK)
    assert (sixteen["w01"]["YK-LOG"].raw_points, sixteen["w01"]["YK-LOG"].points) == (-3.2, -3.0)


def test_qs_pos_cap_is_monthly() -> None:
    # 12 occurrences in March (-12 -> -10) and 4 in April (-4): -14 over the range
    pos = Deduction("QS-POS", -1, "off post")
    days = [("w01", d, [pos, pos, pos]) for d in dates(dt.date(2026, 3, 2), 4)]
    days += [("w01", d, [pos]) for d in dates(dt.date(2026, 4, 1), 4)]
    t = period_totals(days, QS)["w01"]["QS-POS"]
    assert [(p.period, p.points) for p in t.periods] == [("2026-03", -10.0), ("2026-04", -4.0)]
    assert t.points == -14.0


def test_workers_without_deductions_get_zeros_and_order_does_not_matter() -> None:
    days = [("w02", dt.date(2026, 1, 6), [MISSING]), ("w02", dt.date(2026, 1, 5), [LOG, MISSING])]
    a = period_totals(days, YK, workers=["w01", "w02"])
    b = period_totals(list(reversed(days)), YK, workers=["w02", "w01"])
    assert totals_json(a) == totals_json(b) == {
        "w01": {"YK-PATROL": 0.0, "YK-LOG": 0.0, "YK-SAFETY": 0.0},
        "w02": {"YK-PATROL": -1.0, "YK-LOG": -0.2, "YK-SAFETY": 0.0},
    }
    trail = trail_json(a)["w02"]["YK-PATROL"]
    assert trail["cap"] == 15 and trail["cap_period"] == "quarter"
    assert trail["periods"][0]["days"] == [
        {"date": "2026-01-05", "points": -0.5}, {"date": "2026-01-06", "points": -0.5}]


# ---------------------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_deduction = st.sampled_from([MISSING, Deduction("YK-PATROL", -1, "short"), LOG])
_day = st.tuples(
    st.sampled_from(["w01", "w02"]),
    st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)),
    st.lists(_deduction, max_size=4),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_day, max_size=60), st.randoms())
def test_caps_hold_and_order_does_not_matter(days, rnd) -> None:
    totals = period_totals(days, YK)
    shuffled = list(days)
    rnd.shuffle(shuffled)
    assert totals_json(period_totals(shuffled, YK)) == totals_json(totals)
    for wid, rules in totals.items():
        for rid, t in rules.items():
            cap = YK.rules[rid].cap
            raw = sum(
                (d.points for w, _, ds in days if w == wid for d in ds if d.rule == rid), 0.0)
            assert abs(t.raw_points - raw) < 1e-9
            for p in t.periods:
                assert p.points >= -cap  # never more than the item's points (扣完为止)
                assert p.points == max(p.raw_points, -cap)
            assert abs(t.points - sum(p.points for p in t.periods)) < 1e-9
            assert t.points >= t.raw_points
