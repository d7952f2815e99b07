"""One hand-computed case per rule id of the three profiles (arithmetic in the comments)."""

from __future__ import annotations

import datetime as dt

import pytest

from scoring.items import parse_period
from scoring.period import Sheet, num, step_points, survey_points
from scoring.profiles import load_profile, with_sources
from scoring.score import score
from tests.scoring.builders import day, item, worker

YK = load_profile("yangkou-2022")
QS = load_profile("quanshan-positioning")
NB = load_profile("ningbo-district")
# the entered fallback (a township running its cases in another system types in the counts)
YK_ENTERED = with_sources(YK, {"YK-CASE-SLA": "entered"})
NB_ENTERED = with_sources(NB, {"NB-ARRIVE": "entered", "NB-VOLUME": "entered"})
Q1 = parse_period("2026Q1")
MAR = dt.date(2026, 3, 2)


def survey(wid: str, rate: str = "1", period: str = "2026Q1") -> list:
    return [item(wid, "YK-SURVEY", s, rate, period=period) for s in ("awareness", "coverage", "satisfaction")]


def one(days, items=(), profile=YK, period=Q1, roster=None, sid="w01") -> Sheet:
    return score(profile, period, days, list(items), roster).by_subject()[sid]


def pts(sheet: Sheet, rule: str):
    return num(sheet.item_points(rule))


def dates(n: int, start: dt.date = dt.date(2026, 1, 5)) -> list[dt.date]:
    out, d = [], start
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


# ---------------------------------------------------------------- yangkou-2022: patrol part
def test_yk_patrol_deductions_and_cap() -> None:
    # 3 days: am missing (-0.5) + pm short (-1) each -> -4.5; 15 - 4.5 = 10.5
    s = one([day(date=d, am="missing", pm="short") for d in dates(3)], survey("w01"))
    assert pts(s, "YK-PATROL") == 10.5
    assert [num(t.points) for t in s.item("YK-PATROL").trail] == [-0.5, -1] * 3
    # 12 such days: -18 raw, stopped at the item's 15 points (扣完为止) -> 0
    s = one([day(date=d, am="missing", pm="short") for d in dates(12)], survey("w01"))
    item_ = s.item("YK-PATROL")
    assert (num(item_.raw_points), pts(s, "YK-PATROL"), item_.capped) == (-18, 0, True)


def test_yk_patrol_exempt_window_costs_nothing() -> None:
    # an approved exemption makes the window "exempt": no YK-PATROL and no YK-LOG entry
    s = one([day(date=MAR, role="fulltime", am="exempt", pm="exempt", started_in_app=False)],
            survey("w01"), roster={"w01": worker("w01", "fulltime")})
    assert (pts(s, "YK-PATROL"), pts(s, "YK-LOG")) == (15, 3)


def test_yk_parameter_rules_carry_the_rules_md_defaults() -> None:
    g = YK.geo_params()
    assert g.required_patrol_s == {"head": 3600, "fulltime": 7200, "parttime": 3600}  # YK-PATROL-DURATION
    assert g.patrol_windows == {"am": ("06:00", "12:00"), "pm": ("12:00", "20:00")}  # YK-PATROL-WINDOWS
    assert g.performed_min_in_grid_s == 600  # YK-PATROL-PERFORMED
    assert (g.signin_radius_m, g.signin_max_accuracy_m) == (150, 50)  # YK-SIGNIN-PLACE
    assert g.working_days == "prc_workdays"  # YK-DAYS
    for rid in ("YK-PATROL-DURATION", "YK-PATROL-WINDOWS", "YK-PATROL-PERFORMED", "YK-SIGNIN-PLACE", "YK-DAYS"):
        assert YK.rules[rid].kind == "parameter" and YK.rules[rid].geo_params


def test_yk_dress_capped_at_two() -> None:
    # 3 findings -> -1.5 -> 0.5 points; 5 findings -> -2.5 stopped at -2 -> 0
    s = one([day(date=MAR)], [*survey("w01"), item("w01", "YK-DRESS", "dress_not_worn", 3, date="2026-03-03")])
    assert pts(s, "YK-DRESS") == 0.5
    s = one([day(date=MAR)], [*survey("w01"), item("w01", "YK-DRESS", "dress_not_worn", 5, date="2026-03-03")])
    assert pts(s, "YK-DRESS") == 0


