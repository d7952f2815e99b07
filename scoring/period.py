"""Period scores: day results + entered items -> one score sheet per subject and period.

Each rule item of the profile starts at its points (``points``); its deductions over the
period (day deductions of ``scoring.day``, derived ones such as QS-POS-COLLECTIVE, entered
findings) are added and stopped at the item's cap (扣完为止). Items without points (YK-ATT)
and bonus items (YK-BONUS) are not capped (上不封顶, 下不保底). Rate items (YK-SURVEY,
NB-ONLINE, NB-VOLUME) are scored from their measure. A veto (YK-VETO) comes from an entered
condition or a total below the profile's minimum. Every entry of the trail names its rule id
and its evidence: the worker-day (date, window or interval) or the entered item (id, note).

How a period is scored is profile data (``period_scores``): ``items`` for the rule items,
``mean`` of shorter periods, or ``formula`` (QS-YEAR). Arithmetic is decimal.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from scoring import cases as case_rules
from scoring.day import day_deductions
from scoring.dayjson import ScoredDay
from scoring.items import EnteredItem, ItemError, Period, check_items, parse_period, period_of
from scoring.profiles import Profile, Rule, default_words, note

ZERO = Decimal(0)
MICRO = Decimal("0.000001")


class ScoreError(ValueError):
    """Inputs the profile cannot score (for example an office profile without offices)."""


def D(x: float | int | str | Decimal) -> Decimal:
    """Exact decimal of a profile number or a float (through its shortest repr)."""
    return x if isinstance(x, Decimal) else Decimal(str(x))


def num(d: Decimal | None) -> float | int | None:
    """JSON number of a decimal: an int when whole, else a float; -0 becomes 0."""
    if d is None:
        return None
    if d == d.to_integral_value():
        return int(d)
    return float(d) + 0.0


@dataclass(frozen=True)
class Subject:
    """Who is scored: a worker (role, village) or an office (办事处, the roster's village_id)."""

    subject_id: str
    kind: str  # "worker" | "office"
    role: str | None = None
    village_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class TrailEntry:
    """One signed contribution under a rule id with its reason and evidence.

    ``charged`` False: shown for the record but not counted (a free leave day, an individual
    phone-off inside a collective one, an item for another role).
    """

    rule: str
    points: Decimal
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    charged: bool = True

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out = {"rule": self.rule, "points": num(self.points), "reason": self.reason, "evidence": dict(self.evidence)}
        if not self.charged:
            out["charged"] = False
        return out


@dataclass(frozen=True)
class ItemScore:
    """One rule item of a sheet: its maximum, the raw sum of its trail, the points after the cap."""

    rule: str
    title: str
    part: str | None
    kind: str
    max_points: Decimal | None
    raw_points: Decimal
    points: Decimal
    capped: bool
    trail: tuple[TrailEntry, ...]
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rule": self.rule, "title": self.title, "part": self.part, "kind": self.kind,
            "max_points": num(self.max_points), "raw_points": num(self.raw_points),
            "points": num(self.points), "capped": self.capped, "detail": dict(self.detail),
            "trail": [t.to_json() for t in self.trail],
        }


@dataclass(frozen=True)
class Payout:
    """Money (or a title) due under a reward rule, with how it was decided."""

    rule: str
    amount: Decimal | None
    reason: str
    period: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"rule": self.rule, "amount": num(self.amount), "reason": self.reason, "period": self.period,
                "evidence": dict(self.evidence)}


@dataclass(frozen=True)
class Sheet:
    """A subject's score sheet for one period."""

    subject: Subject
    period: str
    method: str
    items: tuple[ItemScore, ...]
    total: Decimal
    veto: tuple[TrailEntry, ...] = ()
    incomplete: tuple[str, ...] = ()
    sub_scores: tuple[tuple[str, Decimal], ...] = ()
    tier: str | None = None
    tier_label: str | None = None
    tier_note: str | None = None
    rank: int | None = None
    payouts: tuple[Payout, ...] = ()
    no_data: str | None = None  # why nothing phone-based was judged (no grid, no judged day)

    @property
    def vetoed(self) -> bool:
        """True if any veto applies."""
        return bool(self.veto)

    def item(self, rule: str) -> ItemScore | None:
        """The item of ``rule``, if the sheet has one."""
        for it in self.items:
            if it.rule == rule:
                return it
        return None

    def item_points(self, rule: str) -> Decimal:
        """Points of the item of ``rule`` (0 if absent)."""
        it = self.item(rule)
        return it.points if it is not None else ZERO

    def payout_total(self) -> Decimal:
        """Sum of the money payouts."""
        return sum((p.amount for p in self.payouts if p.amount is not None), ZERO)

    def to_json(self) -> dict[str, Any]:
        """The score sheet as JSON: items with their trail, total, veto, tier, payouts."""
        s = self.subject
        return {
            "subject_id": s.subject_id, "subject_kind": s.kind, "name": s.name, "role": s.role,
            "village_id": s.village_id, "period": self.period, "method": self.method,
            "items": [i.to_json() for i in self.items], "total": num(self.total),
            "sub_scores": [{"period": p, "total": num(t)} for p, t in self.sub_scores],
            "vetoed": self.vetoed, "veto": [v.to_json() for v in self.veto],
            "incomplete": list(self.incomplete), "rank": self.rank, "tier": self.tier,
            "tier_label": self.tier_label, "tier_note": self.tier_note,
            "payouts": [p.to_json() for p in self.payouts], "payout_total": num(self.payout_total()),
        }


# ----------------------------------------------------------------------------- subjects
def office_profile(profile: Profile) -> bool:
    """True if the profile scores offices (its first subject is ``office``)."""
    return profile.subjects[0] == "office"


