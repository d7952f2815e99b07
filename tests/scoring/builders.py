"""Small builders for the scoring tests: worker-days and entered items by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from geo.types import DayResult, OffPost, PatrolResult, PhoneOff, SigninResult
from scoring.dayjson import ScoredDay
from scoring.items import EnteredItem, parse_period
from scoring.period import Subject

CST = dt.timezone(dt.timedelta(hours=8))


def ts(date: dt.date, h: int, m: int = 0) -> float:
    """Epoch seconds of local time h:m on ``date`` (UTC+8)."""
    return dt.datetime(date.year, date.month, date.day, h, m, tzinfo=CST).timestamp()


def patrol(window: str, status: str = "ok", in_grid_s: int = 3700, required_s: int = 3600,
           started_in_app: bool = True) -> PatrolResult:
    """A patrol window result."""
    return PatrolResult(window=window, status=status, in_grid_s=in_grid_s, required_s=required_s,
                        tolerance_s=0, lost_s={}, stationary=False, started_in_app=started_in_app)


def day(worker: str = "w01", date: dt.date = dt.date(2026, 3, 2), role: str = "parttime",
        village: str | None = "v01", am: str = "ok", pm: str = "ok", signin: str = "ok",
        started_in_app: bool = True, offpost=(), phone_off=(), online_rate: float | None = 1.0,
        duty_s: int = 28800) -> ScoredDay:
    """One worker-day; patrol statuses by name, intervals as (h1, m1, h2, m2) local times."""
    req = 7200 if role == "fulltime" else 3600
    grid = {"ok": req + 100, "short": req // 2, "missing": 0, "exempt": 0, "not_required": 0}
    return ScoredDay(DayResult(
        worker_id=worker, date=date, role=role, grid_id=f"g-{worker}", working_day=True,
        patrols={"am": patrol("am", am, grid[am], req, started_in_app),
                 "pm": patrol("pm", pm, grid[pm], req, started_in_app)},
        signin=SigninResult(status=signin, at=None if signin == "missing" else ts(date, 8, 41), distance_m=20.0),
        offpost=tuple(OffPost("offpost", ts(date, a, b), ts(date, c, d)) for a, b, c, d in offpost),
        phone_off=tuple(PhoneOff(ts(date, a, b), ts(date, c, d), "phone_off") for a, b, c, d in phone_off),
        suspect_fixes=(), rejected={}, fixes_used=100, online_rate=online_rate, duty_s=duty_s,
    ), village)


_n = [0]


def item(subject: str, rule: str, code: str, value: str | int | float = 1, date: str | None = None,
         period: str | None = None, note: str = "finding", item_id: str | None = None,
         entered_by: str | None = None) -> EnteredItem:
    """One entered item; ``value`` kept exact (Decimal of its text)."""
    _n[0] += 1
    return EnteredItem(
        item_id=item_id or f"i{_n[0]:04d}", subject_id=subject, rule=rule, item=code,
        value=Decimal(str(value)), note=note,
        date=dt.date.fromisoformat(date) if date else None,
        period=parse_period(period) if period and not date else None, entered_by=entered_by,
    )


def worker(wid: str, role: str = "parttime", village: str = "v01") -> Subject:
    """A roster entry."""
    return Subject(wid, "worker", role, village, wid.upper())


def workdays(first: dt.date, last: dt.date) -> list[dt.date]:
    """Mon-Fri dates from first to last (enough for the tests: no holidays involved)."""
    out, d = [], first
    while d <= last:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out