def test_yk_log_head_patrol_logs_and_parttime_signin_and_report() -> None:
    # head: 3 days without a patrol session in the app: 6 windows x -0.2 = -1.2 -> 1.8
    s = one([day(date=d, role="head", started_in_app=False) for d in dates(3)], survey("w01"),
            roster={"w01": worker("w01", "head")})
    assert pts(s, "YK-LOG") == 1.8
    # parttime: 2 late sign-ins (-0.4) + 1 missing daily report (-0.2) -> 2.4; the patrol
    # session rule is for head/fulltime only
    days = [day(date=d, signin="late", started_in_app=False) for d in dates(2)]
    its = [*survey("w01"), item("w01", "YK-LOG", "daily_report_missing", date="2026-01-05")]
    assert pts(one(days, its), "YK-LOG") == 2.4
    # a daily report item entered for a head is shown but not charged (parttime only)
    s = one([day(date=MAR, role="head")], [*survey("w01"), item("w01", "YK-LOG", "daily_report_late", date="2026-03-02")],
            roster={"w01": worker("w01", "head")})
    assert pts(s, "YK-LOG") == 3 and s.item("YK-LOG").trail[0].charged is False


# ---------------------------------------------------------------- survey tiers
@pytest.mark.parametrize(("rate", "points"), [
    ("1", 10), ("100%", 10), ("0.9999", 8), ("0.9", 8), ("0.8999", 6), ("0.8", 6), ("0.7999", 4),
    ("0.7", 4), ("0.6999", 2), ("0.6", 2), ("0.5999", 0), ("0", 0),
])
def test_yk_survey_tier_at_each_boundary(rate: str, points: int) -> None:
    from checkins.formats.items import _value

    assert num(survey_points(YK.rules["YK-SURVEY"].params, _value(rate))[0]) == points


def test_yk_survey_three_rates() -> None:
    # 知晓率 95% -> 8, 覆盖率 100% -> 10, 满意率 monthly 80% and 90% -> mean 85% -> 6: 24 of 30
    its = [item("w01", "YK-SURVEY", "awareness", "0.95", period="2026Q1"),
           item("w01", "YK-SURVEY", "coverage", "1", period="2026Q1"),
           item("w01", "YK-SURVEY", "satisfaction", "0.8", period="2026-01"),
           item("w01", "YK-SURVEY", "satisfaction", "0.9", period="2026-02")]
    s = one([day(date=MAR)], its)
    assert pts(s, "YK-SURVEY") == 24
    assert s.item("YK-SURVEY").detail["satisfaction"] == {"rate": 0.85, "points": 6}


def test_yk_survey_missing_rate_marks_the_sheet_incomplete() -> None:
    s = one([day(date=MAR)], [])
    assert pts(s, "YK-SURVEY") == 0 and len(s.incomplete) == 3 and not s.vetoed


# ---------------------------------------------------------------- responsibility
def test_yk_safety_hazard_case_sla() -> None:
    its = [*survey("w01"),
           item("w01", "YK-SAFETY", "report_late", 3, date="2026-01-10"),        # -0.3
           item("w01", "YK-SAFETY", "report_missed", 1, date="2026-01-11"),      # -0.2
           item("w01", "YK-SAFETY", "report_hidden", 1, date="2026-02-01"),      # -0.5
           item("w01", "YK-SAFETY", "false_location", 2, date="2026-02-02"),     # -1.0 (乱定位 confirmed)
           item("w01", "YK-SAFETY", "criminal_case_over_last_year", 1, period="2026Q1"),  # -1
           item("w01", "YK-HAZARD", "hazard_hidden_or_missed", 2, date="2026-03-01"),     # -2
           item("w01", "YK-HAZARD", "hazard_serious", 1, date="2026-03-05"),              # -3
           item("w01", "YK-CASE-SLA", "case_not_handled", 3, date="2026-03-06"),          # -1.5
           item("w01", "YK-CASE-SLA", "case_no_result_in_time", 2, date="2026-03-07")]    # -2
    s = one([day(date=MAR)], its, profile=YK_ENTERED)
    # 15 - 3.0 = 12; 25 - 5 = 20; 10 - 3.5 = 6.5
    assert (pts(s, "YK-SAFETY"), pts(s, "YK-HAZARD"), pts(s, "YK-CASE-SLA")) == (12, 20, 6.5)
    ids = {t.evidence["item_id"] for t in s.item("YK-SAFETY").trail}
    assert len(ids) == 5