def township_item(profile: Profile, it: EnteredItem) -> bool:
    """True for items about the township or a village group, not a scored subject."""
    rule = profile.rules[it.rule]
    return rule.kind in ("tier",) or (rule.kind == "reward" and it.item.startswith("county_rank"))


def subjects_of(
    profile: Profile,
    days: Sequence[ScoredDay],
    items: Sequence[EnteredItem],
    roster: Mapping[str, Subject] | None = None,
    from_sums: Mapping[str, Subject] | None = None,
) -> dict[str, Subject]:
    """Every subject to score: roster and day workers (or their offices) and item subjects.

    ``from_sums``: subjects known from day sums (workers, or offices for an office profile).
    """
    roster = dict(roster or {})
    workers: dict[str, Subject] = dict(roster)
    office = office_profile(profile)
    for sid, subj in (from_sums or {}).items():
        if not office and sid not in workers:
            workers[sid] = subj
        elif not office and workers[sid].village_id is None and subj.village_id is not None:
            workers[sid] = replace(workers[sid], village_id=subj.village_id)
    for d in days:
        r = d.result
        if r.worker_id not in workers:
            workers[r.worker_id] = Subject(r.worker_id, "worker", r.role, d.village_id)
        elif workers[r.worker_id].village_id is None and d.village_id is not None:
            workers[r.worker_id] = replace(workers[r.worker_id], village_id=d.village_id)
    if not office_profile(profile):
        out = dict(workers)
        for it in items:
            if not township_item(profile, it) and it.subject_id not in out:
                if roster:
                    raise ItemError(it, "subject_id", f"worker {it.subject_id!r} is not in the roster")
                out[it.subject_id] = Subject(it.subject_id, "worker")
        return dict(sorted(out.items()))
    offices: dict[str, Subject] = {sid: subj for sid, subj in (from_sums or {}).items()}
    for w in workers.values():
        if w.village_id is None:
            raise ScoreError(
                f"profile {profile.id} scores offices: worker {w.subject_id} has no office "
                "(pass the roster, whose village_id is the office)"
            )
        offices.setdefault(w.village_id, Subject(w.village_id, "office", None, w.village_id))
    for it in items:
        if not township_item(profile, it) and it.subject_id not in offices:
            if roster:
                raise ItemError(it, "subject_id", f"office {it.subject_id!r} is not a village_id of the roster")
            offices[it.subject_id] = Subject(it.subject_id, "office", None, it.subject_id)
    return dict(sorted(offices.items()))


# ----------------------------------------------------------------------------- trail pieces
def _day_trail(profile: Profile, day: ScoredDay) -> list[TrailEntry]:
    r = day.result
    out = []
    for ded in day_deductions(r, profile):
        ev = {"worker_id": r.worker_id, "date": r.date.isoformat(), **dict(ded.evidence)}
        out.append(TrailEntry(ded.rule, D(ded.points), ded.reason, ev))
    return out


def _iso_ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def collective_phone_off(
    rule: Rule, office_id: str, days: Sequence[ScoredDay], tz: str
) -> list[tuple[TrailEntry, float, float, frozenset[str]]]:
    """QS-POS-COLLECTIVE occurrences of one office on one date.

    An occurrence is a maximal interval during which at least ``min_share_of_on_duty`` of the
    office's on-duty people (duty_s > 0 that day; at least ``min_people``) are phone-off at
    once, lasting at least ``min_overlap_s``. Returns (entry, start, end, workers).
    """
    from zoneinfo import ZoneInfo

    p = rule.params
    on_duty = [d for d in days if d.result.duty_s > 0]
    n = len(on_duty)
    need = max(int(p["min_people"]), math.ceil(D(p["min_share_of_on_duty"]) * n))
    if n < need:
        return []
    events: list[tuple[float, int, str]] = []
    for d in on_duty:
        for po in d.result.phone_off:
            events.append((po.start, 1, d.result.worker_id))
            events.append((po.end, -1, d.result.worker_id))
    events.sort(key=lambda e: (e[0], e[1]))  # ends before starts at the same instant
    off: set[str] = set()
    out = []
    start: float | None = None
    members: set[str] = set()
    z = ZoneInfo(tz)
    for t, delta, wid in events:
        if delta == 1:
            off.add(wid)
        else:
            off.discard(wid)
        if len(off) >= need and start is None:
            start, members = t, set(off)
        elif len(off) >= need:
            members |= off
        elif start is not None:
            if t - start >= float(p["min_overlap_s"]):
                date = on_duty[0].result.date.isoformat()
                s_txt = dt.datetime.fromtimestamp(start, z).isoformat(timespec="seconds")
                e_txt = dt.datetime.fromtimestamp(t, z).isoformat(timespec="seconds")
                ev = {"office_id": office_id, "date": date, "start": s_txt, "end": e_txt,
                      "duration_s": int(round(t - start)), "on_duty": n, "needed": need,
                      "workers": sorted(members)}
                reason = note("collective_phone_off", start=s_txt[11:16], end=e_txt[11:16],
                              members=len(members), n=n, need=need)
                out.append((TrailEntry(rule.id, D(p["points"]), reason, ev), start, t, frozenset(members)))
            start, members = None, set()
    return out


