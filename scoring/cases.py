"""Rules judged on case records (事件): NB-ARRIVE, NB-VOLUME and YK-CASE-SLA when the profile
says ``source: computed``.

The engine (``geo.arrival``) has judged each instruction's arrival and counted each day's
reports; this module turns those into trail entries, one per case, whose evidence names the
case id. Points come from the rule's ``entered`` items (the same numbers a township types in
when it runs cases elsewhere and sets ``source: entered``); the words people read come from
the rule's ``params.reasons`` (Chinese, profile data), formatted with the case's figures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from geo.types import CaseVerdict
from scoring.dayjson import ScoredDay
from scoring.items import Period
from scoring.profiles import Rule

ZERO = Decimal(0)
COMPUTED = "computed"


def computed(rule: Rule) -> bool:
    """True if the profile has this rule judged from case records."""
    return rule.source == COMPUTED


def computed_rules(profile: Any) -> list[Rule]:
    """The rules of ``profile`` judged from case records, in profile order."""
    return [r for r in profile.rules.values() if computed(r)]


def _points(rule: Rule, item: str) -> Decimal:
    spec = rule.entered_item(item)
    if spec is None or "points" not in spec:
        raise ValueError(f"{rule.id}: computed from cases needs entered item {item!r} with points")
    return Decimal(str(spec["points"]))


def _words(rule: Rule, key: str, **figures: Any) -> str:
    return str(rule.params["reasons"][key]).format(**figures)


def _local(t: float | None, tz: ZoneInfo) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(round(t), tz).isoformat()


def _ev(day: ScoredDay, v: CaseVerdict, tz: ZoneInfo, **more: Any) -> dict[str, Any]:
    return {"worker_id": day.result.worker_id, "date": day.result.date.isoformat(),
            "case_id": v.case.case_id, "kind": v.case.kind,
            "created_at": _local(v.case.created_at, tz), **more}


def arrive_trail(rule: Rule, days: Sequence[ScoredDay], tz: str) -> list[tuple[str, Decimal, str, dict, bool]]:
    """NB-ARRIVE: one entry per instruction arrived late or not at all (off duty: not charged)."""
    z = ZoneInfo(tz)
    per = _points(rule, "arrived_late")
    limit_min = int(rule.params["within_s"]) // 60
    out = []
    for d in days:
        for v in d.cases:
            if v.case.kind != "instruction" or v.arrival not in ("late", "none"):
                continue
            minutes = None if v.arrival_s is None else round(v.arrival_s / 60)
            words = _words(rule, v.arrival, minutes=minutes, limit=limit_min)
            ev = _ev(d, v, z, arrived_at=_local(v.arrived_at, z), arrival_s=v.arrival_s, arrival=v.arrival)
            if not v.on_duty:
                out.append((rule.id, ZERO, words + _words(rule, "off_duty"), ev, False))
            else:
                out.append((rule.id, per, words, ev, True))
    return out


def sla_trail(rule: Rule, days: Sequence[ScoredDay], period: Period, tz: str
              ) -> list[tuple[str, Decimal, str, dict, bool]]:
    """YK-CASE-SLA: each instruction (a case handed to the worker) not accepted within
    ``accept_within_h`` (``case_not_handled``), or accepted and not closed within
    ``close_within_d`` days, ``close_complex_within_d`` for a complex one
    (``case_no_result_in_time``). A report the office rejected is not judged. A clock still
    running at the end of the period (deadline after it, nothing done) is shown uncharged.
    """
    z = ZoneInfo(tz)
    p = rule.params
    # the end of the period's last day (not the next midnight: 9999-12-31 has no next day)
    end = dt.datetime.combine(period.end, dt.time(23, 59, 59, 999999), tzinfo=z).timestamp()
    not_handled, no_result = _points(rule, "case_not_handled"), _points(rule, "case_no_result_in_time")
    out = []
    for d in days:
        for v in d.cases:
            c = v.case
            if c.kind != "instruction" or c.valid is False:
                continue
            accept_by = c.created_at + float(p["accept_within_h"]) * 3600
            close_d = p["close_complex_within_d"] if c.complex else p["close_within_d"]
            close_by = c.created_at + float(close_d) * 86400
            ev = _ev(d, v, z, accepted_at=_local(c.accepted_at, z), closed_at=_local(c.closed_at, z),
                     complex=c.complex, accept_by=_local(accept_by, z), close_by=_local(close_by, z))
            if c.accepted_at is None or c.accepted_at > accept_by:
                if c.accepted_at is None and accept_by > end:
                    out.append((rule.id, ZERO, _words(rule, "pending"), ev, False))
                else:
                    hours = None if c.accepted_at is None else round((c.accepted_at - c.created_at) / 3600, 1)
                    out.append((rule.id, not_handled, _words(rule, "not_handled", hours=hours,
                                                             limit=p["accept_within_h"]), ev, True))
                continue
            if c.closed_at is None or c.closed_at > close_by:
                if c.closed_at is None and close_by > end:
                    out.append((rule.id, ZERO, _words(rule, "pending"), ev, False))
                else:
                    out.append((rule.id, no_result, _words(rule, "no_result", limit=close_d,
                                                           complex="复杂事件" if c.complex else "一般事件"),
                                ev, True))
    return out


GRID_REPORTS = "grid_reports"


def grid_verdict(rule: Rule, v: CaseVerdict) -> str | None:
    """YK-HAZARD / YK-SAFETY on a case found by others in the worker's grid: ``ok`` (the
    worker reported it first or within ``report_within_h``), ``late``, ``missed``; None when
    the rule does not judge it (another category, or the office found the report invalid)."""
    c = v.case
    if c.kind != "grid" or c.category not in rule.params["categories"] or c.valid is False:
        return None
    if v.own_report_s is None:
        return "missed"
    return "late" if v.own_report_s > float(rule.params["report_within_h"]) * 3600 else "ok"


def grid_trail(rule: Rule, days: Sequence[ScoredDay], tz: str) -> list[tuple[str, Decimal, str, dict, bool]]:
    """YK-HAZARD / YK-SAFETY computed: one entry per case of the rule's categories found by
    others in the worker's grid and reported late or not at all by the worker; the points
    are those of the entered item the profile maps the verdict to (``params.items``)."""
    z = ZoneInfo(tz)
    p = rule.params
    out = []
    for d in days:
        for v in d.cases:
            verdict = grid_verdict(rule, v)
            if verdict is None or verdict == "ok":
                continue
            found = dt.datetime.fromtimestamp(round(v.case.created_at), z).strftime("%m-%d %H:%M")
            hours = None if v.own_report_s is None else round(v.own_report_s / 3600, 1)
            words = _words(rule, verdict, category=v.case.category, found=found, hours=hours,
                           limit=p["report_within_h"])
            ev = _ev(d, v, z, verdict=verdict, own_report_s=v.own_report_s, item=p["items"][verdict])
            out.append((rule.id, _points(rule, p["items"][verdict]), words, ev, True))
    return out


def volume_days(days: Sequence[ScoredDay]) -> list[ScoredDay]:
    """NB-VOLUME's days: working days that carry report counts (evaluated with cases)."""
    return [d for d in days if d.reports is not None and d.result.working_day]