def test_yk_hazard_stops_at_zero() -> None:
    # 9 serious cases: -27 raw, the item has 25 -> 0
    s = one([day(date=MAR)], [*survey("w01"), item("w01", "YK-HAZARD", "hazard_serious", 9, date="2026-03-05")])
    assert (pts(s, "YK-HAZARD"), num(s.item("YK-HAZARD").raw_points)) == (0, -27)


# ---------------------------------------------------------------- attendance, bonus, veto
def test_yk_att_uncapped_with_free_days_per_month() -> None:
    its = [*survey("w01"),
           item("w01", "YK-ATT", "late_or_early", 1, date="2026-01-06"),          # -2
           item("w01", "YK-ATT", "absent_half_day", 1, date="2026-01-07"),        # -5
           item("w01", "YK-ATT", "sick_leave_day", 5, date="2026-03-09"),         # 5 days, 3 free: -2
           item("w01", "YK-ATT", "sick_leave_day", 3, date="2026-02-09"),         # 3 days in Feb: free
           item("w01", "YK-ATT", "personal_leave_day", 1, date="2026-03-02"),     # 1 free
           item("w01", "YK-ATT", "personal_leave_day", 2, date="2026-03-20"),     # 2 over: -4
           *[item("w01", "YK-ATT", "short_notice_leave", 1, date=f"2026-01-{d}") for d in (12, 13, 14)],  # 3rd: -2
           item("w01", "YK-ATT", "field_duty_unapproved", 1, date="2026-02-10")]  # -2
    s = one([day(date=MAR)], its)
    # -2 -5 -2 -4 -2 -2 = -17, not capped; total 100 - 17 = 83
    assert pts(s, "YK-ATT") == -17 and s.item("YK-ATT").max_points is None
    assert num(s.total) == 83
    free = [t for t in s.item("YK-ATT").trail if not t.charged]
    assert len(free) == 5  # Feb sick, Mar sick (3 of 5), Mar personal (1), Jan short-notice (2)


def test_yk_bonus_is_not_capped() -> None:
    # +6 + 15 + 2 x 5 = +31 on top of a full 100 -> 131 (上不封顶)
    its = [*survey("w01"), item("w01", "YK-BONUS", "experience_central", date="2026-02-01"),
           item("w01", "YK-BONUS", "outpost_experience_province", date="2026-02-02"),
           item("w01", "YK-BONUS", "major_lead", 2, date="2026-03-01")]
    s = one([day(date=MAR)], its)
    assert (pts(s, "YK-BONUS"), num(s.total)) == (31, 131)


def test_yk_veto_by_condition_and_by_score_below_60() -> None:
    s = one([day(date=MAR)], [*survey("w01"), item("w01", "YK-VETO", "data_leak", date="2026-03-03", note="泄密")])
    assert s.vetoed and s.tier == "fail" and s.tier_label == "不合格"
    assert [num(p.amount) for p in s.payouts] == [0]  # YK-REWARD-PT removed
    # survey all < 60% -> 0 of 30, hazard -25, safety -15: 100 - 30 - 25 - 15 = 30 < 60
    its = [*survey("w01", "0.5"), item("w01", "YK-HAZARD", "hazard_serious", 9, date="2026-03-05"),
           item("w01", "YK-SAFETY", "report_hidden", 30, date="2026-03-05")]
    s = one([day(date=MAR)], its)
    assert num(s.total) == 30 and s.vetoed and "低于 60" in s.veto[0].reason
    # 60 exactly is not below 60
    its = [*survey("w01", "0.5"), item("w01", "YK-CASE-SLA", "case_no_result_in_time", 10, date="2026-03-05")]
    s = one([day(date=MAR)], its, profile=YK_ENTERED)
    assert num(s.total) == 60 and not s.vetoed