def _entered_trail(profile: Profile, items: Sequence[EnteredItem], subject: Subject) -> list[TrailEntry]:
    """Entries of the entered items of one rule for one subject (free-per-month handled)."""
    out: list[TrailEntry] = []
    free_used: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for it in sorted(items, key=lambda i: (i.when(), i.item_id)):
        rule = profile.rules[it.rule]
        spec = rule.entered_item(it.item)
        if spec is None or "points" not in spec:
            continue
        pts = D(spec["points"])
        ev = it.evidence()
        roles = spec.get("roles")
        if roles and subject.role is not None and subject.role not in roles:
            out.append(TrailEntry(it.rule, ZERO, note("entered_roles", item=it.item, roles="、".join(profile.label("role", r) for r in roles),
                                       role=profile.label("role", subject.role)),
                                  ev, charged=False))
            continue
        free = spec.get("free_per_month")
        count = it.value
        if free is not None:
            month = it.date.strftime("%Y-%m") if it.date else (it.period.label[:7] if it.period else "")
            key = (it.rule, it.item, month)
            free_left = max(ZERO, D(free) - free_used[key])
            free_here = min(free_left, count)
            free_used[key] += count
            if free_here > 0:
                out.append(TrailEntry(it.rule, ZERO, note("entered_free", item=it.item, n=num(free_here), free=free),
                                      ev, charged=False))
            count -= free_here
            if count <= 0:
                continue
        reason = f"{it.item} x{num(count)} ({it.note})" if count != 1 else f"{it.item} ({it.note})"
        out.append(TrailEntry(it.rule, pts * count, reason, ev))
    return out


# ----------------------------------------------------------------------------- rate measures
def step_points(params: Mapping[str, Any], max_points: Decimal, rate: Decimal) -> tuple[Decimal, str]:
    """NB-ONLINE / NB-VOLUME: full points at ``min_rate``, ``points_per_step`` per 5 % below, 0 below ``zero_below``."""
    lo, hi, step = D(params["min_rate"]), D(params["zero_below"]), D(params["step"])
    if rate >= lo:
        return max_points, note("step_full", rate=_pct(rate), min=_pct(lo))
    if rate < hi:
        return ZERO, note("step_zero", rate=_pct(rate), zero=_pct(hi))
    steps = (lo - rate) / step
    rounding = ROUND_FLOOR if params["step_rounding"] == "full_steps" else ROUND_CEILING
    n = steps.to_integral_value(rounding=rounding)
    pts = max(ZERO, max_points + n * D(params["points_per_step"]))
    return pts, note("step_some", rate=_pct(rate), n=num(n), step=_pct(step), min=_pct(lo))


def survey_points(params: Mapping[str, Any], rate: Decimal) -> tuple[Decimal, Decimal]:
    """YK-SURVEY: (points, min_rate of the tier) for a rate: the first tier with rate >= min_rate."""
    for t in params["tiers"]:
        if rate >= D(t["min_rate"]):
            return D(t["points"]), D(t["min_rate"])
    raise ScoreError(f"no survey tier for rate {rate}")  # unreachable: the last tier is 0


def _pct(d: Decimal) -> str:
    return f"{num((d * 100).normalize())}%"


def _mean(values: Sequence[Decimal]) -> Decimal:
    return sum(values, ZERO) / len(values)


# ----------------------------------------------------------------------------- one sheet
@dataclass
class DaySums:
    """What a subject's day results add up to over a period: all a sheet needs of the days.

    Every day-based input of the item rules is a sum: per rule id, the charged points of the
    day trail and their count (caps and floors apply to the sum, so they are applied when a
    sheet is built, never here); for the online rate (NB-ONLINE) the on-duty seconds and the
    online seconds of the days with a rate; the number of days. Sums of disjoint groups of
    days add up (:meth:`add`), and a group's old sums can be taken out again (``sign=-1``):
    a group is one worker-day, or for an office profile the office's worker-days of one date
    (QS-POS-COLLECTIVE is decided within that group). ``first``/``last`` only widen (a day
    is replaced, never removed); ``role``/``village_id`` name a subject outside the roster.
    """

    rules: dict[str, list[Any]] = field(default_factory=dict)  # rule -> [points, count]
    days: int = 0
    rate_days: int = 0
    duty_s: Decimal = ZERO
    online_s: Decimal = ZERO
    first: dt.date | None = None
    last: dt.date | None = None
    role: str | None = None
    village_id: str | None = None
    # the case records of the days under the rules computed from them (docs/cases.md); per
    # period, since YK-CASE-SLA's running clocks depend on the period's end
    cases: case_rules.CaseSums = field(default_factory=case_rules.CaseSums)

    def add(self, other: DaySums, sign: int = 1) -> DaySums:
        """Add (``sign`` 1) or take out (-1) ``other``; returns self."""
        for rule, (pts, n) in other.rules.items():
            cur = self.rules.setdefault(rule, [ZERO, 0])
            cur[0] += sign * pts
            cur[1] += sign * n
            if cur[1] == 0 and cur[0] == 0:
                del self.rules[rule]
        self.days += sign * other.days
        self.rate_days += sign * other.rate_days
        self.duty_s += sign * other.duty_s
        self.online_s += sign * other.online_s
        if other.first is not None:
            self.first = other.first if self.first is None else min(self.first, other.first)
            self.last = other.last if self.last is None else max(self.last, other.last or self.last)
        self.role = self.role or other.role
        self.village_id = self.village_id or other.village_id
        if other.cases:
            self.cases.add(other.cases, sign)
        return self

    def points(self, rule: str) -> Decimal:
        """Charged day points of ``rule`` (0 if none)."""
        got = self.rules.get(rule)
        return got[0] if got else ZERO

    def to_json(self) -> dict[str, Any]:
        """JSON form (decimals as exact strings)."""
        return {"rules": {r: [str(p), n] for r, (p, n) in sorted(self.rules.items())},
                "days": self.days, "rate_days": self.rate_days, "duty_s": str(self.duty_s),
                "online_s": str(self.online_s),
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "role": self.role, "village_id": self.village_id,
                **({"cases": self.cases.to_json()} if self.cases else {})}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DaySums:
        """Inverse of :meth:`to_json`."""
        return cls({r: [Decimal(p), int(n)] for r, (p, n) in doc.get("rules", {}).items()},
                   int(doc.get("days", 0)), int(doc.get("rate_days", 0)),
                   Decimal(doc.get("duty_s", "0")), Decimal(doc.get("online_s", "0")),
                   dt.date.fromisoformat(doc["first"]) if doc.get("first") else None,
                   dt.date.fromisoformat(doc["last"]) if doc.get("last") else None,
                   doc.get("role"), doc.get("village_id"),
                   case_rules.CaseSums.from_json(doc.get("cases") or {}))

    def same(self, other: DaySums) -> bool:
        """Equal in everything a sheet uses (the rule sums, days and rate measures)."""
        return (self.rules == other.rules and self.days == other.days
                and self.rate_days == other.rate_days and self.duty_s == other.duty_s
                and self.online_s == other.online_s and self.cases == other.cases)


