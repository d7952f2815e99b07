"""Issue 16: every shipped profile speaks Chinese. Each packaged profile scores demo days full
of findings (off post, cross post, phone off, a collective phone-off, low online rates, entered
items with free days and role limits, vetoes) for a month, a quarter and a year where it has
them, and no ASCII English word may reach the texts a user reads: trail reasons, item titles,
notes, incomplete notes, no-data notes, veto and tier notes, payout reasons (the words check
of the browser tour: ids with a digit or underscore and rule ids are not words)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from scoring.items import parse_period
from scoring.profiles import list_profiles, load_profile
from scoring.score import score
from tests.browser.test_office_tour import english_words
from tests.scoring.builders import day, item, workdays, worker

MONTHS = [dt.date(2026, 1, 5), dt.date(2026, 2, 2), dt.date(2026, 3, 2)]
ROSTER = {"p1": worker("p1", "parttime", "v01"), "p2": worker("p2", "parttime", "v01"),
          "f1": worker("f1", "fulltime", "v01"), "h1": worker("h1", "head", "v01"),
          "p3": worker("p3", "parttime", "v02")}
# keys whose values are codes or ids (shown as such or not shown): not words
CODES = {"evidence", "rule", "subject_id", "kind", "role", "village_id", "period", "profile",
         "source", "method", "status", "item", "part", "subject", "tier", "worker_id", "item_id",
         "currency", "key", "group", "mean_of", "detail", "subject_kind"}
# the phone app's name as Chinese users write it (网格员 App), not an English word
APP = {"App"}


def _days() -> list:
    out = []
    for first in MONTHS:
        for d in workdays(first, first + dt.timedelta(days=9)):
            for wid, w in ROSTER.items():
                # everyone phone-off together on the 1st day of the month (collective), p1 off
                # post and p2 cross-wise low online, f1 short patrols
                together = d == first
                out.append(day(
                    wid, d, w.role, w.village_id,
                    am="missing" if wid == "f1" else "ok", pm="short" if wid == "p2" else "ok",
                    signin="late" if wid == "p1" else "ok",
                    offpost=((9, 0, 10, 0),) if wid == "p1" else (),
                    phone_off=((14, 0, 15, 0),) if together or wid == "p2" else (),
                    online_rate=0.5 if wid == "p2" else 0.97))
    return out


def _items(profile) -> list:
    """One item of every entered code of the profile per subject kind (a tiny value), plus
    the leave days above the free ones and a veto."""
    out = []
    office = "office" in profile.subjects and "worker" not in profile.subjects[:1]
    for rule in profile.rules.values():
        for sub in rule.params.get("sub_items", ()) if rule.params.get("measure") == "survey_tiers" else ():
            out.append(item("p1", rule.id, sub, "0.85", period="2026Q1", note="测评"))
        for spec in rule.entered:
            code = spec["item"]
            if rule.kind == "rate" and rule.params.get("measure") == "survey_tiers":
                continue
            if rule.kind == "reward" or code.startswith("county_rank"):
                continue
            subject = "v01" if office else "p1"
            value = {"management_score": 80, "grid_count": 10, "valid_reports": 7}.get(code, 2)
            if code == "management_score":
                out.append(item(subject, rule.id, code, value, period="2026", note="年度评价"))
            elif code == "grid_count":
                out.append(item(subject, rule.id, code, value, period="2026-01", note="网格数"))
            else:
                out.append(item(subject, rule.id, code, value, date="2026-01-07", note="记录"))
                out.append(item("f1" if not office else subject, rule.id, code, 1,
                                date="2026-02-09", note="记录"))
    return out


def _texts(node: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if key in CODES:
        return
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _texts(v, k)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from _texts(v, key)


def _english(doc: dict[str, Any]) -> dict[str, list[str]]:
    bad: dict[str, list[str]] = {}
    for _key, text in _texts(doc):
        words = [w for w in english_words(text.replace("/", " ")) if w not in APP]
        if words:
            bad.setdefault(text, words)
    return bad


@pytest.mark.parametrize("name", list_profiles())
def test_every_profile_scores_in_chinese(name: str) -> None:
    profile = load_profile(name)
    days, items = _days(), _items(profile)
    bad: dict[str, list[str]] = {}
    for label in ("2026-01", "2026Q1", "2026"):
        per = parse_period(label)
        if per.kind not in profile.periods:
            continue
        res = score(profile, per, days, items, ROSTER)
        bad |= _english(res.to_json())
    assert not bad, f"{name}: English in " + "\n".join(f"{t!r}: {w}" for t, w in bad.items())