def volume_evidence(days: Sequence[ScoredDay], grid_count: Decimal) -> list[Mapping[str, Any]]:
    """One evidence row per day: valid reports, total, ratio and the valid case ids."""
    return [{"worker_id": d.result.worker_id, "date": d.result.date.isoformat(),
             "valid": d.reports.valid, "total": d.reports.total,
             "ratio": float(Decimal(d.reports.valid) / grid_count), "case_ids": list(d.reports.valid_ids)}
            for d in days if d.reports is not None]


def volume_ratio(valid: int, days: int, grids: Decimal) -> Decimal:
    """NB-VOLUME's ratio: the mean over ``days`` of valid reports / grids, as one division (so
    the days and their period sums give the same figure to the last digit)."""
    return (Decimal(valid) / (grids * days)).quantize(Decimal("0.0001"))


# ----------------------------------------------------------------------------- period sums


@dataclass
class CaseSums:
    """What a subject's case records add up to over a period (the part of ``DaySums`` a
    computed case rule reads): per rule the charged points and the counts of each verdict,
    the case ids of the charged entries (and NB-VOLUME's valid reports) as multisets, and
    NB-VOLUME's days, reports and the grid counts of the days (a multiset: the denominator is
    their largest, and a day taken out again must take its count with it). Sums of disjoint
    groups of days add up, and ``sign=-1`` takes a group out again exactly.
    """

    points: dict[str, Decimal] = field(default_factory=dict)  # rule -> charged points
    counts: dict[str, int] = field(default_factory=dict)  # "RULE.verdict" -> number
    ids: dict[str, dict[str, int]] = field(default_factory=dict)  # rule -> case id -> number
    grid_counts: dict[int, int] = field(default_factory=dict)  # a day's grid count -> days

    def add(self, other: CaseSums, sign: int = 1) -> CaseSums:
        """Add (``sign`` 1) or take out (-1) ``other``; returns self."""
        for rule, p in other.points.items():
            self.points[rule] = self.points.get(rule, ZERO) + sign * p
        for k, n in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + sign * n
        for rule, by in other.ids.items():
            mine = self.ids.setdefault(rule, {})
            for cid, n in by.items():
                mine[cid] = mine.get(cid, 0) + sign * n
        for g, n in other.grid_counts.items():
            self.grid_counts[g] = self.grid_counts.get(g, 0) + sign * n
        self._prune()
        return self

    def _prune(self) -> None:
        # zeros dropped, so that sums taken out again compare equal to sums never added
        self.counts = {k: n for k, n in self.counts.items() if n}
        self.grid_counts = {g: n for g, n in self.grid_counts.items() if n}
        self.ids = {r: {c: n for c, n in by.items() if n} for r, by in self.ids.items()}
        self.ids = {r: by for r, by in self.ids.items() if by}
        rules_seen = {k.split(".", 1)[0] for k in self.counts}
        self.points = {r: p for r, p in self.points.items() if p or r in rules_seen}

    def count(self, key: str) -> int:
        """The number under ``RULE.verdict`` (0 if none)."""
        return self.counts.get(key, 0)

    def case_ids(self, rule: str) -> list[str]:
        """The case ids counted under ``rule``, each once, sorted."""
        return sorted(self.ids.get(rule, {}))

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimals as exact strings)."""
        return {"points": {r: str(p) for r, p in sorted(self.points.items())},
                "counts": dict(sorted(self.counts.items())),
                "ids": {r: dict(sorted(by.items())) for r, by in sorted(self.ids.items())},
                "grid_counts": {str(g): n for g, n in sorted(self.grid_counts.items())}}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CaseSums:
        """Inverse of :meth:`to_json`."""
        return cls({r: Decimal(p) for r, p in doc.get("points", {}).items()},
                   {k: int(n) for k, n in doc.get("counts", {}).items()},
                   {r: {c: int(n) for c, n in by.items()} for r, by in doc.get("ids", {}).items()},
                   {int(g): int(n) for g, n in doc.get("grid_counts", {}).items()})

    def __bool__(self) -> bool:
        return bool(self.points or self.counts or self.ids or self.grid_counts)


def case_sums(rules: Sequence[Rule], days: Sequence[ScoredDay], period: Period, tz: str) -> CaseSums:
    """The :class:`CaseSums` of one subject's ``days`` for ``period`` under the computed case
    rules ``rules`` (YK-CASE-SLA's running clocks depend on the period's end)."""
    out = CaseSums()

    def take(rule: Rule, entries: Sequence[tuple[str, Decimal, str, dict, bool]], verdict: Any) -> None:
        for _r, pts, _reason, ev, charged in entries:
            key = f"{rule.id}.{verdict(ev, charged)}"
            out.counts[key] = out.counts.get(key, 0) + 1
            if charged:
                out.points[rule.id] = out.points.get(rule.id, ZERO) + pts
                by = out.ids.setdefault(rule.id, {})
                by[ev["case_id"]] = by.get(ev["case_id"], 0) + 1

    for rule in rules:
        if rule.params.get("measure") == "case_sla":
            take(rule, sla_trail(rule, days, period, tz),
                 lambda ev, charged: ("breached" if charged else "pending"))
            out.points.setdefault(rule.id, ZERO)
        elif rule.params.get("measure") == GRID_REPORTS:
            for d in days:
                for v in d.cases:
                    if grid_verdict(rule, v) == "ok":
                        out.counts[f"{rule.id}.ok"] = out.counts.get(f"{rule.id}.ok", 0) + 1
            take(rule, grid_trail(rule, days, tz), lambda ev, charged: ev["verdict"])
            out.points.setdefault(rule.id, ZERO)
        elif rule.params.get("measure") == "daily_volume_ratio":
            vd = volume_days(days)
            if vd:
                out.counts[f"{rule.id}.days"] = len(vd)
                out.counts[f"{rule.id}.valid"] = sum(d.reports.valid for d in vd)
                out.counts[f"{rule.id}.total"] = sum(d.reports.total for d in vd)
                by = out.ids.setdefault(rule.id, {})
                for d in vd:
                    for cid in d.reports.valid_ids:
                        by[cid] = by.get(cid, 0) + 1
            for d in days:
                if d.grid_count:
                    out.grid_counts[d.grid_count] = out.grid_counts.get(d.grid_count, 0) + 1
        else:  # NB-ARRIVE
            for d in days:
                for v in d.cases:
                    if v.case.kind == "instruction" and v.arrival == "ok":
                        key = f"{rule.id}.ok"
                        out.counts[key] = out.counts.get(key, 0) + 1
            take(rule, arrive_trail(rule, days, tz),
                 lambda ev, charged: ev["arrival"] if charged else "off_duty")
            out.points.setdefault(rule.id, ZERO)
    out._prune()
    return out