@dataclass
class _Inputs:
    days: list[ScoredDay]
    items: list[EnteredItem]
    trail: list[TrailEntry]
    sums: DaySums | None = None  # given: the days are not at hand, only their sums

    def day_sums(self) -> DaySums:
        if self.sums is None:
            self.sums = _sums_of(self)
        return self.sums


def _sums_of(inp: _Inputs) -> DaySums:
    """The sums of the day part of ``inp`` (its days and their trail entries)."""
    s = DaySums()
    for t in inp.trail:
        if t.charged:
            cur = s.rules.setdefault(t.rule, [ZERO, 0])
            cur[0] += t.points
            cur[1] += 1
    for d in inp.days:
        r = d.result
        s.days += 1
        s.first = r.date if s.first is None else min(s.first, r.date)
        s.last = r.date if s.last is None else max(s.last, r.date)
        s.role = s.role or r.role
        s.village_id = s.village_id or d.village_id
        if r.online_rate is not None and r.duty_s > 0:
            s.rate_days += 1
            s.duty_s += D(r.duty_s)
            # to the microsecond: sums of exact products of float rates would need more digits
            # than the decimal context keeps, and taking a day out again must be exact
            s.online_s += (D(r.online_rate) * D(r.duty_s)).quantize(MICRO)
    return s


def day_sums(profile: Profile, days: Iterable[ScoredDay], period: Period | None = None
             ) -> dict[str, DaySums]:
    """Fold worker-days into per-subject :class:`DaySums` (worker, or office for an office profile).

    ``days`` must hold whole groups (see :class:`DaySums`); the result of disjoint groups
    adds up to the result of all their days at once. ``period``: the period summed, needed
    for the case part when the profile computes a rule from case records (else left empty).
    """
    got = _day_inputs(profile, list(days))
    out = {k: inp.day_sums() for k, inp in got.items()}
    rules = case_rules.computed_rules(profile)
    if period is not None and rules:
        for k, inp in got.items():
            out[k].cases = case_rules.case_sums(rules, inp.days, period, profile.timezone)
    return out


def _rate_item(rule: Rule, inputs: _Inputs, period: Period, incomplete: list[str]) -> ItemScore:
    p = rule.params
    max_pts = D(rule.points or 0)
    trail: list[TrailEntry] = []
    detail: dict[str, Any] = {}
    if p["measure"] == "survey_tiers":
        total = ZERO
        for sub in p["sub_items"]:
            entries = [i for i in inputs.items if i.rule == rule.id and i.item == sub]
            each = D(p["points_each"])
            if not entries:
                name = default_words()["labels"]["item"].get(sub, sub)
                incomplete.append(note("no_rate", rule=rule.id, item=name, period=period.label))
                trail.append(TrailEntry(rule.id, -each, note("no_rate_trail", item=name),
                                        {"item": sub}))
                detail[sub] = None
                continue
            rate = _mean([i.value for i in entries])
            pts, tier_min = survey_points(p, rate)
            total += pts
            detail[sub] = {"rate": num(rate), "points": num(pts)}
            ev = {"item": sub, "when": period.label, "rate": num(rate), "items": [i.evidence() for i in entries]}
            trail.append(TrailEntry(rule.id, pts - each,
                                    note("survey", item=default_words()["labels"]["item"].get(sub, sub),
                                         rate=_pct(rate), points=num(pts), each=num(each),
                                         tier=_pct(tier_min)), ev))
        return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, total - max_pts, total,
                         False, tuple(trail), detail)
    if p["measure"] == "online_rate":
        sums = inputs.day_sums()
        if not sums.rate_days:
            incomplete.append(note("no_duty_time", rule=rule.id, period=period.label))
            return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, -max_pts, ZERO, False,
                             (TrailEntry(rule.id, -max_pts, note("no_duty_time_trail"), {}),), {"rate": None})
        duty, online = sums.duty_s, sums.online_s
        rate = (online / duty).quantize(Decimal("0.0001"))
        pts, why = step_points(p, max_pts, rate)
        days = [d for d in inputs.days if d.result.online_rate is not None and d.result.duty_s > 0]
        ev = {"duty_s": num(duty), "online_s": num(online.quantize(Decimal(1))), "rate": num(rate)}
        if days:  # the day list when the days are at hand (one sheet), not from the sums alone
            ev["days"] = [{"worker_id": d.result.worker_id, "date": d.result.date.isoformat(),
                           "online_rate": d.result.online_rate, "duty_s": d.result.duty_s}
                          for d in sorted(days, key=lambda d: (d.result.worker_id, d.result.date))]
        else:
            ev["rate_days"] = sums.rate_days
        trail.append(TrailEntry(rule.id, pts - max_pts, note("online_rate", why=why), ev))
        return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, pts - max_pts, pts, False,
                         tuple(trail), {"rate": num(rate)})
    # daily_volume_ratio
    if case_rules.computed(rule):
        return _volume_from_cases(rule, inputs, period, incomplete)
    reports = [i for i in inputs.items if i.rule == rule.id and i.item == "valid_reports"]
    grids = [i for i in inputs.items if i.rule == rule.id and i.item == "grid_count"]
    if not reports or not grids or max(grids, key=lambda i: (i.when(), i.item_id)).value == 0:
        incomplete.append(note("volume_needed", rule=rule.id, period=period.label))
        return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, -max_pts, ZERO, False,
                         (TrailEntry(rule.id, -max_pts, note("volume_none_trail"), {}),), {"ratio": None})
    grid = max(grids, key=lambda i: (i.when(), i.item_id))
    ratio = _mean([i.value / grid.value for i in reports]).quantize(Decimal("0.0001"))
    pts, why = step_points(p, max_pts, ratio)
    ev = {"grid_count": num(grid.value), "grid_item": grid.item_id, "ratio": num(ratio),
          "days": [i.evidence() for i in sorted(reports, key=lambda i: (i.when(), i.item_id))]}
    trail.append(TrailEntry(rule.id, pts - max_pts, note("volume_ratio", why=why), ev))
    return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, pts - max_pts, pts, False,
                     tuple(trail), {"ratio": num(ratio)})


