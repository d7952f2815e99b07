"""A full quarter for a demo village by hand: day deductions -> item caps -> total -> tier -> payout."""

from __future__ import annotations

from scoring.items import parse_period
from scoring.period import num
from scoring.profiles import load_profile
from scoring.score import score
from tests.scoring import demo_quarter as demo

YK = load_profile("yangkou-2022")


def test_demo_village_2026q1_by_hand() -> None:
    res = score(YK, parse_period("2026Q1"), demo.days(), demo.items(), demo.ROSTER).by_subject()
    got = {sid: {i.rule: num(i.points) for i in s.items} for sid, s in res.items()}
    full = {"YK-PATROL": 15, "YK-DRESS": 2, "YK-LOG": 3, "YK-SURVEY": 30, "YK-SAFETY": 15, "YK-HAZARD": 25,
            "YK-CASE-SLA": 10, "YK-ATT": 0, "YK-BONUS": 0}
    # p1: dress -0.5 -> 1.5                                          total 99.5
    assert got["p1"] == full | {"YK-DRESS": 1.5}
    # p2: am missing -0.5 -> 14.5; late sign-in -0.2 and late daily report -0.2 -> 2.6;
    #     survey 95% 8 + 90% 8 + 85% 6 = 22; bonus +2             total 93.1
    assert got["p2"] == full | {"YK-PATROL": 14.5, "YK-LOG": 2.6, "YK-SURVEY": 22, "YK-BONUS": 2}
    # p3: pm short -1 -> 14; sign-in missing -0.2, outside -0.2 -> 2.6; survey 10+10+8 = 28;
    #     hazard -1 -> 24                                            total 95.6
    assert got["p3"] == full | {"YK-PATROL": 14, "YK-LOG": 2.6, "YK-SURVEY": 28, "YK-HAZARD": 24}
    # p4: am and pm missing -1 -> 14; late once -2 (not capped)     total 97
    assert got["p4"] == full | {"YK-PATROL": 14, "YK-ATT": -2}
    # f1 (fulltime): no patrol session in the app on 03-02: 2 x -0.2 -> 2.6; survey 3 x 8 = 24   total 93.6
    assert got["f1"] == full | {"YK-LOG": 2.6, "YK-SURVEY": 24}
    assert got["h1"] == full and got["p5"] == full
    totals = {sid: num(s.total) for sid, s in res.items()}
    assert totals == {"p1": 99.5, "p2": 93.1, "p3": 95.6, "p4": 97, "p5": 100, "f1": 93.6, "h1": 100}
    # tiers, v01/parttime: p5 vetoed (不合格); 4 ranked -> 0.8/2.4/0.8 -> 1/2/1:
    # p1 优秀, p4 良好, p3 良好, p2 合格; v01/fulltime: 1 -> 良好; heads are not tiered
    tiers = {sid: s.tier_label for sid, s in res.items()}
    assert tiers == {"p1": "优秀", "p4": "良好", "p3": "良好", "p2": "合格", "p5": "不合格", "f1": "良好", "h1": None}
    # payouts: PT 600/450/300, p1 + county article 200; p5 vetoed 0;
    # f1: Jan rank 2 -> 600, Feb rank 5 -> 400, Mar rank 10 -> 0
    pay = {sid: num(s.payout_total()) for sid, s in res.items()}
    assert pay == {"p1": 800, "p2": 300, "p3": 450, "p4": 450, "p5": 0, "f1": 1000, "h1": 0}
    assert sum(pay.values()) == 3000
    # every deduction names its rule id and its evidence
    for s in res.values():
        for it in s.items:
            for t in it.trail:
                assert t.rule.startswith("YK-")
                assert "date" in t.evidence or "item_id" in t.evidence or "items" in t.evidence
    p3_log = [(t.evidence["date"], t.evidence["status"]) for t in res["p3"].item("YK-LOG").trail]
    assert p3_log == [("2026-03-02", "missing"), ("2026-03-03", "outside")]