# ---------------------------------------------------------------- rewards
def test_yk_reward_ft_monthly_by_county_rank_and_yearly() -> None:
    r = {"f1": worker("f1", "fulltime")}
    its = [*survey("f1"), item("town", "YK-REWARD-FT", "county_rank_month", 3, period="2026-01"),   # 600
           item("town", "YK-REWARD-FT", "county_rank_month", 6, period="2026-02"),   # 400
           item("town", "YK-REWARD-FT", "county_rank_month", 9, period="2026-03")]   # 0
    s = one([day("f1", date=MAR, role="fulltime")], its, roster=r, sid="f1")
    assert [num(p.amount) for p in s.payouts] == [600, 400, 0] and num(s.payout_total()) == 1000
    year = parse_period("2026")
    s = one([day("f1", date=MAR, role="fulltime")], [*its, item("town", "YK-REWARD-FT", "county_rank_year", 5, period="2026")],
            roster=r, sid="f1", period=year)
    assert [num(p.amount) for p in s.payouts] == [1500]
    # vetoed: nothing (专职网格员涉及一票否决情况的不参与考核奖励)
    s = one([day("f1", date=MAR, role="fulltime")], [*its, item("f1", "YK-VETO", "false_report", date="2026-02-02")],
            roster=r, sid="f1")
    assert num(s.payout_total()) == 0 and all("一票否决" in p.reason for p in s.payouts)


def test_yk_reward_pt_by_tier() -> None:
    # 5 parttime workers: 20/60/20 of 5 = 1/3/1; 600 + 3 x 450 + 300
    roster = {f"p{i}": worker(f"p{i}") for i in range(1, 6)}
    days = [day(f"p{i}", date=d, am="missing" if k < i else "ok") for i in range(1, 6) for k, d in enumerate(dates(5))]
    its = [x for i in range(1, 6) for x in survey(f"p{i}")]
    res = score(YK, Q1, days, its, roster)
    pay = {s.subject.subject_id: (s.tier_label, num(s.payout_total())) for s in res.sheets}
    assert pay == {"p1": ("优秀", 600), "p2": ("良好", 450), "p3": ("良好", 450), "p4": ("良好", 450),
                   "p5": ("合格", 300)}


def test_yk_reward_head_top_ten_percent_of_heads_and_parttime() -> None:
    # 5 heads + 20 parttime = 25; 10% = 2.5 -> 3 (half up); heads ranked by yearly score
    roster = {f"h{i}": worker(f"h{i}", "head") for i in range(1, 6)}
    roster |= {f"p{i:02d}": worker(f"p{i:02d}") for i in range(1, 21)}
    days = [day(f"h{i}", date=d, role="head", am="missing" if k < i else "ok")
            for i in range(1, 6) for k, d in enumerate(dates(5))]
    res = score(YK, parse_period("2026"), days, [], roster).by_subject()
    named = sorted(sid for sid, s in res.items() if any(p.rule == "YK-REWARD-HEAD" for p in s.payouts))
    assert named == ["h1", "h2", "h3"]


def test_yk_reward_article() -> None:
    # head: county article 200 + 2 city information x 200 = 600; parttime information: not paid
    roster = {"h1": worker("h1", "head"), "p1": worker("p1")}
    its = [item("h1", "YK-REWARD-ARTICLE", "article_county", date="2026-02-01"),
           item("h1", "YK-REWARD-ARTICLE", "information_city", 2, date="2026-03-01"),
           item("p1", "YK-REWARD-ARTICLE", "information_county", date="2026-03-01"),
           item("p1", "YK-REWARD-ARTICLE", "article_town", date="2026-03-01")]
    res = score(YK, parse_period("2026-03"), [day("h1", date=MAR, role="head"), day("p1", date=MAR)], its, roster)
    by = res.by_subject()
    assert num(by["h1"].payout_total()) == 400  # only the March item inside 2026-03
    assert sorted((p.reason.split("：")[0], num(p.amount)) for p in by["p1"].payouts) == [
        ("article_town × 1", 50), ("information_county", 0)]
    res = score(YK, Q1, [day("h1", date=MAR, role="head")], its, roster)
    assert num(res.by_subject()["h1"].payout_total()) == 600


# ---------------------------------------------------------------- quanshan-positioning
QR = {"a": worker("a", "fulltime", "o1"), "b": worker("b", "fulltime", "o1"), "c": worker("c", "fulltime", "o2")}
MARCH = parse_period("2026-03")