def _grid_count(rule: Rule, inputs: _Inputs) -> tuple[Decimal | None, dict[str, Any]]:
    """NB-VOLUME's denominator: an entered ``grid_count`` (latest) or the days' grid count."""
    grids = [i for i in inputs.items if i.rule == rule.id and i.item == "grid_count"]
    if grids:
        g = max(grids, key=lambda i: (i.when(), i.item_id))
        return g.value, {"grid_item": g.item_id}
    counts = [d.grid_count for d in inputs.days if d.grid_count]
    return (D(max(counts)), {"grid_count_from": "days"}) if counts else (None, {})


def _volume_item(rule: Rule, inputs: _Inputs, period: Period, incomplete: list[str], n: int,
                 valid: int, grids: D | None, gev: dict[str, Any],
                 evidence: Callable[[], dict[str, Any]]) -> ItemScore:
    """NB-VOLUME's points and trail from its counts (``n`` working days with reports,
    ``valid`` reports, ``grids`` the district's grid count): one place for both sources, the
    days and the period sums. ``evidence``: the source's own evidence, after the ratio."""
    max_pts = D(rule.points or 0)
    if not n or not grids:
        incomplete.append(note("no_cases", rule=rule.id, period=period.label))
        return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, -max_pts, ZERO, False,
                         (TrailEntry(rule.id, -max_pts, rule.params["reasons"]["no_data"], {}),), {"ratio": None})
    ratio = case_rules.volume_ratio(valid, n, grids)
    pts, why = step_points(rule.params, max_pts, ratio)
    ev = {"grid_count": num(grids), **gev, "ratio": num(ratio), **evidence()}
    reason = rule.params["reasons"]["ratio"].format(ratio=_pct(ratio), days=n, grids=num(grids))
    trail = [TrailEntry(rule.id, pts - max_pts, f"{reason}: {why}", ev)]
    for it in inputs.items:
        if it.rule == rule.id and it.item == "valid_reports":
            trail.append(TrailEntry(rule.id, ZERO, rule.params["reasons"]["entered_ignored"], it.evidence(),
                                    charged=False))
    return ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, pts - max_pts, pts, False,
                     tuple(trail), {"ratio": num(ratio)})


def _volume_from_sums(rule: Rule, inputs: _Inputs, period: Period, incomplete: list[str]) -> ItemScore:
    """NB-VOLUME computed, from the period sums (the days are not at hand): the same ratio."""
    cs = inputs.day_sums().cases
    n, valid = cs.count(f"{rule.id}.days"), cs.count(f"{rule.id}.valid")
    grids, gev = _grid_count(rule, inputs)
    if grids is None and cs.grid_counts:
        grids, gev = D(max(cs.grid_counts)), {"grid_count_from": "days"}
    return _volume_item(rule, inputs, period, incomplete, n, valid, grids, gev, lambda: {
        "period": period.label, "days": n, "valid": valid, "total": cs.count(f"{rule.id}.total"),
        "case_ids": cs.case_ids(rule.id)})


def _volume_from_cases(rule: Rule, inputs: _Inputs, period: Period, incomplete: list[str]) -> ItemScore:
    """NB-VOLUME computed: mean over the working days of valid reports / the district's grids."""
    if inputs.sums is not None and not inputs.days:
        return _volume_from_sums(rule, inputs, period, incomplete)
    days = case_rules.volume_days(inputs.days)
    grids, gev = _grid_count(rule, inputs)
    return _volume_item(rule, inputs, period, incomplete, len(days),
                        sum(d.reports.valid for d in days), grids, gev,
                        lambda: {"days": case_rules.volume_evidence(days, grids)})


def _case_trail(profile: Profile, rule: Rule, inputs: _Inputs, period: Period, subject: Subject
                ) -> list[TrailEntry]:
    """A computed rule's entries from the case records; entered counts shown, not charged.
    From the period sums (the days not at hand): one line for the rule, naming its cases."""
    if inputs.sums is not None and not inputs.days:
        cs = inputs.sums.cases
        counts = {k.split(".", 1)[1]: n for k, n in cs.counts.items() if k.startswith(rule.id + ".")}
        raw = []
        if counts:
            n = sum(cs.ids.get(rule.id, {}).values())
            raw = [(rule.id, cs.points.get(rule.id, ZERO), note("sum_trail", n=n, period=period.label),
                    {"occurrences": n, "period": period.label, "counts": dict(sorted(counts.items())),
                     "case_ids": cs.case_ids(rule.id)}, True)]
    elif rule.params.get("measure") == "case_sla":
        raw = case_rules.sla_trail(rule, inputs.days, period, profile.timezone)
    elif rule.params.get("measure") == case_rules.GRID_REPORTS:
        raw = case_rules.grid_trail(rule, inputs.days, profile.timezone)
    else:
        raw = case_rules.arrive_trail(rule, inputs.days, profile.timezone)
    out = [TrailEntry(r, pts, reason, ev, charged) for r, pts, reason, ev, charged in raw]
    if rule.params.get("measure") == case_rules.GRID_REPORTS:
        # only the items the records decide are replaced; the others stay entered (瞒报, 重大隐患...)
        decided = set(rule.params["items"].values())
        out += _entered_trail(profile, [i for i in inputs.items if i.rule == rule.id and i.item not in decided],
                              subject)
    for it in inputs.items:
        if it.rule == rule.id and (rule.params.get("measure") != case_rules.GRID_REPORTS
                                   or it.item in set(rule.params["items"].values())):
            out.append(TrailEntry(rule.id, ZERO, rule.params["reasons"]["entered_ignored"], it.evidence(),
                                  charged=False))
    return out


