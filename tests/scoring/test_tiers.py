"""YK-TIER: largest-remainder quotas for 1..12 workers, ties at each boundary, veto, override."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scoring.items import parse_period
from scoring.period import ItemScore, PeriodScores, ScoreError, Sheet, Subject, TrailEntry
from scoring.profiles import load_profile
from scoring.tiers import apply_payouts, assign_tiers, tier_quota
from tests.scoring.builders import item

YK = load_profile("yangkou-2022")
P = YK.rules["YK-TIER"].params


# n: (excellent, good, pass). exact = 0.2n / 0.6n / 0.2n; floors, then the places left go to
# the largest remainders; equal remainders: good, then excellent, then pass (profile order).
@pytest.mark.parametrize(("n", "expected"), [
    (1, (0, 1, 0)),    # .2 .6 .2 -> 0 0 0, 1 left: good (.6)
    (2, (1, 1, 0)),    # .4 1.2 .4 -> 0 1 0, 1 left: .4 = .4, excellent before pass
    (3, (1, 2, 0)),    # .6 1.8 .6 -> 0 1 0, 2 left: good (.8), then excellent (.6 tie)
    (4, (1, 2, 1)),    # .8 2.4 .8 -> 0 2 0, 2 left: excellent and pass (.8)
    (5, (1, 3, 1)),    # whole
    (6, (1, 4, 1)),    # 1.2 3.6 1.2 -> 1 3 1, 1 left: good (.6)
    (7, (2, 4, 1)),    # 1.4 4.2 1.4 -> 1 4 1, 1 left: .4 = .4 > .2, excellent before pass
    (8, (2, 5, 1)),    # 1.6 4.8 1.6 -> 1 4 1, 2 left: good (.8), excellent (.6 tie)
    (9, (2, 5, 2)),    # 1.8 5.4 1.8 -> 1 5 1, 2 left: excellent and pass (.8)
    (10, (2, 6, 2)),   # whole
    (11, (2, 7, 2)),   # 2.2 6.6 2.2 -> 2 6 2, 1 left: good (.6)
    (12, (3, 7, 2)),   # 2.4 7.2 2.4 -> 2 7 2, 1 left: excellent (.4 tie with pass)
])
def test_quota_by_largest_remainder(n: int, expected: tuple[int, int, int]) -> None:
    q = tier_quota(n, P["shares"], P["remainder_tie_order"])
    assert (q["excellent"], q["good"], q["pass"]) == expected
    assert sum(q.values()) == n


def sheet(wid: str, total: float, patrol: float = 15, log: float = 3, role: str = "parttime", village: str = "v01",
          veto: bool = False) -> Sheet:
    items = (
        ItemScore("YK-PATROL", "一日双巡", "patrol", "deduction", Decimal(15), Decimal(str(patrol - 15)),
                  Decimal(str(patrol)), False, ()),
        ItemScore("YK-LOG", "巡查日志", "patrol", "deduction", Decimal(3), Decimal(str(log - 3)), Decimal(str(log)),
                  False, ()),
    )
    v = (TrailEntry("YK-VETO", Decimal(0), "veto: data_leak (x)"),) if veto else ()
    return Sheet(Subject(wid, "worker", role, village), "2026Q1", "items", items, Decimal(str(total)), v)


def tiers(sheets: list[Sheet], items=()) -> PeriodScores:
    scores = PeriodScores(YK.id, YK.version, "2026Q1", tuple(sheets))
    return apply_payouts(YK, assign_tiers(YK, scores, list(items)), list(items))


def tier_of(res: PeriodScores) -> dict[str, str]:
    return {s.subject.subject_id: s.tier for s in res.sheets}


@pytest.mark.parametrize("n", range(1, 13))
def test_every_worker_gets_one_tier_in_rank_order(n: int) -> None:
    res = tiers([sheet(f"w{i:02d}", 90 - i) for i in range(n)])
    got = [tier_of(res)[f"w{i:02d}"] for i in range(n)]
    q = tier_quota(n, P["shares"], P["remainder_tie_order"])
    assert got == ["excellent"] * q["excellent"] + ["good"] * q["good"] + ["pass"] * q["pass"]
    assert [s.rank for s in res.sheets] == list(range(1, n + 1))


def test_tie_at_the_excellent_boundary_broken_by_patrol_points() -> None:
    # 5 workers -> 1/3/1; a and b tie on 90: b has more patrol points -> b 优秀
    res = tiers([sheet("a", 90, patrol=14), sheet("b", 90, patrol=14.5), sheet("c", 80), sheet("d", 70),
                 sheet("e", 60)])
    t = tier_of(res)
    assert (t["b"], t["a"]) == ("excellent", "good")
    note = res.by_subject()["a"].tier_note
    assert "优秀/良好分界" in note and "一日双巡（YK-PATROL）（b 14.5，a 14）" in note


def test_tie_broken_by_signin_points_then_worker_id() -> None:
    # same total and patrol points: YK-LOG decides (z 2.8 beats y 2.6)
    res = tiers([sheet("y", 90, log=2.6), sheet("z", 90, log=2.8), sheet("c", 80), sheet("d", 70), sheet("e", 60)])
    assert tier_of(res)["z"] == "excellent" and "（YK-LOG）" in res.by_subject()["y"].tier_note
    # identical on everything: the lower worker id wins
    res = tiers([sheet("y", 90), sheet("x", 90), sheet("c", 80), sheet("d", 70), sheet("e", 60)])
    assert tier_of(res)["x"] == "excellent" and "按网格员编号" in res.by_subject()["y"].tier_note


def test_tie_at_the_pass_boundary() -> None:
    # 5 -> 1/3/1: the 4th and 5th tie on 70; e has more patrol points -> e 良好, d 合格
    res = tiers([sheet("a", 95), sheet("b", 90), sheet("c", 80), sheet("d", 70, patrol=13), sheet("e", 70, patrol=14)])
    t = tier_of(res)
    assert (t["e"], t["d"]) == ("good", "pass")
    assert "良好/合格分界" in res.by_subject()["d"].tier_note


def test_a_tie_away_from_a_boundary_is_not_noted() -> None:
    res = tiers([sheet("a", 95), sheet("b", 80), sheet("c", 80), sheet("d", 70), sheet("e", 60)])
    assert "boundary" not in res.by_subject()["b"].tier_note


def test_vetoed_workers_are_fail_and_out_of_the_count() -> None:
    # 6 workers, 1 vetoed: the 5 others are ranked 1/3/1; the vetoed one 不合格, no reward,
    # even with the best total
    res = tiers([sheet("v", 99, veto=True), *[sheet(f"w{i}", 90 - i) for i in range(5)]])
    t = tier_of(res)
    assert t["v"] == "fail" and res.by_subject()["v"].tier_label == "不合格"
    assert [t[f"w{i}"] for i in range(5)] == ["excellent", "good", "good", "good", "pass"]
    assert res.by_subject()["v"].payout_total() == 0
    rec = res.tiering[0]
    assert rec["vetoed"] == ["v"] and rec["ranked"] == 5


def test_groups_are_per_village_and_role_heads_not_tiered() -> None:
    res = tiers([sheet("a", 90), sheet("b", 80, village="v02"), sheet("f", 70, role="fulltime"),
                 sheet("h", 99, role="head")])
    t = tier_of(res)
    assert t == {"a": "good", "b": "good", "f": "good", "h": None}
    assert [(r["village_id"], r["role"]) for r in res.tiering] == [("v01", "fulltime"), ("v01", "parttime"),
                                                                  ("v02", "parttime")]


def test_township_quota_override_is_applied_and_recorded() -> None:
    # county quota for v01 parttime: 2 excellent, 2 good (pass = the rest = 1)
    its = [item("v01:parttime", "YK-TIER", "quota_excellent", 2, period="2026Q1", note="县网格办下达名额",
                entered_by="王主任"),
           item("v01:parttime", "YK-TIER", "quota_good", 2, period="2026Q1", note="县网格办下达名额",
                entered_by="王主任")]
    res = tiers([sheet(f"w{i}", 90 - i) for i in range(5)], its)
    assert [tier_of(res)[f"w{i}"] for i in range(5)] == ["excellent", "excellent", "good", "good", "pass"]
    rec = res.tiering[0]
    assert rec["quota"] == {"excellent": 2, "good": 2, "pass": 1} and rec["quota_source"] == "override"
    assert rec["override"]["by"] == ["王主任"] and "县网格办" in rec["override"]["reason"]
    assert "名额由镇里指定" in res.by_subject()["w0"].tier_note
    assert [p.amount for p in res.by_subject()["w1"].payouts] == [Decimal(600)]


def test_quota_override_larger_than_the_group_is_refused() -> None:
    its = [item("v01:parttime", "YK-TIER", "quota_excellent", 4, period="2026Q1")]
    with pytest.raises(ScoreError, match="4 places for 3 workers"):
        tiers([sheet(f"w{i}", 90 - i) for i in range(3)], its)


def test_tiers_only_for_the_tier_period() -> None:
    scores = PeriodScores(YK.id, YK.version, "2026-03", (sheet("a", 90),))
    assert assign_tiers(YK, scores).sheets[0].tier is None
    assert parse_period("2026-03").kind != P["period"]


def test_a_worker_without_judged_days_is_not_tiered_unless_the_township_decides() -> None:
    """Issue 16: w040 (no grid, no judged day) was ranked 良好 and paid 450."""
    from dataclasses import replace

    no_days = replace(sheet("w040", 100), no_data="2026Q1 没有已判定的工作日：手机考核项目未评分")
    res = apply_payouts(YK, tiers([sheet(f"w{i}", 90 - i) for i in range(5)] + [no_days]))
    s = res.by_subject()["w040"]
    assert (s.tier, s.rank, s.tier_label) == (None, None, "无考核数据")
    assert "没有已判定的工作日" in s.tier_note and s.payouts == ()
    assert res.tiering[0]["ranked"] == 5 and res.tiering[0]["unjudged"] == ["w040"]
    # the township decides to tier them (item tier_include): ranked like anyone else
    inc = [item("w040", "YK-TIER", "tier_include", 1, period="2026Q1", note="调岗中，镇里决定参评")]
    res = tiers([sheet(f"w{i}", 90 - i) for i in range(5)] + [no_days], inc)
    assert tier_of(res)["w040"] == "excellent" and res.tiering[0]["unjudged"] == []