def test_qs_pos_charged_to_the_office() -> None:
    # office o1: a has 2 phone-offs and 1 off-post, b 1 off-post -> -4 -> 6; o2 nothing -> 10
    days = [day("a", MAR, "fulltime", "o1", phone_off=[(9, 0, 9, 40), (15, 0, 15, 45)], offpost=[(10, 0, 10, 40)]),
            day("b", MAR, "fulltime", "o1", offpost=[(16, 0, 16, 35)]), day("c", MAR, "fulltime", "o2")]
    res = score(QS, MARCH, days, [], QR).by_subject()
    assert set(res) == {"o1", "o2"}
    assert (pts(res["o1"], "QS-POS"), pts(res["o2"], "QS-POS")) == (6, 10)
    assert {t.evidence["worker_id"] for t in res["o1"].item("QS-POS").trail} == {"a", "b"}
    # 12 occurrences in the month: -12 stopped at the item's 10 -> 0
    days = [day("a", d, "fulltime", "o1", phone_off=[(9, 0, 9, 40), (15, 0, 15, 45)]) for d in dates(6, MAR)]
    assert pts(score(QS, MARCH, days, [], QR).by_subject()["o1"], "QS-POS") == 0


def office(n: int, offs: dict[int, list[tuple[int, int, int, int]]]) -> tuple[dict, list]:
    roster = {f"m{i}": worker(f"m{i}", "fulltime", "o1") for i in range(n)}
    days = [day(f"m{i}", MAR, "fulltime", "o1", phone_off=offs.get(i, [])) for i in range(n)]
    return roster, days


def test_qs_pos_collective_phone_off() -> None:
    # 5 on duty, 80% -> 4 needed; 4 people off 08:50-10:10 in a staggered way: all 4 off from
    # 09:10 to 09:45 = 35 min >= 30 -> one collective occurrence -10; the 4 individual
    # phone-offs inside it are not charged again; m0's 15:00-15:40 is charged (-1): raw -11 -> 0
    roster, days = office(5, {0: [(9, 0, 10, 0), (15, 0, 15, 40)], 1: [(9, 5, 9, 45)], 2: [(9, 10, 10, 10)],
                              3: [(8, 50, 9, 50)]})
    s = score(QS, MARCH, days, [], roster).by_subject()["o1"]
    it = s.item("QS-POS")
    coll = [t for t in it.trail if t.rule == "QS-POS-COLLECTIVE"]
    assert len(coll) == 1 and num(coll[0].points) == -10
    assert (coll[0].evidence["start"][11:16], coll[0].evidence["end"][11:16]) == ("09:10", "09:45")
    assert coll[0].evidence["workers"] == ["m0", "m1", "m2", "m3"]
    assert sum(1 for t in it.trail if not t.charged) == 4
    assert (num(it.raw_points), pts(s, "QS-POS")) == (-11, 0)


def test_qs_pos_collective_needs_the_share_and_the_duration() -> None:
    # all 4 off together only 09:10-09:35 = 25 min < 30: four individual occurrences -4 -> 6
    roster, days = office(5, {0: [(9, 0, 10, 0)], 1: [(9, 5, 9, 35)], 2: [(9, 10, 10, 10)], 3: [(8, 50, 9, 50)]})
    assert pts(score(QS, MARCH, days, [], roster).by_subject()["o1"], "QS-POS") == 6
    # 3 of 5 (60% < 80%) off together for an hour: not collective, -3 -> 7
    roster, days = office(5, {0: [(9, 0, 10, 0)], 1: [(9, 0, 10, 0)], 2: [(9, 0, 10, 0)]})
    assert pts(score(QS, MARCH, days, [], roster).by_subject()["o1"], "QS-POS") == 7


def test_qs_terminal() -> None:
    # terminal problem at the office -3 -> 2; lost (-5) + community problem (-2) -> -7 stopped at 5 -> 0
    its = [item("o1", "QS-TERMINAL", "terminal_problem_office", date="2026-03-04")]
    s = score(QS, MARCH, [day("a", MAR, "fulltime", "o1")], its, QR).by_subject()["o1"]
    assert (pts(s, "QS-TERMINAL"), num(s.total)) == (2, 12)
    its = [item("o1", "QS-TERMINAL", "terminal_lost", date="2026-03-04"),
           item("o1", "QS-TERMINAL", "terminal_problem_community", date="2026-03-05")]
    s = score(QS, MARCH, [day("a", MAR, "fulltime", "o1")], its, QR).by_subject()["o1"]
    assert pts(s, "QS-TERMINAL") == 0


