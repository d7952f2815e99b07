"""Positions readers (FORMATS.md "Positions"): CSV and GPX 1.1 -> geo.types.Fixes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from checkins.formats.errors import FormatError
from checkins.formats.positions import (
    concat_fixes,
    merge_positions,
    read_positions,
    read_positions_csv,
    read_positions_gpx,
)
from geo.crs import from_wgs84

HEADER = "worker_id,recorded_at,lon,lat,accuracy_m,speed_mps,crs,mock,kind\n"
T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp()


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode()


def test_reads_columns_groups_by_worker_and_sorts_by_time() -> None:
    data = csv_bytes(
        "w02,2026-03-02T08:01:00+08:00,120.5,32.1,8,1.2,wgs84,false,fix",
        "w01,2026-03-02T08:00:30+08:00,120.4,32.0,,,,,",
        "w01,2026-03-02T00:00:00Z,120.3,31.9,15.5,0.5,,true,fix",
    )
    out = read_positions_csv(data, "p.csv")
    assert sorted(out) == ["w01", "w02"]
    w1 = out["w01"]
    # 00:00Z is 08:00+08:00, i.e. 30 s before the other w01 row: sorted first
    assert w1.t.tolist() == [T0, T0 + 30]
    assert w1.lon.tolist() == [120.3, 120.4]
    assert w1.mock.tolist() == [True, False]
    assert w1.accuracy_m[0] == 15.5 and np.isnan(w1.accuracy_m[1])
    assert np.isnan(w1.speed_mps[1])
    assert not w1.is_heartbeat.any()
    assert out["w02"].t.tolist() == [T0 + 60]
    assert out["w02"].received_at is None


def test_spaces_around_values_are_tolerated() -> None:
    data = csv_bytes("w01, 2026-03-02T08:00:00+08:00 , 120.4 ,32.0,,,,,")
    f = read_positions_csv(data, "p.csv")["w01"]
    assert (f.t[0], f.lon[0]) == (T0, 120.4)


def test_state_extension_columns() -> None:
    data = csv_bytes(
        "w01,2026-03-02T08:00:00+08:00,,,heartbeat,2026-03-02T08:00:05+08:00,false,stopped,,4",
        "w01,2026-03-02T08:05:00+08:00,120.4,32.0,fix,,true,,wifi,",
        header="worker_id,recorded_at,lon,lat,kind,received_at,gps_on,app_state,network,battery_pct\n",
    )
    f = read_positions_csv(data, "p.csv")["w01"]
    assert f.received_at is not None and f.received_at[0] == T0 + 5 and np.isnan(f.received_at[1])
    assert f.gps_on is not None and f.gps_on.tolist() == [0.0, 1.0]
    assert f.app_state is not None and f.app_state.tolist() == ["stopped", None]
    assert f.network is not None and f.network.tolist() == [None, "wifi"]
    assert f.battery_pct is not None and f.battery_pct[0] == 4 and np.isnan(f.battery_pct[1])
    # absent columns stay None, as the engine expects
    plain = read_positions_csv(csv_bytes("w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,,,"), "q.csv")
    assert plain["w01"].gps_on is None and plain["w01"].received_at is None
    merged = concat_fixes([plain["w01"], f])
    assert merged.app_state is not None and merged.app_state.tolist() == [None, "stopped", None]
    assert merged.battery_pct is not None and np.isnan(merged.battery_pct[0])


def test_heartbeat_rows_have_no_position() -> None:
    data = csv_bytes(
        "w01,2026-03-02T08:00:00+08:00,,,,,,,heartbeat",
        "w01,2026-03-02T08:05:00+08:00,120.4,32.0,10,,,,fix",
    )
    f = read_positions_csv(data, "p.csv")["w01"]
    assert f.is_heartbeat.tolist() == [True, False]
    assert np.isnan(f.lon[0]) and np.isnan(f.lat[0])
    assert f.lon[1] == 120.4


def test_minimal_columns_and_extra_columns_ignored() -> None:
    data = csv_bytes(
        "w01,2026-03-02T08:00:00+08:00,120.4,32.0,x,y",
        header="worker_id,recorded_at,lon,lat,battery,note\n",
    )
    f = read_positions_csv(data, "p.csv")["w01"]
    assert len(f) == 1 and f.lat[0] == 32.0
    assert np.isnan(f.accuracy_m[0]) and not f.mock[0] and not f.is_heartbeat[0]


def test_gcj02_and_bd09_rows_are_converted_to_wgs84() -> None:
    lon, lat = 120.40, 32.00  # WGS-84 truth
    g_lon, g_lat = from_wgs84(lon, lat, "gcj02")
    b_lon, b_lat = from_wgs84(lon, lat, "bd09")
    data = csv_bytes(
        f"w01,2026-03-02T08:00:00+08:00,{g_lon:.9f},{g_lat:.9f},5,,gcj02,false,fix",
        f"w01,2026-03-02T08:01:00+08:00,{b_lon:.9f},{b_lat:.9f},5,,BD09,false,fix",
        f"w01,2026-03-02T08:02:00+08:00,{lon},{lat},5,,wgs84,false,fix",
    )
    f = read_positions_csv(data, "p.csv")["w01"]
    # the GCJ-02 offset here is hundreds of metres; after conversion all three agree within
    # about 1e-5 degrees (~1 m)
    assert abs(g_lon - lon) > 1e-3
    np.testing.assert_allclose(f.lon, [lon, lon, lon], atol=1e-5)
    np.testing.assert_allclose(f.lat, [lat, lat, lat], atol=1e-5)


def test_invalid_coordinates_are_data_not_errors() -> None:
    data = csv_bytes(
        "w01,2026-03-02T08:00:00+08:00,0,0,5,,,,",
        "w01,2026-03-02T08:01:00+08:00,200,95,5,,,,",
        "w01,2026-03-02T08:02:00+08:00,nan,NaN,5,,,,",
    )
    f = read_positions_csv(data, "p.csv")["w01"]
    assert f.lon[:2].tolist() == [0.0, 200.0]
    assert f.lat[1] == 95.0
    assert np.isnan(f.lon[2]) and np.isnan(f.lat[2])


@pytest.mark.parametrize(
    ("row", "line", "field", "words"),
    [
        ("w01,2026-03-02T08:00:00,120.4,32.0,,,,,", 3, "recorded_at", "no UTC offset"),
        ("w01,yesterday,120.4,32.0,,,,,", 3, "recorded_at", "not an ISO 8601 time"),
        ("w01,2026-03-02T08:00:00+08:00,12o.4,32.0,,,,,", 3, "lon", "not a number"),
        ("w01,2026-03-02T08:00:00+08:00,120.4,,,,,,fix", 3, "lat", "required for a fix"),
        ("w01,2026-03-02T08:00:00+08:00,120.4,32.0,ten,,,,", 3, "accuracy_m", "not a number"),
        ("w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,wgs48,,", 3, "crs", "unknown value"),
        ("w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,,maybe,", 3, "mock", "unknown value"),
        ("w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,,,ping", 3, "kind", "unknown value"),
        (",2026-03-02T08:00:00+08:00,120.4,32.0,,,,,", 3, "worker_id", "empty"),
    ],
)
def test_bad_values_name_file_line_and_field(row: str, line: int, field: str, words: str) -> None:
    data = csv_bytes("w01,2026-03-02T07:59:00+08:00,120.4,32.0,,,,,", row)
    with pytest.raises(FormatError) as info:
        read_positions_csv(data, "positions.csv")
    err = info.value
    assert (err.file, err.where, err.field) == ("positions.csv", line, field)
    assert words in err.message
    assert "positions.csv, line 3, field" in str(err)


def test_missing_required_column_is_an_error_on_the_header_line() -> None:
    data = csv_bytes("w01,2026-03-02T08:00:00+08:00,120.4", header="worker_id,recorded_at,lon\n")
    with pytest.raises(FormatError) as info:
        read_positions_csv(data, "p.csv")
    assert (info.value.where, info.value.field) == (1, "lat")


def test_line_numbers_count_blank_lines_and_quoted_line_breaks() -> None:
    data = (
        HEADER
        + "w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,,,\n"
        + "\n"
        + '"w\n02",2026-03-02T08:00:00+08:00,120.4,32.0,,,,,\n'
        + "w03,2026-03-02T08:00:00,120.4,32.0,,,,,\n"
    ).encode()
    with pytest.raises(FormatError) as info:
        read_positions_csv(data, "p.csv")
    # header 1, w01 2, blank 3, the quoted row spans 4-5, the bad row is line 6
    assert info.value.where == 6


def test_reads_a_file_from_disk_with_bom(tmp_path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_bytes("w01,2026-03-02T08:00:00+08:00,120.4,32.0,,,,,"))
    out = read_positions(path)
    assert out["w01"].t.tolist() == [T0]


GPX = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <metadata><name>{name}</name></metadata>
  <trk><trkseg>
    <trkpt lat="32.001" lon="120.401"><time>2026-03-02T00:01:00Z</time></trkpt>
    <trkpt lat="32.000" lon="120.400"><time>2026-03-02T00:00:00Z</time></trkpt>
    {extra}
  </trkseg></trk>
</gpx>
"""


