"""YK-TIER tiers and the reward payouts YK-REWARD-PT/-FT/-HEAD/-ARTICLE, from period sheets.

Tiers: within one village and one role, the non-vetoed workers are ranked by total, then by
the tie-break items of the profile (patrol points, sign-in points), then worker id; the counts
of 优秀/良好/合格 are the profile's shares by largest remainder, unless the township entered a
quota override (recorded with who and why). A vetoed worker is 不合格 and gets no reward.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from scoring.items import TIER_INCLUDE_ITEM, EnteredItem, Period, parse_period
from scoring.period import D, Payout, PeriodScores, ScoreError, Sheet, num
from scoring.profiles import Profile, Rule, default_words, note

TIERS = ("excellent", "good", "pass")


def tier_quota(n: int, shares: Mapping[str, float], tie_order: Sequence[str]) -> dict[str, int]:
    """Counts per tier for ``n`` workers: floors of n*share, the rest by largest remainder.

    Equal remainders give the extra place to the tier that comes first in ``tie_order``.
    """
    exact = {t: D(n) * D(shares[t]) for t in TIERS}
    counts = {t: int(exact[t].to_integral_value(rounding=ROUND_FLOOR)) for t in TIERS}
    left = n - sum(counts.values())
    order = sorted(TIERS, key=lambda t: (-(exact[t] - counts[t]), list(tie_order).index(t)))
    for t in order[:left]:
        counts[t] += 1
    return counts


def _rank_key(sheet: Sheet, tie_breaks: Sequence[str]) -> tuple[Any, ...]:
    key: list[Any] = [-sheet.total]
    for tb in tie_breaks:
        key.append(sheet.subject.subject_id if tb == "worker_id" else -sheet.item_points(tb))
    return tuple(key)


def _tb_value(sheet: Sheet, tb: str) -> Any:
    return sheet.subject.subject_id if tb == "worker_id" else num(sheet.item_points(tb))


def _decided_by(a: Sheet, b: Sheet, tie_breaks: Sequence[str], profile: Profile) -> str:
    for tb in tie_breaks:
        va, vb = _tb_value(a, tb), _tb_value(b, tb)
        if va != vb:
            name = (profile.note("tie_worker_id") if tb == "worker_id"
                    else f"{profile.rules[tb].title}（{tb}）" if tb in profile.rules else tb)
            return profile.note("tie_decided", tb=name, a=a.subject.subject_id, va=va,
                                b=b.subject.subject_id, vb=vb)
    return profile.note("tie_identical")


def _override(items: Sequence[EnteredItem], village: str, role: str, n: int) -> tuple[dict[str, int], dict] | None:
    key = f"{village}:{role}"
    mine = sorted((i for i in items if i.subject_id == key), key=lambda i: i.item_id)
    if not mine:
        return None
    given = {i.item.removeprefix("quota_"): int(i.value) for i in mine}
    if sum(given.values()) > n:
        raise ScoreError(f"YK-TIER quota override for {key} gives {sum(given.values())} places for {n} workers "
                         f"({', '.join(i.source or i.item_id for i in mine)})")
    counts = dict(given)
    for t in ("good", "pass", "excellent"):
        if t not in counts:
            counts[t] = n - sum(counts.get(x, 0) for x in TIERS if x != t)
            break
    if sum(counts.get(t, 0) for t in TIERS) != n:
        raise ScoreError(f"YK-TIER quota override for {key}: {counts} does not add up to {n} workers")
    record = {"items": [i.evidence() for i in mine],
              "by": sorted({i.entered_by for i in mine if i.entered_by}),
              "reason": "; ".join(i.note for i in mine)}
    return {t: counts.get(t, 0) for t in TIERS}, record


def assign_tiers(profile: Profile, scores: PeriodScores, items: Sequence[EnteredItem] = ()) -> PeriodScores:
    """YK-TIER on the sheets of a period of the tier rule's period kind; others unchanged."""
    rules = profile.rules_of_kind("tier")
    period = parse_period(scores.period)
    if not rules or rules[0].params["period"] != period.kind:
        return scores
    rule = rules[0]
    p = rule.params
    labels = p["labels"]
    overrides = [i for i in items if i.rule == rule.id and i.within(period)]
    groups: dict[tuple[str, str], list[Sheet]] = defaultdict(list)
    by_id = scores.by_subject()
    for s in scores.sheets:
        if s.subject.kind == "worker" and s.subject.role in p["roles"]:
            groups[(s.subject.village_id or "", s.subject.role or "")].append(s)
    records = list(scores.tiering)
    included = {i.subject_id for i in overrides if i.item == TIER_INCLUDE_ITEM and i.value}
    for (village, role), sheets in sorted(groups.items()):
        # no judged day (no grid, no phone data): not tiered, not paid, unless the township
        # decided to tier the worker (item tier_include); a veto still applies
        unjudged = [s for s in sheets if s.no_data and not s.vetoed
                    and s.subject.subject_id not in included]
        for s in unjudged:
            by_id[s.subject.subject_id] = replace(
                s, tier=None, tier_label=profile.note("no_data_label"), rank=None,
                tier_note=profile.note("no_data", rule=rule.id, why=s.no_data))
        left_out = {s.subject.subject_id for s in unjudged}
        sheets = [s for s in sheets if s.subject.subject_id not in left_out]
        vetoed = sorted((s for s in sheets if s.vetoed), key=lambda s: s.subject.subject_id)
        ranked = sorted((s for s in sheets if not s.vetoed), key=lambda s: _rank_key(s, p["tie_breaks"]))
        n = len(ranked)
        ov = _override(overrides, village, role, n)
        if ov is None:
            quota, source, record = tier_quota(n, p["shares"], p["remainder_tie_order"]), "largest_remainder", None
        else:
            (quota, record), source = ov, "override"
        bounds = [quota["excellent"], quota["excellent"] + quota["good"]]
        notes: dict[str, list[str]] = defaultdict(list)
        for b, (upper, lower) in zip(bounds, (("excellent", "good"), ("good", "pass")), strict=True):
            if 0 < b < n and ranked[b - 1].total == ranked[b].total:
                a, c = ranked[b - 1], ranked[b]
                why = profile.note("tie", total=num(a.total), upper=labels[upper],
                                   lower=labels[lower],
                                   decided=_decided_by(a, c, p["tie_breaks"], profile))
                notes[a.subject.subject_id].append(why)
                notes[c.subject.subject_id].append(why)
        for i, s in enumerate(ranked):
            tier = "excellent" if i < bounds[0] else "good" if i < bounds[1] else "pass"
            rank = profile.note("rank", rule=rule.id, village=village, role=profile.label("role", role), n=n, rank=i + 1,
                                source=default_words()["notes"]["quota_source"][source])
            note = "；".join([rank, *notes[s.subject.subject_id]])
            by_id[s.subject.subject_id] = replace(s, tier=tier, tier_label=labels[tier], rank=i + 1, tier_note=note)
        for s in vetoed:
            reasons = "; ".join(v.reason for v in s.veto)
            by_id[s.subject.subject_id] = replace(s, tier="fail", tier_label=labels["fail"], rank=None,
                                                 tier_note=profile.note("vetoed", rule=rule.id,
                                                                        reasons=reasons))
        records.append({
            "rule": rule.id, "village_id": village, "role": role, "ranked": n, "vetoed": [s.subject.subject_id for s in vetoed],
            "unjudged": sorted(left_out),
            "quota": quota, "quota_source": source, "override": record,
            "shares": {t: p["shares"][t] for t in TIERS},
            "exact": {t: num(D(n) * D(p["shares"][t])) for t in TIERS},
            "order": [s.subject.subject_id for s in ranked],
        })
    sheets = tuple(by_id[s.subject.subject_id] for s in scores.sheets)
    return replace(scores, sheets=sheets, tiering=tuple(records))


