"""A small demo village for one quarter, computed by hand in test_demo_quarter.py."""

from __future__ import annotations

import datetime as dt

from tests.scoring.builders import day, item, worker

D1, D2, D3, D4 = dt.date(2026, 1, 5), dt.date(2026, 2, 2), dt.date(2026, 3, 2), dt.date(2026, 3, 3)

ROSTER = {
    **{f"p{i}": worker(f"p{i}", "parttime", "v01") for i in range(1, 6)},
    "f1": worker("f1", "fulltime", "v01"),
    "h1": worker("h1", "head", "v01"),
}


def days() -> list:
    """Four evaluated days per worker with the findings of the hand computation."""
    special = {
        ("p2", D1): {"am": "missing"},
        ("p2", D2): {"signin": "late"},
        ("p3", D3): {"pm": "short", "signin": "missing"},
        ("p3", D4): {"signin": "outside"},
        ("p4", D1): {"am": "missing", "pm": "missing"},
        ("f1", D3): {"started_in_app": False},
    }
    out = []
    for wid, w in ROSTER.items():
        for d in (D1, D2, D3, D4):
            out.append(day(wid, d, w.role, "v01", **special.get((wid, d), {})))
    return out


SURVEY = {"p1": (1, 1, 1), "p2": (0.95, 0.9, 0.85), "p3": (1, 1, 0.9), "p4": (1, 1, 1), "p5": (1, 1, 1),
          "f1": (0.9, 0.9, 0.9), "h1": (1, 1, 1)}


def items() -> list:
    """The office's entered items for the quarter."""
    out = [item(w, "YK-SURVEY", sub, rate, period="2026Q1", item_id=f"s-{w}-{sub}", note="季度民意测评")
           for w, rates in SURVEY.items() for sub, rate in zip(("awareness", "coverage", "satisfaction"), rates,
                                                               strict=True)]
    out += [
        item("p1", "YK-DRESS", "dress_not_worn", date="2026-02-10", item_id="e01", note="未穿马甲, 照片 IMG_0210"),
        item("p3", "YK-HAZARD", "hazard_hidden_or_missed", date="2026-03-12", item_id="e02", note="消防隐患漏报"),
        item("p4", "YK-ATT", "late_or_early", date="2026-01-20", item_id="e03", note="迟到 08:40"),
        item("p2", "YK-BONUS", "experience_city", date="2026-03-15", item_id="e04", note="市级推广经验"),
        item("p2", "YK-LOG", "daily_report_late", date="2026-03-03", item_id="e05", note="17:40 才汇报"),
        item("p5", "YK-VETO", "improper_statement", date="2026-02-20", item_id="e06", note="散布不当言论 (集体讨论)"),
        item("p1", "YK-REWARD-ARTICLE", "article_county", date="2026-03-20", item_id="e07", note="县融媒体录用"),
        item("town", "YK-REWARD-FT", "county_rank_month", 2, period="2026-01", item_id="r01", note="县通报"),
        item("town", "YK-REWARD-FT", "county_rank_month", 5, period="2026-02", item_id="r02", note="县通报"),
        item("town", "YK-REWARD-FT", "county_rank_month", 10, period="2026-03", item_id="r03", note="县通报"),
    ]
    return out
