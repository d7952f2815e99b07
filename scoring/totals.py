"""Period totals of day deductions per worker and rule id, after the items' caps (扣完为止).

A rule's cap applies per calendar ``cap_period`` (month, quarter or year of the day's date):
an evaluation range spanning two quarters gets two capped quarter sums, added. Arithmetic is
decimal, so -0.2 taken three times is exactly -0.6. Every total keeps its trail: which days
contributed how much in which cap period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from scoring.day import Deduction
from scoring.profiles import Profile


@dataclass(frozen=True)
class PeriodTrail:
    """One cap period of one rule: raw sum, capped sum and the contributing days."""

    period: str
    raw_points: float
    points: float
    capped: bool
    days: tuple[tuple[dt.date, float], ...]


@dataclass(frozen=True)
class RuleTotal:
    """A worker's total under one rule id over the evaluated range, after caps."""

    rule: str
    points: float
    raw_points: float
    cap: float | None
    cap_period: str | None
    periods: tuple[PeriodTrail, ...]


def period_key(date: dt.date, cap_period: str | None) -> str:
    """The label of the cap period containing ``date``: ``2026-03``, ``2026Q1``, ``2026``."""
    if cap_period == "month":
        return f"{date.year:04d}-{date.month:02d}"
    if cap_period == "quarter":
        return f"{date.year:04d}Q{(date.month - 1) // 3 + 1}"
    if cap_period == "year":
        return f"{date.year:04d}"
    return "range"


def _num(d: Decimal) -> float:
    return float(d) + 0.0  # + 0.0 turns -0.0 into 0.0


def _cap(raw: Decimal, cap: float | None) -> Decimal:
    if cap is None:
        return raw
    limit = Decimal(str(cap))
    return max(min(raw, limit), -limit)


def period_totals(
    days: Iterable[tuple[str, dt.date, Sequence[Deduction]]],
    profile: Profile,
    workers: Iterable[str] = (),
) -> dict[str, dict[str, RuleTotal]]:
    """Totals per worker and rule id from ``(worker_id, date, deductions)`` of each day.

    Every worker in ``workers`` (and every worker with a day) gets every day rule of the
    profile, with 0 when nothing was deducted.
    """
    # worker -> rule -> period -> list of (date, Decimal)
    acc: dict[str, dict[str, dict[str, list[tuple[dt.date, Decimal]]]]] = {}
    for wid in workers:
        acc.setdefault(wid, {})
    for wid, date, deductions in days:
        per_rule = acc.setdefault(wid, {})
        for d in deductions:
            rule = profile.rules.get(d.rule)
            key = period_key(date, rule.cap_period if rule else None)
            per_rule.setdefault(d.rule, {}).setdefault(key, []).append((date, Decimal(str(d.points))))
    day_rule_ids = [r.id for r in profile.day_rules()]
    out: dict[str, dict[str, RuleTotal]] = {}
    for wid in sorted(acc):
        per_rule = acc[wid]
        totals: dict[str, RuleTotal] = {}
        for rid in day_rule_ids + sorted(set(per_rule) - set(day_rule_ids)):
            rule = profile.rules.get(rid)
            cap = rule.cap if rule else None
            trails: list[PeriodTrail] = []
            total = raw_total = Decimal(0)
            for key in sorted(per_rule.get(rid, {})):
                items = per_rule[rid][key]
                by_day: dict[dt.date, Decimal] = {}
                for date, pts in items:
                    by_day[date] = by_day.get(date, Decimal(0)) + pts
                raw = sum((p for _, p in items), Decimal(0))
                capped = _cap(raw, cap)
                total += capped
                raw_total += raw
                trails.append(
                    PeriodTrail(
                        period=key,
                        raw_points=_num(raw),
                        points=_num(capped),
                        capped=capped != raw,
                        days=tuple((d, _num(p)) for d, p in sorted(by_day.items())),
                    )
                )
            totals[rid] = RuleTotal(
                rule=rid,
                points=_num(total),
                raw_points=_num(raw_total),
                cap=cap,
                cap_period=rule.cap_period if rule else None,
                periods=tuple(trails),
            )
        out[wid] = totals
    return out


def totals_json(totals: dict[str, dict[str, RuleTotal]]) -> dict[str, dict[str, float]]:
    """FORMATS.md ``totals``: worker -> rule id -> points after caps."""
    return {w: {r: t.points for r, t in rules.items()} for w, rules in totals.items()}


def trail_json(totals: dict[str, dict[str, RuleTotal]]) -> dict[str, dict[str, Any]]:
    """The trail behind ``totals``: per worker and rule, each cap period and its days."""
    return {
        w: {
            r: {
                "points": t.points,
                "raw_points": t.raw_points,
                "cap": t.cap,
                "cap_period": t.cap_period,
                "periods": [
                    {
                        "period": p.period,
                        "raw_points": p.raw_points,
                        "points": p.points,
                        "capped": p.capped,
                        "days": [{"date": d.isoformat(), "points": pts} for d, pts in p.days],
                    }
                    for p in t.periods
                ],
            }
            for r, t in rules.items()
        }
        for w, rules in totals.items()
    }
