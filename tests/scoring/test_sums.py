"""Period sheets from day sums (``scoring.period.DaySums``) equal sheets from the days.

The sums are folded per group (a worker-day; an office's worker-days of one date for an
office profile), added, taken out and added again in random order, as the database does when
days are saved and re-saved; the totals, items, vetoes, tiers and payouts must not differ.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from geo.types import CaseRecord, CaseVerdict, ReportCount
from scoring.items import parse_period
from scoring.period import DaySums, day_sums, sum_labels, sum_periods
from scoring.profiles import load_profile, with_sources
from scoring.score import score
from tests.scoring import demo_quarter
from tests.scoring.builders import day, item, ts, worker

PROFILES = {name: load_profile(name) for name in ("yangkou-2022", "quanshan-positioning", "ningbo-district")}
# the case rules judged from the records (docs/cases.md): their sums must match the days too
PROFILES["yangkou-computed"] = with_sources(PROFILES["yangkou-2022"], {
    "YK-CASE-SLA": "computed", "YK-HAZARD": "computed", "YK-SAFETY": "computed"})
PROFILES["ningbo-computed"] = with_sources(PROFILES["ningbo-district"], {"NB-ARRIVE": "computed",
                                                                        "NB-VOLUME": "computed"})
STATUS = st.sampled_from(["ok", "short", "missing", "exempt"])
SIGNIN = st.sampled_from(["ok", "late", "missing", "outside"])
DATES = [dt.date(2026, 1, 5) + dt.timedelta(days=9 * k) for k in range(10)]
WORKERS = {"p1": worker("p1", "parttime", "v01"), "p2": worker("p2", "parttime", "v01"),
           "f1": worker("f1", "fulltime", "v01"), "h1": worker("h1", "head", "v02"),
           "p3": worker("p3", "parttime", "v02")}


def group_key(profile, d) -> tuple:
    office = profile.subjects[0] == "office"
    return (d.village_id if office else d.result.worker_id, d.result.date)


def sums_of(profile, days) -> dict[str, dict[str, DaySums]]:
    """Fold group by group, as the database does."""
    groups = defaultdict(list)
    for d in days:
        groups[group_key(profile, d)].append(d)
    out: dict[str, dict[str, DaySums]] = defaultdict(dict)
    for _, g in sorted(groups.items()):
        for per in sum_periods(profile, g[0].result.date):
            for sid, s in day_sums(profile, g, per).items():
                out[per.label].setdefault(sid, DaySums()).add(s)
    return out


def comparable(doc: dict) -> dict:
    """The score JSON without the day trail (sums give one line per rule instead)."""
    for s in doc["sheets"]:
        for it in s["items"]:
            it.pop("trail")
            it["detail"] = {k: v for k, v in it["detail"].items() if k != "days"}
    return doc


H = 3600.0


@st.composite
def case_part(draw, wid: str, d: dt.date) -> dict:
    """A day's case records: instructions (arrival, clocks that may run past a period's end)
    and reports (some valid), or none at all (a day evaluated without cases)."""
    if draw(st.booleans()):
        return {}
    cases = []
    for k in range(draw(st.integers(0, 2))):
        t = ts(d, draw(st.integers(7, 20)))
        arrival = draw(st.sampled_from(["ok", "late", "none"]))
        acc = draw(st.one_of(st.none(), st.floats(0.5, 40)))
        closed = draw(st.one_of(st.none(), st.floats(1, 20)))
        rec = CaseRecord(f"{wid}-{d}-i{k}", "instruction", t, 121.0, 31.9, valid=draw(st.sampled_from([None, True])),
                         accepted_at=None if acc is None else t + acc * H,
                         closed_at=None if closed is None else t + closed * 24 * H, complex=draw(st.booleans()))
        secs = {"ok": 600, "late": 1800, "none": None}[arrival]
        cases.append(CaseVerdict(rec, None if secs is None else t + secs, secs, arrival, draw(st.booleans())))
    for k in range(draw(st.integers(0, 2))):  # found by others in the worker's grid
        rec = CaseRecord(f"{wid}-{d}-g{k}", "grid", ts(d, 9 + k), 121.0, 31.9,
                         valid=draw(st.sampled_from([None, True, False])),
                         category=draw(st.sampled_from(["安全隐患", "矛盾纠纷", "其他"])))
        cases.append(CaseVerdict(rec, own_report_s=draw(st.one_of(st.none(), st.integers(-3600, 40 * 3600)))))
    n = draw(st.integers(0, 3))
    valid = tuple(f"{wid}-{d}-r{k}" for k in range(draw(st.integers(0, n))))
    return {"cases": tuple(cases), "reports": ReportCount(n, len(valid), valid_ids=valid),
            "grid_count": draw(st.sampled_from([None, 2, 3]))}


@st.composite
def township_days(draw):
    out = []
    for wid, w in WORKERS.items():
        for d in draw(st.lists(st.sampled_from(DATES), unique=True, max_size=len(DATES))):
            offs = draw(st.lists(st.integers(8, 15), max_size=2, unique=True))
            out.append(dataclasses.replace(
                day(wid, d, w.role, w.village_id, am=draw(STATUS), pm=draw(STATUS), signin=draw(SIGNIN),
                    started_in_app=draw(st.booleans()), phone_off=[(h, 0, h + 1, 30) for h in offs],
                    online_rate=draw(st.one_of(st.none(), st.floats(0, 1))),
                    duty_s=draw(st.integers(0, 28800))),
                **draw(case_part(wid, d))))
    return out


@settings(max_examples=25, deadline=None)
@given(township_days(), st.sampled_from(sorted(PROFILES)), st.sampled_from(["2026-01", "2026-02", "2026Q1", "2026"]),
       st.booleans())
def test_sheets_from_sums_equal_sheets_from_days(days, name, label, with_roster) -> None:
    profile = PROFILES[name]
    period = parse_period(label)
    if period.kind not in profile.periods:
        return
    roster = WORKERS if with_roster or profile.subjects[0] == "office" else None
    its = [item("p1", "YK-DRESS", "dress_not_worn", 2, date="2026-01-20")] if "YK-DRESS" in profile.rules else []
    full = score(profile, period, days, its, roster)
    fast = score(profile, period, [], its, roster, sums=sums_of(profile, days))
    assert comparable(fast.to_json()) == comparable(full.to_json())


@settings(max_examples=25, deadline=None)
@given(township_days(), st.data())
def test_taking_a_group_out_and_putting_its_new_version_in_equals_folding_anew(days, data) -> None:
    if not days:
        return
    profile = PROFILES[data.draw(st.sampled_from(sorted(PROFILES)))]
    k = data.draw(st.integers(0, len(days) - 1))
    old = days[k]
    new = dataclasses.replace(old, result=dataclasses.replace(old.result, signin=dataclasses.replace(
        old.result.signin, status="missing", at=None), duty_s=0),
        # a case changed status: the reports' verdicts and the instructions' clocks change
        reports=None if old.reports is None else ReportCount(old.reports.total, 0),
        cases=tuple(dataclasses.replace(v, case=dataclasses.replace(v.case, accepted_at=None, closed_at=None))
                    for v in old.cases))
    key = group_key(profile, old)
    group_old = [d for d in days if group_key(profile, d) == key]
    changed = [new if d is old else d for d in days]
    group_new = [new if d is old else d for d in group_old]
    sums = sums_of(profile, days)
    for per in sum_periods(profile, old.result.date):
        for sid, s in day_sums(profile, group_old, per).items():
            sums[per.label][sid].add(s, -1)
        for sid, s in day_sums(profile, group_new, per).items():
            sums[per.label].setdefault(sid, DaySums()).add(s)
    again = sums_of(profile, changed)
    for label, by_subject in again.items():
        for sid, s in by_subject.items():
            assert sums[label][sid].same(s), (label, sid)


def test_the_demo_quarter_from_sums_is_the_hand_computed_one() -> None:
    yk = PROFILES["yangkou-2022"]
    q1 = parse_period("2026Q1")
    full = score(yk, q1, demo_quarter.days(), demo_quarter.items(), demo_quarter.ROSTER)
    fast = score(yk, q1, [], demo_quarter.items(), demo_quarter.ROSTER, sums=sums_of(yk, demo_quarter.days()))
    assert comparable(fast.to_json()) == comparable(full.to_json())
    assert [s.tier for s in fast.sheets] == [s.tier for s in full.sheets]
    assert sum_labels(yk, parse_period("2026")) == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
