"""Entered items: CSV ``item_id,subject_id,rule,item,date,period,value,note[,entered_by]``.

Items offices enter or import with their evidence note (survey rates, 平安建设 counts, dress
findings, attendance events, bonus items, articles, terminal findings, the county's rank of
the township, management evaluation scores, NB volume/arrival/hours data, daily reports).
One of ``date`` (YYYY-MM-DD) or ``period`` (YYYY-MM, YYYYQn, YYYY) is required; ``value``
defaults to 1 and takes ``90%`` for a rate (stored exactly as ``Decimal('0.90')``);
``note`` is required. Errors name the file, the line (header = line 1) and the column; with a
profile, rule ids and item codes are checked too.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from os import PathLike

from checkins.formats.csvrows import read_csv_rows
from checkins.formats.errors import FormatError
from scoring.items import EnteredItem, ItemError, check_items, parse_period
from scoring.profiles import Profile

REQUIRED_COLUMNS = ("item_id", "subject_id", "rule", "item", "value", "note")
OPTIONAL_COLUMNS = ("date", "period", "entered_by")


def _value(text: str) -> Decimal:
    t = text.strip().replace(",", "")
    if not t:
        return Decimal(1)
    pct = t.endswith("%")
    d = Decimal(t[:-1].strip() if pct else t)
    if not d.is_finite():
        raise InvalidOperation
    return d / 100 if pct else d


def read_items(
    source: str | PathLike[str] | bytes, name: str | None = None, profile: Profile | None = None
) -> list[EnteredItem]:
    """Read an entered-items CSV (path or bytes, UTF-8 with or without BOM)."""
    name, index, data_rows = read_csv_rows(source, name, REQUIRED_COLUMNS)
    if "date" not in index and "period" not in index:
        raise FormatError(name, 1, "date", "missing column: date or period is required")
    items: list[EnteredItem] = []
    lines: dict[str, int] = {}
    for line, values in data_rows:

        def get(col: str, _v: list[str] = values) -> str:
            i = index.get(col)
            return _v[i].strip() if i is not None and i < len(_v) else ""

        def need(col: str, _line: int = line) -> str:
            v = get(col)
            if not v:
                raise FormatError(name, _line, col, "missing value")
            return v

        item_id = need("item_id")
        if item_id in lines:
            raise FormatError(name, line, "item_id", f"duplicate item_id '{item_id}' (also line {lines[item_id]})")
        lines[item_id] = line
        date = period = None
        if get("date"):
            try:
                date = dt.date.fromisoformat(get("date"))
            except ValueError:
                raise FormatError(name, line, "date", f"not a date (YYYY-MM-DD): {get('date')!r}") from None
        if get("period"):
            try:
                period = parse_period(get("period"))
            except ValueError as exc:
                raise FormatError(name, line, "period", str(exc)) from None
        if date is None and period is None:
            raise FormatError(name, line, "date", "either date or period is required")
        if date is not None and period is not None and not period.contains(date):
            raise FormatError(name, line, "date", f"{date} is not in period {period.label}")
        try:
            value = _value(get("value"))
        except (InvalidOperation, ValueError):
            raise FormatError(name, line, "value", f"not a number: {get('value')!r}") from None
        items.append(EnteredItem(
            item_id=item_id, subject_id=need("subject_id"), rule=need("rule"), item=need("item"),
            value=value, note=need("note"), date=date, period=None if date is not None else period,
            entered_by=get("entered_by") or None, source=f"{name}, line {line}",
        ))
    if profile is not None:
        try:
            check_items(items, profile)
        except ItemError as exc:
            it = exc.item
            raise FormatError(name, lines.get(it.item_id) if it else None, exc.field, exc.message) from None
    return items
