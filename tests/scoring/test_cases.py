"""NB-ARRIVE, NB-VOLUME and YK-CASE-SLA computed from case records (``source: computed``).

Hand-computed: each test states the cases, the deductions and the resulting points.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from geo.types import CaseRecord, CaseVerdict, ReportCount
from scoring.items import parse_period
from scoring.period import num
from scoring.profiles import load_profile, with_sources
from scoring.score import score
from tests.scoring.builders import day, item, ts

# the shipped profiles keep the entered counts; a township opts into computing (docs/cases.md)
YK = with_sources(load_profile("yangkou-2022"), {"YK-CASE-SLA": "computed"})
NB = with_sources(load_profile("ningbo-district"), {"NB-ARRIVE": "computed",
                                                    "NB-VOLUME": "computed"})
MAR2, MAR3 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
H, DAY_S = 3600.0, 86400.0


def instr(cid, at, *, arrival=None, arrival_s=None, on_duty=True, accepted=None, closed=None,
          complex_=False, valid=None):
    rec = CaseRecord(case_id=cid, kind="instruction", created_at=at, lon=121.0, lat=31.9, valid=valid,
                     accepted_at=accepted, closed_at=closed, complex=complex_)
    return CaseVerdict(case=rec, arrived_at=None if arrival_s is None else at + arrival_s,
                       arrival_s=arrival_s, arrival=arrival, on_duty=on_duty)


def with_cases(d, cases=(), reports=None, grid_count=None):
    return dataclasses.replace(d, cases=tuple(cases), reports=reports, grid_count=grid_count)


def sheet(profile, period, days, items=()):
    return score(profile, parse_period(period), days, list(items)).by_subject()["w01"]


def test_nb_arrive_charges_late_and_missing_arrivals_on_duty_only():
    t = ts(MAR2, 9)
    cases = [instr("c-ok", t, arrival="ok", arrival_s=1200),          # exactly 20 min: ok
             instr("c-late", t + 60, arrival="late", arrival_s=1500),  # 25 min: -1
             instr("c-none", t + 120, arrival="none"),                 # never: -1
             instr("c-night", ts(MAR2, 19), arrival="none", on_duty=False)]  # off duty: shown, 0
    s = sheet(NB, "2026-03", [with_cases(day(date=MAR2), cases, ReportCount(0, 0), 10)])
    it = s.item("NB-ARRIVE")
    assert num(it.points) == 8
    charged = {t.evidence["case_id"]: num(t.points) for t in it.trail if t.charged}
    assert charged == {"c-late": -1, "c-none": -1}
    late = next(t for t in it.trail if t.evidence["case_id"] == "c-late")
    assert late.reason == "接到指令后 25 分钟到达现场（限 20 分钟）"
    night = next(t for t in it.trail if t.evidence["case_id"] == "c-night")
    assert not night.charged and "工作时间外" in night.reason


def test_nb_arrive_entered_counts_are_not_charged_when_computed():
    its = [item("w01", "NB-ARRIVE", "arrived_late", 3, date="2026-03-02")]
    s = sheet(NB, "2026-03", [with_cases(day(date=MAR2), (), ReportCount(0, 0), 10)], its)
    assert num(s.item("NB-ARRIVE").points) == 10
    assert [t.charged for t in s.item("NB-ARRIVE").trail] == [False]


def test_nb_volume_from_valid_reports_a_rejected_report_is_not_valid():
    # 10 grids; Mar 2: 10 reports, 9 valid (one rejected) -> 0.9; Mar 3: 8 valid of 8 -> 0.8
    # mean 0.85: one full 5% step below 90% -> 7 - 1 = 6
    d1 = with_cases(day(date=MAR2), (), ReportCount(10, 9, valid_ids=tuple(f"r{i}" for i in range(9))), 10)
    d2 = with_cases(day(date=MAR3), (), ReportCount(8, 8), 10)
    s = sheet(NB, "2026-03", [d1, d2])
    it = s.item("NB-VOLUME")
    assert num(it.points) == 6 and it.detail["ratio"] == 0.85
    ev = it.trail[0].evidence
    assert [d["valid"] for d in ev["days"]] == [9, 8] and ev["days"][0]["case_ids"][0] == "r0"
    assert it.trail[0].reason.startswith("日有效上报 / 网格数 平均 85%")


def test_nb_volume_entered_grid_count_wins_and_no_records_is_incomplete():
    d1 = with_cases(day(date=MAR2), (), ReportCount(9, 9), 10)
    s = sheet(NB, "2026-03", [d1], [item("w01", "NB-VOLUME", "grid_count", 12, period="2026")])
    assert s.item("NB-VOLUME").detail["ratio"] == 0.75  # 9/12 -> 3 steps -> 4
    assert num(s.item("NB-VOLUME").points) == 4
    s = sheet(NB, "2026-03", [day(date=MAR2)])
    assert num(s.item("NB-VOLUME").points) == 0 and any("NB-VOLUME" in m for m in s.incomplete)


def test_yk_case_sla_hand_computed():
    t = ts(MAR2, 9)
    cases = [
        instr("c-5d", t, accepted=t + 2 * H, closed=t + 5 * DAY_S),                 # exactly 5 days: ok
        instr("c-5d1s", t, accepted=t + 2 * H, closed=t + 5 * DAY_S + 1),           # -1
        instr("c-cx", t, accepted=t + H, closed=t + 14 * DAY_S, complex_=True),     # complex, 14 d: ok
        instr("c-cx16", t, accepted=t + H, closed=t + 16 * DAY_S, complex_=True),   # complex, 16 d: -1
        instr("c-acc25", t, accepted=t + 25 * H, closed=t + 2 * DAY_S),             # accepted late: -0.5
        instr("c-acc24", t, accepted=t + 24 * H, closed=t + 2 * DAY_S),             # exactly 24 h: ok
        instr("c-never", t),                                                         # never accepted: -0.5
        instr("c-rej", t, valid=False),                                              # rejected: not judged
    ]
    late = instr("c-open", ts(dt.date(2026, 3, 30), 9), accepted=ts(dt.date(2026, 3, 30), 10))
    days = [with_cases(day(date=MAR2), cases), with_cases(day(date=dt.date(2026, 3, 30)), [late])]
    s = sheet(YK, "2026Q1", days)
    it = s.item("YK-CASE-SLA")
    charged = {t.evidence["case_id"]: num(t.points) for t in it.trail if t.charged}
    assert charged == {"c-5d1s": -1, "c-cx16": -1, "c-acc25": -0.5, "c-never": -0.5}
    assert num(it.points) == 7  # 10 - 3
    pending = [t for t in it.trail if not t.charged]
    assert [t.evidence["case_id"] for t in pending] == ["c-open"]  # due 4 Apr, after the quarter
    acc = next(t for t in it.trail if t.evidence["case_id"] == "c-acc25")
    assert acc.reason == "事件未在 24 小时内受理（受理用时 25.0 小时）"


# YK-HAZARD and YK-SAFETY judged from the cases others found in the worker's grid
YKG = with_sources(load_profile("yangkou-2022"), {"YK-HAZARD": "computed", "YK-SAFETY": "computed"})


def grid_case(cid, category, own_report_s, valid=True):
    rec = CaseRecord(case_id=cid, kind="grid", created_at=ts(MAR2, 9), lon=121.0, lat=31.9, valid=valid,
                     category=category)
    return CaseVerdict(case=rec, own_report_s=own_report_s)


def test_yk_hazard_and_safety_from_cases_found_by_others_in_the_grid():
    cases = [grid_case("h-missed", "安全隐患", None),         # not reported: -1
             grid_case("h-in-time", "安全隐患", 3600),        # reported 1 h later: ok
             grid_case("h-first", "安全隐患", -600),          # the worker reported it first: ok
             grid_case("h-late", "安全隐患", 30 * 3600),      # 30 h > 24 h: counted as missed, -1
             grid_case("h-exact", "安全隐患", 24 * 3600),     # exactly 24 h: in time
             grid_case("s-late", "矛盾纠纷", 25 * 3600),      # 迟报 -0.1
             grid_case("s-missed", "矛盾纠纷", None),         # 漏报 -0.2
             grid_case("s-invalid", "矛盾纠纷", None, valid=False),  # the office rejected it: not judged
             grid_case("other-cat", "环境卫生", None)]        # neither rule's category
    its = [item("w01", "YK-HAZARD", "hazard_serious", 1, date="2026-03-02"),           # still entered: -3
           item("w01", "YK-HAZARD", "hazard_hidden_or_missed", 2, date="2026-03-02"),  # decided by records
           item("w01", "YK-SAFETY", "report_hidden", 1, date="2026-03-02")]            # still entered: -0.5
    s = sheet(YKG, "2026Q1", [with_cases(day(date=MAR2), cases, ReportCount(0, 0))], its)
    hz, sf = s.item("YK-HAZARD"), s.item("YK-SAFETY")
    assert num(hz.points) == 20  # 25 - 1 - 1 - 3
    assert num(sf.points) == 14.2  # 15 - 0.1 - 0.2 - 0.5
    charged = sorted((t.evidence.get("case_id") or t.evidence.get("item"), num(t.points))
                     for t in hz.trail if t.charged)
    assert charged == [("h-late", -1), ("h-missed", -1), ("hazard_serious", -3)]
    assert [t.reason for t in hz.trail if not t.charged] == ["按事件记录计算，录入的瞒报漏报次数不再计分"]
    late = next(t for t in sf.trail if t.evidence.get("case_id") == "s-late")
    assert late.reason == "网格内矛盾纠纷事件（他人 03-02 09:00 发现）本人 25.0 小时后才上报（限 24 小时）"
    # the shipped profile keeps them entered: the same day changes nothing there
    s0 = sheet(load_profile("yangkou-2022"), "2026Q1", [with_cases(day(date=MAR2), cases, ReportCount(0, 0))],
               its)
    assert num(s0.item("YK-HAZARD").points) == 25 - 3 - 2
