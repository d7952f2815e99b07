"""YK-DAYS: which local dates need patrols (official PRC working-day calendar or every day).

Mode ``prc_workdays`` follows the State Council's calendar as packaged by
``chinese-calendar``: statutory holidays are off, adjusted working days (调休上班, often a
Saturday or Sunday) are on. Mode ``every_day`` makes every date a working day. A profile's
``calendar_overrides`` (ISO date -> True working / False rest) always win, and are the only
way to supply a year the package does not cover yet: such a year is an error, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache

import chinese_calendar

RULE_ID = "YK-DAYS"
MODES = ("prc_workdays", "every_day")


class CalendarNotCoveredError(ValueError):
    """The PRC calendar has no data for a year and no override supplies the date (YK-DAYS)."""


@lru_cache(maxsize=4096)
def _prc_workday(date: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(date))
    except NotImplementedError as exc:
        raise CalendarNotCoveredError(
            f"{RULE_ID}: the PRC working-day calendar (chinese-calendar "
            f"{getattr(chinese_calendar, '__version__', '?')}) has no data for year "
            f"{date.year} (needed for {date.isoformat()}); the rule profile's "
            f"calendar_overrides must supply the working days and holidays of {date.year}"
        ) from exc


def is_working_day(
    date: dt.date, mode: str, overrides: Mapping[str, bool] | None = None
) -> bool:
    """YK-DAYS: True if ``date`` (local) is a working day under ``mode`` and ``overrides``."""
    if overrides:
        hit = overrides.get(date.isoformat())
        if hit is not None:
            return bool(hit)
    if mode == "every_day":
        return True
    if mode == "prc_workdays":
        return _prc_workday(date)
    raise ValueError(f"{RULE_ID}: unknown working_days mode {mode!r}; expected one of {MODES}")
