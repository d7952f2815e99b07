"""Readers for the day-event CSVs of FORMATS.md: sign-ins, app patrol sessions, exemptions.

Each reader returns ``{worker_id: tuple(...)}`` of ``geo.types`` objects sorted by time,
with coordinates in WGS-84 (GEO-CRS) and times in POSIX seconds. Errors name file, line
and field (:class:`FormatError`). These files are small, so rows are read one by one.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np

from checkins.formats.errors import FormatError
from checkins.formats.positions import (
    _CRS_TABLE,
    Source,
    convert_datums,
    open_text,
    parse_time,
    read_header,
    source_name,
)
from geo.types import Exemption, Interval, Place, SignIn

EXEMPTION_KINDS = ("sick_leave", "personal_leave", "field_duty", "special")


class _Row:
    """One CSV data row with its line number and typed accessors that raise FormatError."""

    def __init__(self, name: str, line: int, cells: list[str], cols: dict[str, int]):
        self.name, self.line, self.cells, self.cols = name, line, cells, cols

    def text(self, field: str) -> str:
        i = self.cols.get(field)
        if i is None or i >= len(self.cells):
            return ""
        return self.cells[i].strip()

    def required(self, field: str) -> str:
        value = self.text(field)
        if not value:
            raise FormatError(self.name, self.line, field, f"{field} is required")
        return value

    def time(self, field: str) -> float:
        return parse_time(self.required(field), self.name, self.line, field)

    def number(self, field: str, *, required: bool = True) -> float | None:
        value = self.required(field) if required else self.text(field)
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise FormatError(self.name, self.line, field, f"not a number: {value!r}") from None

    def datum(self) -> str:
        value = self.text("crs").lower()
        if value not in _CRS_TABLE:
            raise FormatError(self.name, self.line, "crs", f"unknown datum {value!r}")
        return str(_CRS_TABLE[value])


def _rows(source: Source, name: str | None, required: tuple[str, ...]) -> Iterator[_Row]:
    fname = source_name(source, name)
    stream = open_text(source)
    try:
        reader = csv.reader(stream)
        cols = read_header(reader, fname, required)
        line = reader.line_num
        for cells in reader:
            first, line = line + 1, reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            yield _Row(fname, first, cells, cols)
    except csv.Error as exc:
        raise FormatError(fname, None, None, f"not a valid CSV file: {exc}") from None
    except UnicodeDecodeError as exc:
        raise FormatError(fname, None, None, f"not UTF-8 text: {exc}") from None
    finally:
        if stream is not source:
            stream.close()


def _to_wgs84(lon: float, lat: float, datum: str) -> tuple[float, float]:
    if datum == "wgs84":
        return lon, lat
    lon_a, lat_a = np.array([lon]), np.array([lat])
    convert_datums(lon_a, lat_a, np.array([datum]))
    return float(lon_a[0]), float(lat_a[0])


def read_signins(source: Source, name: str | None = None) -> dict[str, tuple[SignIn, ...]]:
    """Read ``signins.csv`` (worker_id,signed_at,lon,lat,accuracy_m[,crs]) into WGS-84 sign-ins."""
    out: dict[str, list[SignIn]] = {}
    for row in _rows(source, name, ("worker_id", "signed_at", "lon", "lat", "accuracy_m")):
        wid = row.required("worker_id")
        t = row.time("signed_at")
        lon = row.number("lon")
        lat = row.number("lat")
        accuracy_m = row.number("accuracy_m", required=False)
        assert lon is not None and lat is not None
        lon, lat = _to_wgs84(lon, lat, row.datum())
        out.setdefault(wid, []).append(SignIn(t=t, lon=lon, lat=lat, accuracy_m=accuracy_m))
    return {w: tuple(sorted(v, key=lambda s: s.t)) for w, v in out.items()}


def read_patrols(source: Source, name: str | None = None) -> dict[str, tuple[Interval, ...]]:
    """Read ``patrols.csv`` (worker_id,started_at,ended_at): patrols started/stopped in the app.

    A session never stopped (empty ``ended_at``) is kept as started, with no duration.
    """
    out: dict[str, list[Interval]] = {}
    for row in _rows(source, name, ("worker_id", "started_at", "ended_at")):
        wid = row.required("worker_id")
        start = row.time("started_at")
        end = row.time("ended_at") if row.text("ended_at") else start
        if end < start:
            raise FormatError(row.name, row.line, "ended_at", "ended_at is before started_at")
        out.setdefault(wid, []).append(Interval(start=start, end=end))
    return {w: tuple(sorted(v, key=lambda i: i.start)) for w, v in out.items()}


def _bound(row: _Row, field: str, tz: ZoneInfo, *, is_end: bool) -> float:
    """A time with offset, or a plain date (whole local day: start 00:00, end next 00:00)."""
    value = row.required(field)
    if len(value) == 10:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise FormatError(row.name, row.line, field, f"not a date or time: {value!r}") from None
        if is_end:
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, dt.time(0), tzinfo=tz).timestamp()
    return parse_time(value, row.name, row.line, field)


def read_exemptions(
    source: Source, name: str | None = None, timezone: str = "Asia/Shanghai"
) -> dict[str, tuple[Exemption, ...]]:
    """Read ``exemptions.csv`` (worker_id,start,end,kind[,place_lon,place_lat,place_radius_m]).

    Every row is taken as *approved*. ``start``/``end`` are times with a UTC offset, or plain
    dates meaning whole local days in ``timezone`` (the end date included). A field-duty
    place is a circle (WGS-84, or the row's ``crs``) with radius ``place_radius_m`` metres.
    """
    tz = ZoneInfo(timezone)
    out: dict[str, list[Exemption]] = {}
    for row in _rows(source, name, ("worker_id", "start", "end", "kind")):
        wid = row.required("worker_id")
        start = _bound(row, "start", tz, is_end=False)
        end = _bound(row, "end", tz, is_end=True)
        if end <= start:
            raise FormatError(row.name, row.line, "end", "end is not after start")
        kind = row.required("kind").lower()
        if kind not in EXEMPTION_KINDS:
            raise FormatError(
                row.name, row.line, "kind",
                f"unknown kind {kind!r} (allowed: {', '.join(EXEMPTION_KINDS)})",
            )
        place = None
        if row.text("place_lon") or row.text("place_lat"):
            lon = row.number("place_lon")
            lat = row.number("place_lat")
            radius_m = row.number("place_radius_m")
            assert lon is not None and lat is not None and radius_m is not None
            if radius_m <= 0:
                raise FormatError(row.name, row.line, "place_radius_m", "radius must be > 0")
            lon, lat = _to_wgs84(lon, lat, row.datum())
            place = Place(lon=lon, lat=lat, radius_m=radius_m)
        out.setdefault(wid, []).append(Exemption(start=start, end=end, kind=kind, place=place))  # type: ignore[arg-type]
    return {w: tuple(sorted(v, key=lambda e: e.start)) for w, v in out.items()}
