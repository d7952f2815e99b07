"""YK-DAYS: the official PRC working-day calendar with adjusted days and overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.calendar import CalendarNotCoveredError, is_working_day


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (dt.date(2026, 2, 17), False),  # 2026 Spring Festival (Feb 15-23 off), a Tuesday
        (dt.date(2026, 2, 14), True),  # Saturday, adjusted working day before the festival
        (dt.date(2026, 2, 28), True),  # Saturday, adjusted working day after it
        (dt.date(2026, 3, 2), True),  # ordinary Monday
        (dt.date(2026, 3, 1), False),  # ordinary Sunday
        (dt.date(2025, 1, 29), False),  # 2025 Spring Festival day, a Wednesday
        (dt.date(2025, 1, 26), True),  # Sunday, adjusted working day (调休上班)
        (dt.date(2025, 10, 1), False),  # National Day
    ],
)
def test_yk_days_prc_workdays(date, expected):
    """YK-DAYS: statutory holidays off, adjusted weekend working days on."""
    assert is_working_day(date, "prc_workdays", {}) is expected


def test_yk_days_every_day_and_overrides():
    """YK-DAYS: every_day mode is always on; overrides win over both modes."""
    assert is_working_day(dt.date(2026, 2, 17), "every_day", {}) is True
    assert is_working_day(dt.date(2026, 2, 17), "every_day", {"2026-02-17": False}) is False
    assert is_working_day(dt.date(2026, 3, 1), "prc_workdays", {"2026-03-01": True}) is True


def test_yk_days_uncovered_year_is_a_clear_error():
    """YK-DAYS: a year the package lacks names the year and calendar_overrides."""
    with pytest.raises(CalendarNotCoveredError) as err:
        is_working_day(dt.date(2031, 5, 6), "prc_workdays", {})
    assert "2031" in str(err.value) and "calendar_overrides" in str(err.value)
    # an override supplies the date, so no error
    assert is_working_day(dt.date(2031, 5, 6), "prc_workdays", {"2031-05-06": True}) is True


def test_yk_days_unknown_mode():
    """YK-DAYS: an unknown mode is refused."""
    with pytest.raises(ValueError, match="weekdays"):
        is_working_day(dt.date(2026, 3, 2), "weekdays", {})
