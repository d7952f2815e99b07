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


def volume_days(days: Sequence[ScoredDay]) -> list[ScoredDay]:
    """NB-VOLUME's days: working days that carry report counts (evaluated with cases)."""
    return [d for d in days if d.reports is not None and d.result.working_day]


def volume_evidence(days: Sequence[ScoredDay], grid_count: Decimal) -> list[Mapping[str, Any]]:
    """One evidence row per day: valid reports, total, ratio and the valid case ids."""
    return [{"worker_id": d.result.worker_id, "date": d.result.date.isoformat(),
             "valid": d.reports.valid, "total": d.reports.total,
             "ratio": float(Decimal(d.reports.valid) / grid_count), "case_ids": list(d.reports.valid_ids)}
            for d in days if d.reports is not None]