def _scored_rules(profile: Profile) -> list[Rule]:
    return [r for r in profile.rules.values() if r.kind in ("deduction", "bonus", "rate") and r.counts_in is None]


def _item_sheet(profile: Profile, subject: Subject, period: Period, inputs: _Inputs) -> Sheet:
    incomplete: list[str] = []
    sums = inputs.day_sums()
    if profile.day_rules() and not sums.days:
        incomplete.append(profile.note("no_days", period=period.label))
    items: list[ItemScore] = []
    for rule in _scored_rules(profile):
        if rule.kind == "rate":
            items.append(_rate_item(rule, inputs, period, incomplete))
            continue
        members = {rule.id} | {r.id for r in profile.rules.values() if r.counts_in == rule.id}
        if inputs.days or not inputs.sums:
            trail = [t for t in inputs.trail if t.rule in members]
        else:  # from the sums: one line per rule for its day deductions (the days are on the sheet)
            trail = [TrailEntry(m, sums.points(m), note("sum_trail", n=sums.rules[m][1], period=period.label),
                                {"occurrences": sums.rules[m][1], "period": period.label})
                     for m in sorted(members) if m in sums.rules]
        if case_rules.computed(rule):  # from the case records of the days (docs/cases.md)
            entered = _case_trail(profile, rule, inputs, period, subject)
        else:
            entered = _entered_trail(profile, [i for i in inputs.items if i.rule in members], subject)
        trail += entered
        trail.sort(key=_trail_key)
        # caps and floors apply to the sum of the period (扣完为止): day sums + entered items
        raw = sum((sums.points(m) for m in members), ZERO) + sum((t.points for t in entered if t.charged), ZERO)
        if rule.kind == "bonus" or rule.points is None:
            items.append(ItemScore(rule.id, rule.title, rule.part, rule.kind, None, raw, raw, False, tuple(trail)))
            continue
        max_pts = D(rule.points)
        cap = D(rule.cap) if rule.cap is not None else max_pts
        taken = max(raw, -cap)
        pts = max_pts + taken
        items.append(ItemScore(rule.id, rule.title, rule.part, rule.kind, max_pts, raw, pts, taken != raw,
                               tuple(trail)))
    total = sum((i.points for i in items), ZERO)
    veto = _veto(profile, subject, inputs.items, total, incomplete)
    no_data = note("no_days", period=period.label) if profile.day_rules() and not sums.days else None
    return Sheet(subject, period.label, "items", tuple(items), total, tuple(veto), tuple(incomplete),
                 no_data=no_data)


def _trail_key(t: TrailEntry) -> tuple[str, str, str, str]:
    ev = t.evidence
    return (str(ev.get("date", ev.get("when", ""))), str(ev.get("worker_id", "")),
            str(ev.get("start", ev.get("window", ""))), str(ev.get("item_id", ev.get("case_id", ""))) + t.reason)


def _veto(profile: Profile, subject: Subject, items: Sequence[EnteredItem], total: Decimal,
          incomplete: Sequence[str]) -> list[TrailEntry]:
    out: list[TrailEntry] = []
    for rule in profile.rules_of_kind("veto"):
        for it in sorted((i for i in items if i.rule == rule.id), key=lambda i: (i.when(), i.item_id)):
            out.append(TrailEntry(rule.id, ZERO, note("veto_item", item=it.item, note=it.note), it.evidence()))
        min_score = rule.params.get("min_score")
        if min_score is not None and total < D(min_score):
            if incomplete:
                continue  # not judged on a sheet with missing entered items
            out.append(TrailEntry(rule.id, ZERO, note("veto_score", total=num(total), min=num(D(min_score))),
                                  {"total": num(total), "min_score": num(D(min_score))}))
    return out


# ----------------------------------------------------------------------------- periods
@dataclass(frozen=True)
class PeriodScores:
    """All sheets of one period under one profile, with the township-level decisions."""

    profile: str
    profile_version: int
    period: str
    sheets: tuple[Sheet, ...]
    tiering: tuple[Mapping[str, Any], ...] = ()
    notes: tuple[str, ...] = ()

    def by_subject(self) -> dict[str, Sheet]:
        """Sheets keyed by subject id."""
        return {s.subject.subject_id: s for s in self.sheets}

    def to_json(self) -> dict[str, Any]:
        """The ``score`` output JSON."""
        return {"profile": self.profile, "profile_version": self.profile_version, "period": self.period,
                "sheets": [s.to_json() for s in self.sheets], "tiering": [dict(t) for t in self.tiering],
                "notes": list(self.notes)}


