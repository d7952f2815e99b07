"""Sign-in, patrol-session and exemption CSV readers (FORMATS.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from checkins.formats.errors import FormatError
from checkins.formats.events import read_exemptions, read_patrols, read_signins
from geo.crs import from_wgs84

CST = dt.timezone(dt.timedelta(hours=8))


def ts(h: int, m: int = 0, day: int = 2) -> float:
    return dt.datetime(2026, 3, day, h, m, tzinfo=CST).timestamp()


def test_signins_wgs84_and_gcj02() -> None:
    g_lon, g_lat = from_wgs84(120.4, 32.0, "gcj02")
    data = (
        "worker_id,signed_at,lon,lat,accuracy_m,crs\n"
        "w01,2026-03-02T08:41:00+08:00,120.4,32.0,12,\n"
        f"w02,2026-03-02T08:50:00+08:00,{g_lon:.9f},{g_lat:.9f},,gcj02\n"
        "w01,2026-03-01T08:30:00+08:00,120.4,32.0,5,wgs84\n"
    ).encode()
    out = read_signins(data, "signins.csv")
    assert [s.t for s in out["w01"]] == [ts(8, 30, day=1), ts(8, 41)]  # sorted
    assert out["w01"][1].accuracy_m == 12.0
    w2 = out["w02"][0]
    assert w2.accuracy_m is None
    assert abs(w2.lon - 120.4) < 1e-5 and abs(w2.lat - 32.0) < 1e-5


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("w01,2026-03-02T08:41:00,120.4,32.0,12", "signed_at"),
        ("w01,2026-03-02T08:41:00+08:00,east,32.0,12", "lon"),
        ("w01,2026-03-02T08:41:00+08:00,120.4,,12", "lat"),
        ("w01,2026-03-02T08:41:00+08:00,120.4,32.0,good", "accuracy_m"),
    ],
)
def test_signin_errors(row: str, field: str) -> None:
    data = f"worker_id,signed_at,lon,lat,accuracy_m\nw01,2026-03-02T08:00:00+08:00,1,2,3\n{row}\n"
    with pytest.raises(FormatError) as info:
        read_signins(data.encode(), "signins.csv")
    assert (info.value.file, info.value.where, info.value.field) == ("signins.csv", 3, field)


def test_signins_missing_column() -> None:
    with pytest.raises(FormatError) as info:
        read_signins(b"worker_id,signed_at,lon,lat\n", "signins.csv")
    assert (info.value.where, info.value.field) == (1, "accuracy_m")


def test_patrol_sessions() -> None:
    data = (
        b"worker_id,started_at,ended_at\n"
        b"w01,2026-03-02T14:00:00+08:00,2026-03-02T15:10:00+08:00\n"
        b"w01,2026-03-02T08:00:00+08:00,\n"
    )
    out = read_patrols(data, "patrols.csv")
    # a session never stopped is kept as started, with no duration
    assert [(i.start, i.end) for i in out["w01"]] == [(ts(8), ts(8)), (ts(14), ts(15, 10))]


def test_patrol_end_before_start() -> None:
    data = b"worker_id,started_at,ended_at\nw01,2026-03-02T14:00:00+08:00,2026-03-02T13:00:00+08:00\n"
    with pytest.raises(FormatError) as info:
        read_patrols(data, "patrols.csv")
    assert (info.value.where, info.value.field) == (2, "ended_at")


def test_exemptions_times_dates_and_place() -> None:
    data = (
        b"worker_id,start,end,kind,place_lon,place_lat,place_radius_m\n"
        b"w01,2026-03-02T08:00:00+08:00,2026-03-02T12:00:00+08:00,field_duty,120.5,32.1,200\n"
        b"w02,2026-03-02,2026-03-03,sick_leave,,,\n"
    )
    out = read_exemptions(data, "exemptions.csv", timezone="Asia/Shanghai")
    e1 = out["w01"][0]
    assert (e1.start, e1.end, e1.kind) == (ts(8), ts(12), "field_duty")
    assert e1.place is not None and (e1.place.lon, e1.place.lat, e1.place.radius_m) == (120.5, 32.1, 200.0)
    e2 = out["w02"][0]
    # plain dates are whole local days, the end date included: 03-02 00:00 .. 03-04 00:00
    assert (e2.start, e2.end, e2.kind, e2.place) == (ts(0), ts(0, day=4), "sick_leave", None)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("w01,2026-03-02,2026-03-02,holiday,,,", "kind"),
        ("w01,2026-03-02,2026-03-01,special,,,", "end"),
        ("w01,2026-13-02,2026-03-02,special,,,", "start"),
        ("w01,2026-03-02,2026-03-02,field_duty,120.5,32.1,", "place_radius_m"),
        ("w01,2026-03-02,2026-03-02,field_duty,120.5,,100", "place_lat"),
    ],
)
def test_exemption_errors(row: str, field: str) -> None:
    data = f"worker_id,start,end,kind,place_lon,place_lat,place_radius_m\n{row}\n".encode()
    with pytest.raises(FormatError) as info:
        read_exemptions(data, "exemptions.csv")
    assert (info.value.file, info.value.where, info.value.field) == ("exemptions.csv", 2, field)
