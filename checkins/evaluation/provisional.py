"""The provisional rule: a day result may still change until a grace period has passed.

A result is *provisional* until ``grace_s`` (default 72 h; setting
``GRIDPATROL_RESULT_GRACE_HOURS``) has passed after the end of its local day: late uploads
and office decisions still re-judge it. The nightly job stores the flag as evaluated; the
office pages ask the clock (the stored flag is only refreshed on evaluation).
"""

from __future__ import annotations

import datetime as dt

from geo.localtime import TZ, day_range

DEFAULT_GRACE_S = 72 * 3600.0


def is_provisional(date: dt.date, tz: TZ, at: dt.datetime,
                   grace_s: float = DEFAULT_GRACE_S) -> bool:
    """True while less than ``grace_s`` has passed at ``at`` since the end of local ``date``."""
    end = day_range(date, tz)[1]
    return at < end + dt.timedelta(seconds=grace_s)


def grace_s_of(settings: object) -> float:
    """The grace period of the app's settings (``result_grace_hours``), in seconds."""
    return float(getattr(settings, "result_grace_hours", DEFAULT_GRACE_S / 3600.0)) * 3600.0


__all__ = ["DEFAULT_GRACE_S", "grace_s_of", "is_provisional"]
