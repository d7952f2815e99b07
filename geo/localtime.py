"""Local time: the one place where a township's local day becomes instants (pure).

Every layer reads days in the profile's time zone (Asia/Shanghai by default, any zoneinfo
key works): the engine (GEO-DUTY windows), the database flows (which rows belong to a
day), partitions, exports and the worker's own day. ``tz`` is a zone key or a ``ZoneInfo``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

TZ = str | ZoneInfo


def zone(tz: TZ) -> ZoneInfo:
    """The ``ZoneInfo`` of a key (zoneinfo caches one instance per key)."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


@lru_cache(maxsize=8192)
def _instant(date: dt.date, hhmm: str, tz: str) -> float:
    h, m = (int(v) for v in hhmm.split(":"))
    if h == 24:
        date, h = date + dt.timedelta(days=1), 0
    return dt.datetime.combine(date, dt.time(h, m), tzinfo=ZoneInfo(tz)).timestamp()


def local_instant(date: dt.date, hhmm: str, tz: TZ) -> float:
    """POSIX seconds of local time ``hhmm`` ("HH:MM", "24:00" allowed) on ``date`` in ``tz``."""
    return _instant(date, hhmm, str(tz))


def day_bounds(date: dt.date, tz: TZ) -> tuple[float, float]:
    """[local midnight, next local midnight) of ``date`` in ``tz``, POSIX seconds."""
    key = str(tz)
    return _instant(date, "00:00", key), _instant(date, "24:00", key)


def day_range(date: dt.date, tz: TZ) -> tuple[dt.datetime, dt.datetime]:
    """[local midnight, next local midnight) of ``date`` as tz-aware datetimes."""
    z = zone(tz)
    return (dt.datetime.combine(date, dt.time(0), tzinfo=z),
            dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=z))


def local_date(t: dt.datetime, tz: TZ) -> dt.date:
    """The local date of an instant."""
    return t.astimezone(zone(tz)).date()


__all__ = ["day_bounds", "day_range", "local_date", "local_instant", "zone"]