def test_gpx_track_points_worker_from_metadata() -> None:
    out = read_positions_gpx(GPX.format(name="w07", extra="").encode(), "t.gpx")
    f = out["w07"]
    assert f.t.tolist() == [T0, T0 + 60]  # 00:00Z = 08:00+08:00, sorted
    assert f.lon.tolist() == [120.400, 120.401]
    assert f.lat.tolist() == [32.000, 32.001]
    assert not f.is_heartbeat.any() and not f.mock.any()


def test_gpx_worker_from_argument_overrides_metadata(tmp_path) -> None:
    path = tmp_path / "track.gpx"
    path.write_text(GPX.format(name="", extra=""), encoding="utf-8")
    assert list(read_positions(path, worker_id="w09")) == ["w09"]
    with pytest.raises(FormatError) as info:
        read_positions(path)
    assert info.value.field == "name"


def test_gpx_point_without_time_is_named() -> None:
    bad = GPX.format(name="w07", extra='<trkpt lat="32.002" lon="120.402"></trkpt>')
    with pytest.raises(FormatError) as info:
        read_positions_gpx(bad.encode(), "t.gpx")
    assert info.value.where == "gpx/trk[1]/trkseg[1]/trkpt[3]"
    assert info.value.field == "time"


def test_gpx_not_xml() -> None:
    with pytest.raises(FormatError) as info:
        read_positions_gpx(b"<gpx", "t.gpx")
    assert info.value.file == "t.gpx"


