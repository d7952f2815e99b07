"""Properties: capped items stay within [0, points]; an exemption never lowers a score;
the order of the inputs changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.day import day_deductions
from scoring.items import parse_period
from scoring.profiles import load_profile
from scoring.score import score
from tests.scoring.builders import day, item, worker

PROFILES = {name: load_profile(name) for name in ("yangkou-2022", "quanshan-positioning", "ningbo-district")}
Q1 = parse_period("2026Q1")
STATUS = st.sampled_from(["ok", "short", "missing", "exempt", "not_required"])
SIGNIN = st.sampled_from(["ok", "late", "missing", "outside", "not_required"])
ROLE = st.sampled_from(["head", "fulltime", "parttime"])
DATES = [dt.date(2026, 1, 5) + dt.timedelta(days=7 * k) for k in range(12)]
FINDINGS = [("YK-DRESS", "dress_not_worn"), ("YK-SAFETY", "report_hidden"), ("YK-HAZARD", "hazard_serious"),
            ("YK-CASE-SLA", "case_no_result_in_time"), ("YK-LOG", "daily_report_missing"),
            ("YK-ATT", "absent_half_day"), ("YK-BONUS", "major_lead")]


@st.composite
def worker_days(draw, worker_id: str = "w01", role: str | None = None):
    role = role or draw(ROLE)
    n = draw(st.integers(0, len(DATES)))
    out = []
    for d in DATES[:n]:
        offs = draw(st.lists(st.integers(8, 16), max_size=2, unique=True))
        out.append(day(worker_id, d, role, "v01", am=draw(STATUS), pm=draw(STATUS), signin=draw(SIGNIN),
                       started_in_app=draw(st.booleans()), phone_off=[(h, 0, h, 45) for h in offs],
                       online_rate=draw(st.floats(0, 1)), duty_s=draw(st.integers(0, 28800))))
    return out


@st.composite
def findings(draw, worker_id: str = "w01"):
    out = []
    for k in range(draw(st.integers(0, 6))):
        rule, code = draw(st.sampled_from(FINDINGS))
        out.append(item(worker_id, rule, code, draw(st.integers(1, 40)), date="2026-02-02", item_id=f"f{k}"))
    return out


@settings(max_examples=60, deadline=None)
@given(worker_days(), findings(), st.sampled_from(sorted(PROFILES)))
def test_a_capped_item_stays_within_zero_and_its_points(days, its, name) -> None:
    profile = PROFILES[name]
    its = [i for i in its if i.rule in profile.rules]
    res = score(profile, Q1 if "quarter" in profile.periods else parse_period("2026-02"), days, its,
                {"w01": worker("w01", days[0].result.role if days else "parttime")})
    for s in res.sheets:
        for it in s.items:
            if it.max_points is not None:
                assert 0 <= it.points <= it.max_points, (it.rule, it.points)


@settings(max_examples=80, deadline=None)
@given(worker_days(), st.data())
def test_an_exemption_never_lowers_a_score(days, data) -> None:
    if not days:
        return
    k = data.draw(st.integers(0, len(days) - 1))
    window = data.draw(st.sampled_from(["am", "pm"]))
    r = days[k].result
    exempted = dataclasses.replace(r, patrols={**r.patrols, window: dataclasses.replace(r.patrols[window],
                                                                                         status="exempt")})
    for profile in PROFILES.values():
        before = sum(d.points for d in day_deductions(r, profile))
        after = sum(d.points for d in day_deductions(exempted, profile))
        assert after >= before
    yk = PROFILES["yangkou-2022"]
    new_days = [*days[:k], dataclasses.replace(days[k], result=exempted), *days[k + 1:]]
    a = score(yk, Q1, days, []).by_subject()["w01"].total
    b = score(yk, Q1, new_days, []).by_subject()["w01"].total
    assert b >= a


@settings(max_examples=40, deadline=None)
@given(worker_days("w01", "parttime"), worker_days("w02", "parttime"), findings("w01"), findings("w02"),
       st.randoms(use_true_random=False))
def test_reordering_inputs_changes_nothing(d1, d2, f1, f2, rnd) -> None:
    f2 = [dataclasses.replace(i, item_id="b" + i.item_id) for i in f2]
    days, its = d1 + d2, f1 + f2
    yk = PROFILES["yangkou-2022"]
    a = score(yk, Q1, days, its).to_json()
    rnd.shuffle(days)
    rnd.shuffle(its)
    assert score(yk, Q1, days, its).to_json() == a