# ----------------------------------------------------------------------------- payouts
def _rank_amount(table: Sequence[Mapping[str, Any]], rank: int) -> Decimal:
    for row in sorted(table, key=lambda r: r["max_rank"]):
        if rank <= row["max_rank"]:
            return D(row["amount"])
    return Decimal(0)


def _county_rank(items: Sequence[EnteredItem], rule: Rule, code: str, period: Period) -> EnteredItem | None:
    mine = [i for i in items if i.rule == rule.id and i.item == code and
            i.period is not None and i.period.label == period.label]
    return max(mine, key=lambda i: i.item_id) if mine else None


def _pt(rule: Rule, s: Sheet, period: Period) -> list[Payout]:
    p = rule.params
    if s.subject.role != p["role"] or period.kind != p["period"] or s.tier is None:
        return []
    if s.tier == "fail":
        return [Payout(rule.id, Decimal(0), note("payout_tier_vetoed", tier=s.tier_label), period.label)]
    amount = D(p["amounts"][s.tier])
    return [Payout(rule.id, amount, note("payout_tier", tier=s.tier_label, amount=num(amount), currency=p['currency'], period=period.label), period.label,
                   {"tier": s.tier, "paid": p.get("paid")})]


def _ft(rule: Rule, s: Sheet, period: Period, items: Sequence[EnteredItem]) -> list[Payout]:
    p = rule.params
    if s.subject.role != p["role"]:
        return []
    if period.kind == "year":
        slots = [(period, "county_rank_year", p.get("yearly", []))]
    else:
        slots = [(m, "county_rank_month", p.get("monthly", [])) for m in period.sub_periods("month")]
    out = []
    for when, code, table in slots:
        if not table:
            continue
        if s.vetoed:
            out.append(Payout(rule.id, Decimal(0), note("payout_vetoed", period=when.label), when.label))
            continue
        it = _county_rank(items, rule, code, when)
        if it is None:
            out.append(Payout(rule.id, None, note("payout_rank_missing", period=when.label), when.label))
            continue
        amount = _rank_amount(table, int(it.value))
        out.append(Payout(rule.id, amount, note("payout_rank", rank=int(it.value), period=when.label, amount=num(amount),
                               currency=p['currency']), when.label, it.evidence()))
    return out


