"""Entered-items CSV reader, period labels, scoring-section validation of profiles, purity."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from checkins.formats.errors import FormatError
from checkins.formats.items import read_items
from scoring.items import parse_period
from scoring.profiles import PROFILE_DIR, ProfileError, load_profile, parse_profile

YK = load_profile("yangkou-2022")
HEAD = "item_id,subject_id,rule,item,date,period,value,note,entered_by\n"


def test_read_items_values_dates_periods() -> None:
    data = (HEAD + "a1,w01,YK-SURVEY,awareness,,2026Q1,92.5%,测评,网格办\n"
            "a2,w01,YK-DRESS,dress_not_worn,2026-03-02,,,未穿马甲,张三\n"
            "a3,town,YK-REWARD-FT,county_rank_month,,2026-01,3,县通报,\n").encode()
    items = read_items(data, "items.csv", profile=YK)
    assert [i.value for i in items] == [Decimal("0.925"), Decimal(1), Decimal(3)]
    assert items[0].period == parse_period("2026Q1") and items[1].date == dt.date(2026, 3, 2)
    assert items[1].entered_by == "张三" and items[2].entered_by is None
    assert items[1].source == "items.csv, line 3"


@pytest.mark.parametrize(("row", "line", "field", "words"), [
    ("b1,w01,YK-DRESS,dress_not_worn,2026-02-30,,1,x,", 2, "date", "not a date"),
    ("b1,w01,YK-DRESS,dress_not_worn,,2026Q5,1,x,", 2, "period", "not a period"),
    ("b1,w01,YK-DRESS,dress_not_worn,,,1,x,", 2, "date", "either date or period"),
    ("b1,w01,YK-DRESS,dress_not_worn,2026-03-02,,one,x,", 2, "value", "not a number"),
    ("b1,w01,YK-DRESS,dress_not_worn,2026-03-02,,1,,", 2, "note", "missing value"),
    ("b1,w01,YK-DRESS,dress_not_worn,2026-03-02,2026Q2,1,x,", 2, "date", "not in period"),
    ("b1,w01,YK-DRES,dress_not_worn,2026-03-02,,1,x,", 2, "rule", "not in profile"),
    ("b1,w01,YK-DRESS,dress,2026-03-02,,1,x,", 2, "item", "not one of YK-DRESS's items"),
    ("b1,w01,YK-SURVEY,awareness,,2026Q1,120%,x,", 2, "value", "within 0-1"),
    ("b1,t,YK-REWARD-FT,county_rank_month,,2026-01,2.5,x,", 2, "value", "whole number"),
])
def test_bad_item_rows_name_file_line_field(row: str, line: int, field: str, words: str) -> None:
    with pytest.raises(FormatError) as info:
        read_items((HEAD + row + "\n").encode(), "items.csv", profile=YK)
    e = info.value
    assert (e.file, e.where, e.field) == ("items.csv", line, field) and words in e.message


def test_missing_column_and_duplicate_id() -> None:
    with pytest.raises(FormatError) as info:
        read_items(b"item_id,subject_id,rule,item,date,value\n", "x.csv")
    assert (info.value.where, info.value.field) == (1, "note")
    data = HEAD + "c1,w,YK-DRESS,dress_not_worn,2026-03-02,,1,x,\nc1,w,YK-DRESS,dress_not_worn,2026-03-03,,1,y,\n"
    with pytest.raises(FormatError) as info:
        read_items(data.encode(), "x.csv")
    assert (info.value.where, info.value.field) == (3, "item_id") and "also line 2" in info.value.message


@pytest.mark.parametrize(("text", "label", "start", "end"), [
    ("2026-02", "2026-02", dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
    ("2026q4", "2026Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
    ("2024", "2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
])
def test_periods(text: str, label: str, start: dt.date, end: dt.date) -> None:
    p = parse_period(text)
    assert (p.label, p.start, p.end) == (label, start, end)
    assert [m.label for m in parse_period("2026Q1").sub_periods("month")] == ["2026-01", "2026-02", "2026-03"]


@pytest.mark.parametrize(("text", "end", "quarters"), [
    ("9999", dt.date(9999, 12, 31), ["9999Q1", "9999Q2", "9999Q3", "9999Q4"]),
    ("9999Q4", dt.date(9999, 12, 31), ["9999Q4"]),
    ("9999-12", dt.date(9999, 12, 31), ["9999Q4"]),
    ("0001", dt.date(1, 12, 31), ["0001Q1", "0001Q2", "0001Q3", "0001Q4"]),
])
def test_periods_at_the_ends_of_the_calendar(text: str, end: dt.date, quarters: list[str]) -> None:
    # the last year datetime knows: its December has no "next month" (a 500 on /me/score once)
    p = parse_period(text)
    assert p.end == end
    assert [q.label for q in p.sub_periods("quarter")] == quarters
    assert p.sub_periods("month")[-1].end == end


@pytest.mark.parametrize(("text", "words"), [
    ("0000", "year 0000 is not 0001-9999"), ("0000Q1", "year 0000"), ("0000-01", "year 0000"),
    ("2026-13", "month 13"), ("2026Q5", "not a period"), ("10000", "not a period"),
    ("", "not a period"),
])
def test_bad_periods_say_why(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_period(text)


YANGKOU = (PROFILE_DIR / "yangkou-2022.yaml").read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(("old", "new", "marker", "field", "words"), [
    ("shares: {excellent: 0.2, good: 0.6, pass: 0.2}", "shares: {excellent: 0.3, good: 0.6, pass: 0.2}",
     "excellent: 0.3", "rules.15.params.shares", "add up to"),
    ("tie_breaks: [YK-PATROL, YK-LOG, worker_id]", "tie_breaks: [YK-PATROLL, YK-LOG, worker_id]",
     "YK-PATROLL", "rules.15.params.tie_breaks.0", "neither a rule id"),
    ("amounts: {excellent: 600, good: 450, pass: 300}", "amounts: {excellent: 600, good: 450}",
     "amounts: {excellent: 600, good: 450}", "rules.16.params.amounts.pass", "required"),
    ("monthly: [{max_rank: 4, amount: 600}", "monthly: [{max_rank: 4, amont: 600}",
     "amont", "rules.17.params.monthly.0.amont", "unknown field"),
    ("        - {min_rate: 0.9, points: 8}", "        - {min_rate: 0.95, points: 8}\n        - {min_rate: 0.96, points: 7}",
     "min_rate: 1.0", "rules.8.params.tiers", "highest min_rate down"),
    ("min_score: 60 ", "min_scor: 60 ", "min_scor", "rules.14.params.min_scor", "unknown field"),
    ("  year: {method: mean, of: quarter}", "  year: {method: mean, of: year}", "of: year",
     "period_scores.year.of", "shorter period"),
    ("{item: sick_leave_day, points: -1, free_per_month: 3}", "{item: sick_leave_day, free_per_month: 3}",
     "{item: sick_leave_day, free_per_month: 3}", "rules.12.entered.2", "not valid under any"),
])
def test_bad_scoring_sections_are_refused_with_line_and_field(old, new, marker, field, words) -> None:
    assert old in YANGKOU, old
    text = YANGKOU.replace(old, new, 1)
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "town.yaml")
    err = info.value
    assert err.field == field, str(err)
    assert err.line == line_of(text, marker)
    assert words in err.message


def test_scoring_modules_are_pure() -> None:
    code = (
        "import sys, scoring.period, scoring.tiers, scoring.score, scoring.items, scoring.dayjson; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'psycopg', 'checkins', 'server', 'openpyxl')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
