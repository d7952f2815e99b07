"""Items entered or imported by offices (not from phones), and the periods they fall in.

An :class:`EnteredItem` is one line of an office's sheet: a count of findings, a survey rate,
a rank, a score or a reward, under a rule id of the profile, for one subject (a worker, an
office, or for the township's county rank any id), dated to a day or to a whole period, with
the evidence note that justifies it. :func:`check_items` checks them against a profile.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from scoring.profiles import Profile


class ItemError(ValueError):
    """An entered item the profile cannot use: names its source (file, line) and field."""

    def __init__(self, item: EnteredItem | None, field: str | None, message: str):
        self.item, self.field, self.message = item, field, message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.item is not None:
            parts.append(self.item.source or f"item {self.item.item_id}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) + (": " if parts else "") + self.message


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month (``2026-03``), quarter (``2026Q1``) or year (``2026``), dates inclusive."""

    kind: str
    start: dt.date
    end: dt.date
    label: str

    def contains(self, date: dt.date) -> bool:
        """True if ``date`` lies in the period."""
        return self.start <= date <= self.end

    def covers(self, other: Period) -> bool:
        """True if ``other`` lies wholly inside this period."""
        return self.start <= other.start and other.end <= self.end

    def sub_periods(self, kind: str) -> list[Period]:
        """The months or quarters of this period, in order."""
        out: list[Period] = []
        year, month = self.start.year, self.start.month
        step = {"month": 1, "quarter": 3, "year": 12}[kind]
        # compared as (year, month): the month after the end may lie past 9999-12 (no date)
        while (year, month) <= (self.end.year, self.end.month):
            out.append(period_of(dt.date(year, month, 1), kind))
            month += step
            if month > 12:
                year, month = year + 1, month - 12
        return out


_RE = {
    "month": re.compile(r"^(\d{4})-(\d{2})$"),
    "quarter": re.compile(r"^(\d{4})Q([1-4])$"),
    "year": re.compile(r"^(\d{4})$"),
    "year_of": re.compile(r"^(\d{4})(?:-\d{2}|Q[1-4])?$"),
}


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:  # not via the next January: 9999-12 has no next month in datetime
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def parse_period(text: str) -> Period:
    """``2026-03`` / ``2026Q1`` / ``2026`` -> :class:`Period`; ValueError otherwise."""
    s = text.strip().upper()
    if (m := _RE["year_of"].match(s)) and int(m[1]) < 1:
        raise ValueError(f"{text!r}: year {m[1]} is not 0001-9999")
    if m := _RE["month"].match(s):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ValueError(f"{text!r}: month {mo} is not 01-12")
        return Period("month", dt.date(y, mo, 1), _month_end(y, mo), f"{y:04d}-{mo:02d}")
    if m := _RE["quarter"].match(s):
        y, q = int(m[1]), int(m[2])
        return Period("quarter", dt.date(y, 3 * q - 2, 1), _month_end(y, 3 * q), f"{y:04d}Q{q}")
    if m := _RE["year"].match(s):
        y = int(m[1])
        return Period("year", dt.date(y, 1, 1), dt.date(y, 12, 31), f"{y:04d}")
    raise ValueError(f"{text!r} is not a period (YYYY-MM, YYYYQn or YYYY)")


def period_of(date: dt.date, kind: str) -> Period:
    """The month, quarter or year containing ``date``."""
    if kind == "month":
        return parse_period(f"{date.year:04d}-{date.month:02d}")
    if kind == "quarter":
        return parse_period(f"{date.year:04d}Q{(date.month - 1) // 3 + 1}")
    return parse_period(f"{date.year:04d}")


@dataclass(frozen=True)
class EnteredItem:
    """One item entered by an office, with its evidence note.

    ``value`` is a count (findings, leave days, articles; default 1), a rate in [0, 1]
    (YK-SURVEY, exactly as entered: ``Decimal``), a rank (YK-REWARD-FT), a score (QS-YEAR
    management_score) or a number of reports (NB-VOLUME). Either ``date`` or ``period`` is set.
    """

    item_id: str
    subject_id: str
    rule: str
    item: str
    value: Decimal
    note: str
    date: dt.date | None = None
    period: Period | None = None
    entered_by: str | None = None
    source: str | None = None  # "file, line N" for error messages and the trail

    def within(self, period: Period) -> bool:
        """True if the item's date or period lies inside ``period``."""
        if self.date is not None:
            return period.contains(self.date)
        return self.period is not None and period.covers(self.period)

    def when(self) -> str:
        """The date or period label."""
        return self.date.isoformat() if self.date is not None else (self.period.label if self.period else "")

    def evidence(self) -> dict[str, object]:
        """The trail's evidence of this item."""
        ev: dict[str, object] = {"item_id": self.item_id, "item": self.item, "value": _num(self.value),
                                 "when": self.when(), "note": self.note}
        if self.entered_by:
            ev["entered_by"] = self.entered_by
        if self.source:
            ev["source"] = self.source
        return ev


def _num(d: Decimal) -> float | int:
    return int(d) if d == d.to_integral_value() else float(d)


TIER_QUOTA_ITEMS = ("quota_excellent", "quota_good", "quota_pass")
# the township decides to tier a worker who has no judged day (subject: the worker, value 1)
TIER_INCLUDE_ITEM = "tier_include"
FT_RANK_ITEMS = ("county_rank_month", "county_rank_year")


def allowed_items(profile: Profile, rule_id: str) -> set[str]:
    """The item codes an office may enter under ``rule_id`` in ``profile``."""
    rule = profile.rules[rule_id]
    codes = {e["item"] for e in rule.entered}
    if rule.kind == "rate" and rule.params.get("measure") == "survey_tiers":
        codes |= set(rule.params["sub_items"])
    if rule.kind == "veto":
        codes |= set(rule.params.get("conditions", ()))
    if rule.kind == "tier":
        codes |= {*TIER_QUOTA_ITEMS, TIER_INCLUDE_ITEM}
    if rule.kind == "reward" and ("monthly" in rule.params or "yearly" in rule.params):
        codes |= set(FT_RANK_ITEMS)
    return codes


def check_items(items: Iterable[EnteredItem], profile: Profile) -> list[EnteredItem]:
    """Check rule ids, item codes, values and ids against ``profile``; return the items."""
    out = list(items)
    seen: dict[str, EnteredItem] = {}
    for it in out:
        if it.item_id in seen:
            raise ItemError(it, "item_id", f"item id {it.item_id!r} used twice (also {seen[it.item_id].source})")
        seen[it.item_id] = it
        if it.rule not in profile.rules:
            raise ItemError(it, "rule", f"rule {it.rule!r} is not in profile {profile.id}")
        codes = allowed_items(profile, it.rule)
        if it.item not in codes:
            known = ", ".join(sorted(codes)) or "none"
            raise ItemError(it, "item", f"item {it.item!r} is not one of {it.rule}'s items ({known})")
        rule = profile.rules[it.rule]
        if rule.kind == "rate" and rule.params.get("measure") == "survey_tiers" and not 0 <= it.value <= 1:
            raise ItemError(it, "value", f"a rate must be within 0-1 or 0%-100%, got {it.value}")
        if it.item in FT_RANK_ITEMS and (it.value < 1 or it.value != it.value.to_integral_value()):
            raise ItemError(it, "value", f"a rank is a whole number from 1, got {it.value}")
        if it.value < 0:
            raise ItemError(it, "value", f"a negative value {it.value} (enter counts, rates, ranks or scores)")
    return out