def _day_inputs(profile: Profile, days: Sequence[ScoredDay], keep: Mapping[str, Any] | None = None
                ) -> dict[str, _Inputs]:
    """Days and day trail per subject key (worker, or office), QS-POS-COLLECTIVE included."""
    office = office_profile(profile)
    out: dict[str, _Inputs] = {}
    by_office_date: dict[tuple[str, dt.date], list[ScoredDay]] = defaultdict(list)
    for d in days:
        key = d.village_id if office else d.result.worker_id
        if office and key is None:
            raise ScoreError(f"worker {d.result.worker_id} has no office (pass the roster)")
        if keep is not None and key not in keep:
            continue
        out.setdefault(key, _Inputs([], [], [])).days.append(d)
        if office:
            by_office_date[(key, d.result.date)].append(d)
    for inp in out.values():
        for d in inp.days:
            inp.trail.extend(_day_trail(profile, d))
    for rule in profile.rules.values():
        if rule.params.get("detector") != "collective_phone_off":
            continue
        for (oid, _date), group in sorted(by_office_date.items()):
            occ = collective_phone_off(rule, oid, group, profile.timezone)
            if not occ:
                continue
            inp = out[oid]
            inp.trail.extend(o[0] for o in occ)
            if not rule.params.get("individual_occurrences_charged_again", False):
                inp.trail[:] = [_uncharge_inside(t, occ, rule.id) for t in inp.trail]
    return out


def _inputs_by_subject(
    profile: Profile, subjects: Mapping[str, Subject], period: Period,
    days: Sequence[ScoredDay], items: Sequence[EnteredItem],
    sums: Mapping[str, DaySums] | None = None,
) -> dict[str, _Inputs]:
    if sums is not None:
        out = {sid: _Inputs([], [], [], sums.get(sid) or DaySums()) for sid in subjects}
    else:
        got = _day_inputs(profile, [d for d in days if period.contains(d.result.date)], subjects)
        out = {sid: got.get(sid) or _Inputs([], [], []) for sid in subjects}
    for it in items:
        if it.within(period) or (it.period is not None and it.period.start <= period.end
                                 and period.start <= it.period.end and it.item == "grid_count"):
            if it.subject_id in out and not township_item(profile, it):
                out[it.subject_id].items.append(it)
    return out


def _uncharge_inside(t: TrailEntry, occ: Sequence[tuple[TrailEntry, float, float, frozenset[str]]],
                     rule_id: str) -> TrailEntry:
    ev = t.evidence
    if not t.charged or "cause" not in ev or "start" not in ev or t.rule == rule_id:
        return t
    s, e = _iso_ts(ev["start"]), _iso_ts(ev["end"])
    for entry, cs, ce, members in occ:
        if ev.get("worker_id") in members and s < ce and cs < e:
            return replace(t, charged=False,
                           reason=t.reason + note("inside_collective", rule=rule_id,
                                                     start=entry.evidence["start"][11:16],
                                                     end=entry.evidence["end"][11:16]))
    return t


def score_period(
    profile: Profile,
    period: Period,
    days: Iterable[ScoredDay],
    items: Iterable[EnteredItem] = (),
    roster: Mapping[str, Subject] | None = None,
    sums: Mapping[str, Mapping[str, DaySums]] | None = None,
) -> PeriodScores:
    """Score every subject for ``period`` (tiers and payouts are added by ``scoring.tiers``).

    ``sums``: instead of ``days`` (then empty), the :class:`DaySums` per period label and
    subject of every period scored by its items (``period_scores`` method ``items``; a mean or
    formula period needs those of its sub-periods). The sheets are the same, except that the
    day part of a trail is one line per rule instead of one per deduction.
    """
    days = sorted(days, key=lambda d: (d.result.worker_id, d.result.date))
    items = sorted(check_items(items, profile), key=lambda i: i.item_id)
    spec = profile.period_scores.get(period.kind)
    if spec is None:
        raise ScoreError(f"profile {profile.id} has no {period.kind} score (periods: {', '.join(profile.periods)})")
    if sums is not None and days:
        raise ScoreError("give days or their sums, not both")
    subjects = subjects_of(profile, days, items, roster, _sum_subjects(profile, sums))
    notes: list[str] = []
    if sums is None:
        inside = sorted({d.result.date for d in days if period.contains(d.result.date)})
        first, last = (inside[0], inside[-1]) if inside else (None, None)
    else:
        first, last = _sums_span(sums, period)
    if first is not None and last is not None and (first > period.start or last < period.end):
        notes.append(note("days_cover", first=first, last=last, period=period.label,
                          start=period.start, end=period.end))
    if spec["method"] == "items":
        inputs = _inputs_by_subject(profile, subjects, period, days, items,
                                    None if sums is None else sums.get(period.label, {}))
        sheets = [_item_sheet(profile, s, period, inputs[sid]) for sid, s in subjects.items()]
    else:
        def has_days(p: Period) -> bool:
            if sums is None:
                return any(p.contains(d.result.date) for d in days)
            return any(x.days for x in sums.get(p.label, {}).values())

        subs = [p for p in period.sub_periods(spec["of"] if spec["method"] == "mean" else
                                               profile.rules[spec["rule"]].params["of"])
                if has_days(p) or any(i.within(p) for i in items)]
        notes.append(note("period_from", period=period.label,
                           parts="、".join(p.label for p in subs) or note("period_from_none")))
        sub_scores = {p.label: score_period(profile, p, days, items, roster, sums).by_subject() for p in subs}
        sheets = []
        for sid, subj in subjects.items():
            parts = [(label, sc[sid]) for label, sc in sub_scores.items() if sid in sc]
            if spec["method"] == "mean":
                sheets.append(_mean_sheet(profile, subj, period, parts, items))
            else:
                sheets.append(_formula_sheet(profile, profile.rules[spec["rule"]], subj, period, parts, items))
    return PeriodScores(profile.id, profile.version, period.label, tuple(sheets), notes=tuple(notes))