def _article(rule: Rule, s: Sheet, period: Period, items: Sequence[EnteredItem]) -> list[Payout]:
    out = []
    for it in sorted(items, key=lambda i: (i.when(), i.item_id)):
        if it.rule != rule.id or it.subject_id != s.subject.subject_id or not it.within(period):
            continue
        spec = rule.entered_item(it.item) or {}
        if s.vetoed:
            out.append(Payout(rule.id, Decimal(0), note("payout_item_vetoed", item=it.item), it.when(), it.evidence()))
            continue
        roles = spec.get("roles")
        if roles and s.subject.role not in roles:
            out.append(Payout(rule.id, Decimal(0), note("payout_roles", item=it.item,
                                   roles="、".join(default_words()["labels"]["role"].get(r, r) for r in roles)), it.when(), it.evidence()))
            continue
        amount = D(spec["amount"]) * it.value
        out.append(Payout(rule.id, amount, note("payout_item", item=it.item, n=num(it.value), amount=num(amount),
                               currency=rule.params['currency']),
                          it.when(), it.evidence()))
    return out


def _heads(rule: Rule, scores: PeriodScores, period: Period, tie_breaks: Sequence[str]) -> tuple[dict[str, Payout], dict]:
    p = rule.params
    if period.kind != p["period"]:
        return {}, {}
    workers = [s for s in scores.sheets if s.subject.kind == "worker"]
    base = sum(1 for s in workers if s.subject.role in ("head", "parttime"))
    rounding = {"half_up": ROUND_HALF_UP, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}[p["count_rounding"]]
    k = int((D(base) * D(p["share_of_heads_and_parttime"])).to_integral_value(rounding=rounding))
    heads = sorted((s for s in workers if s.subject.role == p["role"] and not s.vetoed),
                   key=lambda s: _rank_key(s, tie_breaks))
    named = heads[:k]
    out = {}
    for i, s in enumerate(named):
        out[s.subject.subject_id] = Payout(rule.id, None, note("head_rank", rank=i + 1, n=len(heads), k=k,
                                                share=p["share_of_heads_and_parttime"], base=base),
                                           period.label, {"rank": i + 1, "places": k})
    record = {"rule": rule.id, "base_heads_and_parttime": base, "places": k,
              "named": [s.subject.subject_id for s in named], "order": [s.subject.subject_id for s in heads]}
    return out, record


def apply_payouts(profile: Profile, scores: PeriodScores, items: Sequence[EnteredItem] = ()) -> PeriodScores:
    """Add the reward payouts of the profile's reward rules to each sheet."""
    period = parse_period(scores.period)
    tier_rules = profile.rules_of_kind("tier")
    tie_breaks = tier_rules[0].params["tie_breaks"] if tier_rules else ["worker_id"]
    rewards = profile.rules_of_kind("reward")
    heads: dict[str, Payout] = {}
    records = list(scores.tiering)
    sheets = []
    for rule in rewards:
        if "share_of_heads_and_parttime" in rule.params:
            got, rec = _heads(rule, scores, period, tie_breaks)
            heads.update(got)
            if rec:
                records.append(rec)
    for s in scores.sheets:
        pays: list[Payout] = []
        if s.subject.kind == "worker":
            for rule in rewards:
                if "amounts" in rule.params:
                    pays += _pt(rule, s, period)
                elif "monthly" in rule.params or "yearly" in rule.params:
                    pays += _ft(rule, s, period, items)
                elif "share_of_heads_and_parttime" in rule.params:
                    if s.subject.subject_id in heads:
                        pays.append(heads[s.subject.subject_id])
                elif rule.entered:
                    pays += _article(rule, s, period, items)
        sheets.append(replace(s, payouts=tuple(pays)))
    return replace(scores, sheets=tuple(sheets), tiering=tuple(records))
