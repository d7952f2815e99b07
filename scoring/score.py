"""One call from inputs to finished period scores (sheets, tiers, payouts), and what-if.

``score`` = ``period.score_period`` + ``tiers.assign_tiers`` + ``tiers.apply_payouts``.
``whatif`` scores the same inputs under two profiles and lists the differences per subject;
it changes nothing (pure).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scoring.dayjson import ScoredDay
from scoring.items import EnteredItem, Period
from scoring.period import DaySums, PeriodScores, Subject, num
from scoring.profiles import Profile
from scoring.tiers import apply_payouts, assign_tiers


def score(
    profile: Profile,
    period: Period,
    days: Iterable[ScoredDay],
    items: Iterable[EnteredItem] = (),
    roster: Mapping[str, Subject] | None = None,
    sums: Mapping[str, Mapping[str, DaySums]] | None = None,
) -> PeriodScores:
    """Period sheets for every subject with tiers and payouts (``sums``: see ``score_period``)."""
    from scoring.period import score_period

    items = list(items)
    scores = score_period(profile, period, list(days), items, roster, sums)
    scores = assign_tiers(profile, scores, items)
    return apply_payouts(profile, scores, items)


@dataclass(frozen=True)
class Difference:
    """How one subject's result differs between two profiles (None where it has no sheet)."""

    subject_id: str
    total_a: float | None
    total_b: float | None
    tier_a: str | None
    tier_b: str | None
    vetoed_a: bool | None
    vetoed_b: bool | None
    payout_a: float | None
    payout_b: float | None
    items: Mapping[str, tuple[float | None, float | None]]

    @property
    def changed(self) -> bool:
        """True if anything differs."""
        return (self.total_a, self.tier_a, self.vetoed_a, self.payout_a) != (
            self.total_b, self.tier_b, self.vetoed_b, self.payout_b) or bool(self.items)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        delta = None if self.total_a is None or self.total_b is None else round(self.total_b - self.total_a, 4)
        return {"subject_id": self.subject_id, "total": [self.total_a, self.total_b], "delta": delta,
                "tier": [self.tier_a, self.tier_b], "vetoed": [self.vetoed_a, self.vetoed_b],
                "payout": [self.payout_a, self.payout_b],
                "items": {k: list(v) for k, v in self.items.items()}}


def compare(a: PeriodScores, b: PeriodScores) -> list[Difference]:
    """Per subject differences between two scorings of the same inputs (all subjects listed)."""
    sa, sb = a.by_subject(), b.by_subject()
    out = []
    for sid in sorted(set(sa) | set(sb)):
        x, y = sa.get(sid), sb.get(sid)
        ix = {i.rule: num(i.points) for i in x.items} if x else {}
        iy = {i.rule: num(i.points) for i in y.items} if y else {}
        items = {r: (ix.get(r), iy.get(r)) for r in sorted(set(ix) | set(iy)) if ix.get(r) != iy.get(r)}
        out.append(Difference(
            sid,
            num(x.total) if x else None, num(y.total) if y else None,
            x.tier_label if x else None, y.tier_label if y else None,
            x.vetoed if x else None, y.vetoed if y else None,
            num(x.payout_total()) if x else None, num(y.payout_total()) if y else None,
            items,
        ))
    return out


def whatif(
    profile_a: Profile,
    profile_b: Profile,
    period: Period,
    days: Iterable[ScoredDay],
    items_a: Iterable[EnteredItem] = (),
    items_b: Iterable[EnteredItem] | None = None,
    roster: Mapping[str, Subject] | None = None,
) -> tuple[PeriodScores, PeriodScores, list[Difference]]:
    """Score the same days (and items) under two profiles; return both and the differences."""
    days = list(days)
    items_a = list(items_a)
    a = score(profile_a, period, days, items_a, roster)
    b = score(profile_b, period, days, items_a if items_b is None else list(items_b), roster)
    return a, b, compare(a, b)