def sum_periods(profile: Profile, date: dt.date) -> list[Period]:
    """The periods of ``date`` whose sheets are built from day sums (method ``items``)."""
    return [period_of(date, kind) for kind, spec in profile.period_scores.items() if spec["method"] == "items"]


def _sum_labels(profile: Profile, period: Period) -> list[str]:
    spec = profile.period_scores[period.kind]
    if spec["method"] == "items":
        return [period.label]
    of = spec["of"] if spec["method"] == "mean" else profile.rules[spec["rule"]].params["of"]
    return [lab for p in period.sub_periods(of) for lab in _sum_labels(profile, p)]


def sum_labels(profile: Profile, period: Period) -> list[str]:
    """The period labels whose day sums a sheet of ``period`` is built from."""
    return _sum_labels(profile, period)


def _sums_span(sums: Mapping[str, Mapping[str, DaySums]], period: Period) -> tuple[dt.date | None, dt.date | None]:
    firsts, lasts = [], []
    for label, by_subject in sums.items():
        p = parse_period(label)
        if p.start < period.start or p.end > period.end:
            continue
        for x in by_subject.values():
            if x.days and x.first is not None and x.last is not None:
                firsts.append(x.first)
                lasts.append(x.last)
    return (min(firsts), max(lasts)) if firsts else (None, None)


def _sum_subjects(profile: Profile, sums: Mapping[str, Mapping[str, DaySums]] | None) -> dict[str, Subject]:
    """Subjects known from day sums only (a worker with days but not in the roster)."""
    out: dict[str, Subject] = {}
    kind = "office" if office_profile(profile) else "worker"
    for by_subject in (sums or {}).values():
        for sid, x in sorted(by_subject.items()):
            if x.days and sid not in out:
                out[sid] = Subject(sid, kind, None if kind == "office" else x.role,
                                   sid if kind == "office" else x.village_id)
    return out


def _mean_sheet(profile: Profile, subj: Subject, period: Period, parts: Sequence[tuple[str, Sheet]],
                items: Sequence[EnteredItem]) -> Sheet:
    n = len(parts)
    out_items = []
    for rule in _scored_rules(profile):
        its = [(label, s.item(rule.id)) for label, s in parts]
        its = [(label, i) for label, i in its if i is not None]
        pts = _mean([i.points for _, i in its]) if its else ZERO
        trail = tuple(TrailEntry(rule.id, i.points, f"{label}: {num(i.points)}", {"period": label}) for label, i in its)
        maxp = D(rule.points) if rule.points is not None and rule.kind != "bonus" else None
        out_items.append(ItemScore(rule.id, rule.title, rule.part, rule.kind, maxp, pts, pts, False, trail,
                                   {"mean_of": [label for label, _ in its]}))
    total = _mean([s.total for _, s in parts]) if n else ZERO
    total = total.quantize(Decimal("0.01"))
    incomplete = [f"{label}: {x}" for label, s in parts for x in s.incomplete]
    if not n:
        incomplete.append(note("no_sub_period", period=period.label))
    own = [i for i in items if i.subject_id == subj.subject_id and i.within(period)]
    veto = _veto(profile, subj, own, total, incomplete)
    no_data = (note("no_days", period=period.label)
               if profile.day_rules() and all(s.no_data for _, s in parts) else None)
    return Sheet(subj, period.label, "mean", tuple(out_items), total, tuple(veto), tuple(incomplete),
                 tuple((label, s.total) for label, s in parts), no_data=no_data)


def _formula_sheet(profile: Profile, rule: Rule, subj: Subject, period: Period,
                   parts: Sequence[tuple[str, Sheet]], items: Sequence[EnteredItem]) -> Sheet:
    """QS-YEAR: (sum of monthly scores / months) * monthly_weight + management * weight (+ bonus)."""
    p = rule.params
    own = sorted((i for i in items if i.subject_id == subj.subject_id and i.rule == rule.id and i.within(period)),
                 key=lambda i: (i.when(), i.item_id))
    monthly_sum = sum((s.total for _, s in parts), ZERO)
    monthly = monthly_sum / D(p["months"]) * D(p["monthly_weight"])
    mgmt_items = [i for i in own if i.item == "management_score"]
    incomplete = [f"{label}: {x}" for label, s in parts for x in s.incomplete]
    if not mgmt_items:
        incomplete.append(note("no_management_score", rule=rule.id, period=period.label))
    mgmt = mgmt_items[-1].value if mgmt_items else ZERO
    meetings = [i for i in own if i.item == "site_meeting"]
    bonus = D(p["site_meeting_bonus"]) if meetings else ZERO
    trail = [
        TrailEntry(rule.id, monthly, note("formula_monthly", sum=num(monthly_sum), months=p["months"], weight=p["monthly_weight"]),
                   {"months": [{"period": label, "total": num(s.total)} for label, s in parts]}),
        TrailEntry(rule.id, mgmt * D(p["management_weight"]),
                   note("formula_management", score=num(mgmt), weight=p["management_weight"]),
                   mgmt_items[-1].evidence() if mgmt_items else {}),
    ]
    if meetings:
        trail.append(TrailEntry(rule.id, bonus, note("formula_meeting", bonus=num(bonus)), meetings[0].evidence()))
    total = (monthly + mgmt * D(p["management_weight"]) + bonus).quantize(Decimal("0.01"))
    item = ItemScore(rule.id, rule.title, rule.part, rule.kind, None, total, total, False, tuple(trail),
                     {"monthly_sum": num(monthly_sum), "management_score": num(mgmt)})
    return Sheet(subj, period.label, "formula", (item,), total, (), tuple(incomplete),
                 tuple((label, s.total) for label, s in parts))


def months_of(period: Period) -> list[Period]:
    """The calendar months of a period."""
    return [period_of(m.start, "month") for m in period.sub_periods("month")]