def test_merge_positions_concatenates_and_sorts() -> None:
    a = read_positions_csv(csv_bytes("w01,2026-03-02T08:02:00+08:00,120.4,32.0,,,,,"), "a.csv")
    b = read_positions_csv(
        csv_bytes(
            "w01,2026-03-02T08:01:00+08:00,120.5,32.0,,,,,",
            "w02,2026-03-02T08:01:00+08:00,120.5,32.0,,,,,",
        ),
        "b.csv",
    )
    merged = merge_positions([a, b])
    assert merged["w01"].t.tolist() == [T0 + 60, T0 + 120]
    assert merged["w01"].lon.tolist() == [120.5, 120.4]
    assert len(merged["w02"]) == 1
    assert len(concat_fixes([])) == 0


# ---------------------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_row = st.tuples(
    st.sampled_from(["w01", "w02", "网格员3"]),
    st.integers(min_value=0, max_value=86_400 * 3),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.one_of(st.none(), st.floats(min_value=0, max_value=500, allow_nan=False)),
    st.booleans(),
    st.sampled_from(["+08:00", "Z", "-05:30"]),
)


@settings(max_examples=50, deadline=None)
@given(st.lists(_row, max_size=40))
def test_csv_round_trip(rows) -> None:
    # write rows with any offset, read back: same instants, values, flags, per worker
    lines = []
    for wid, sec, lon, lat, acc, mock, off in rows:
        t = dt.datetime.fromtimestamp(T0 + sec, dt.UTC)
        if off != "Z":
            sign = 1 if off[0] == "+" else -1
            t = t.astimezone(dt.timezone(sign * dt.timedelta(hours=int(off[1:3]), minutes=int(off[4:]))))
        stamp = t.isoformat().replace("+00:00", "Z")
        lines.append(f"{wid},{stamp},{lon!r},{lat!r},{'' if acc is None else repr(acc)},,,{str(mock).lower()},")
    out = read_positions_csv(csv_bytes(*lines), "p.csv")
    assert sorted(out) == sorted({r[0] for r in rows})
    for wid, f in out.items():
        mine = sorted((T0 + r[1], r[2], r[3]) for r in rows if r[0] == wid)
        assert f.t.tolist() == [m[0] for m in mine]
        assert sorted(zip(f.t.tolist(), f.lon.tolist(), f.lat.tolist(), strict=True)) == mine
        assert len(f.mock) == len(mine) and not f.is_heartbeat.any()