def test_qs_year_formula() -> None:
    # Jan 15 (clean), Feb 15 - 2 = 13, Mar 15 - 5 = 10 -> sum 38; (38 / 12) * 0.9 = 2.85
    # management 90 * 0.1 = 9; site meeting +5 -> 16.85
    days = [day("a", dt.date(2026, 1, 6), "fulltime", "o1"),
            day("a", dt.date(2026, 2, 3), "fulltime", "o1", phone_off=[(9, 0, 9, 40)], offpost=[(10, 0, 10, 40)]),
            day("a", MAR, "fulltime", "o1")]
    its = [item("o1", "QS-TERMINAL", "terminal_lost", date="2026-03-04"),
           item("o1", "QS-YEAR", "management_score", 90, period="2026"),
           item("o1", "QS-YEAR", "site_meeting", period="2026", note="现场会 2026-05")]
    s = score(QS, parse_period("2026"), days, its, QR).by_subject()["o1"]
    assert [(p, num(t)) for p, t in s.sub_scores] == [("2026-01", 15), ("2026-02", 13), ("2026-03", 10)]
    assert num(s.total) == 16.85


# ---------------------------------------------------------------- ningbo-district
@pytest.mark.parametrize(("rate", "points"), [
    ("1", 4), ("0.6", 4), ("0.5999", 4), ("0.55", 3), ("0.5401", 3), ("0.5", 2), ("0.45", 1), ("0.4", 0),
    ("0.3999", 0),
])
def test_nb_online_table(rate: str, points: int) -> None:
    # 60% or more -> 4; -1 per full 5% below 60%; below 40% -> 0
    from decimal import Decimal

    assert num(step_points(NB.rules["NB-ONLINE"].params, Decimal(4), Decimal(rate))[0]) == points


def test_nb_online_is_duty_weighted_over_the_month() -> None:
    # day 1: 50% of 28800 s, day 2: 80% of 14400 s -> (14400 + 11520) / 43200 = 60% -> 4
    days = [day(date=MAR, online_rate=0.5, duty_s=28800), day(date=dt.date(2026, 3, 3), online_rate=0.8, duty_s=14400)]
    assert pts(one(days, profile=NB, period=MARCH), "NB-ONLINE") == 4
    # day 2 at 50% too -> 50% -> 2
    days[1] = day(date=dt.date(2026, 3, 3), online_rate=0.5, duty_s=14400)
    assert pts(one(days, profile=NB, period=MARCH), "NB-ONLINE") == 2


@pytest.mark.parametrize(("reports", "points"), [(95, 7), (90, 7), (86, 7), (85, 6), (84, 6), (80, 5), (70, 3), (69, 0)])
def test_nb_volume_table(reports: int, points: int) -> None:
    # 100 grids; ratio >= 90% -> 7; -1 per full 5% below; below 70% -> 0
    its = [item("w01", "NB-VOLUME", "grid_count", 100, period="2026"),
           item("w01", "NB-VOLUME", "valid_reports", reports, date="2026-03-02")]
    assert pts(one([day(date=MAR)], its, profile=NB_ENTERED, period=MARCH), "NB-VOLUME") == points


def test_nb_arrive_and_hours() -> None:
    # 3 late arrivals: 10 - 3 = 7; 2 hours findings: 4 - 2 = 2; 6 findings: stopped at 4 -> 0
    its = [item("w01", "NB-ARRIVE", "arrived_late", 3, date="2026-03-02"),
           item("w01", "NB-HOURS", "not_on_duty_in_hours", 2, date="2026-03-03")]
    s = one([day(date=MAR)], its, profile=NB_ENTERED, period=MARCH)
    assert (pts(s, "NB-ARRIVE"), pts(s, "NB-HOURS")) == (7, 2)
    s = one([day(date=MAR)], [item("w01", "NB-HOURS", "not_on_duty_in_hours", 6, date="2026-03-03")],
            profile=NB, period=MARCH)
    assert pts(s, "NB-HOURS") == 0


def test_a_worker_without_evaluated_days_is_marked_incomplete_and_partial_cover_noted() -> None:
    res = score(YK, Q1, [day("w01", date=MAR)], [*survey("w01"), *survey("w02")],
                {"w01": worker("w01"), "w02": worker("w02")})
    by = res.by_subject()
    assert by["w01"].incomplete == () and pts(by["w02"], "YK-PATROL") == 15
    assert by["w02"].incomplete == ("2026Q1 没有已判定的工作日：手机考核项目未评分",)
    assert res.notes == ("已判定工作日为 2026-03-02 至 2026-03-02（2026Q1 为 2026-01-01 至 2026-03-31）",)
