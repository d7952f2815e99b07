"""GEO-CRS: datum conversion against prcoords and published reference points."""

from __future__ import annotations

import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import distance_m, from_wgs84, project, projection_key, to_wgs84, unproject


def _m(lon1, lat1, lon2, lat2):
    """Small-distance metres between degree pairs (equirectangular, fine below 1 km)."""
    lat = np.radians((np.asarray(lat1) + np.asarray(lat2)) / 2)
    return np.hypot(
        (np.asarray(lon1) - lon2) * np.cos(lat) * 111_320.0, (np.asarray(lat1) - lat2) * 110_540.0
    )


@pytest.fixture(scope="module")
def china_points():
    rng = np.random.default_rng(20260302)
    return rng.uniform(75.0, 134.0, 500), rng.uniform(18.0, 53.0, 500)


def test_geo_crs_gcj02_forward_matches_prcoords(china_points):
    """GEO-CRS: WGS-84 -> GCJ-02 agrees with prcoords.wgs_gcj to < 0.01 m."""
    lon, lat = china_points
    glon, glat = from_wgs84(lon, lat, "gcj02")
    ref = np.array([prcoords.wgs_gcj((b, a)) for a, b in zip(lon, lat, strict=True)])
    assert _m(glon, glat, ref[:, 1], ref[:, 0]).max() < 0.01
    # the offset itself is hundreds of metres (why GEO-CRS matters)
    assert _m(glon, glat, lon, lat).mean() > 100


def test_geo_crs_gcj02_inverse_matches_prcoords_precise(china_points):
    """GEO-CRS: GCJ-02 -> WGS-84 agrees with prcoords' iterative inverse to < 0.01 m."""
    glon, glat = china_points
    wlon, wlat = to_wgs84(glon, glat, "gcj02")
    ref = np.array([prcoords.gcj_wgs_bored((b, a)) for a, b in zip(glon, glat, strict=True)])
    assert _m(wlon, wlat, ref[:, 1], ref[:, 0]).max() < 0.01


def test_geo_crs_bd09_matches_prcoords(china_points):
    """GEO-CRS: BD-09 both ways agrees with prcoords (precise inverses) to < 0.01 m."""
    lon, lat = china_points
    blon, blat = from_wgs84(lon, lat, "bd09")
    ref = np.array([prcoords.wgs_bd((b, a)) for a, b in zip(lon, lat, strict=True)])
    assert _m(blon, blat, ref[:, 1], ref[:, 0]).max() < 0.01
    wlon, wlat = to_wgs84(lon, lat, "bd09")
    ref = np.array(
        [prcoords.gcj_wgs_bored(prcoords.bd_gcj_bored((b, a))) for a, b in zip(lon, lat, strict=True)]
    )
    assert _m(wlon, wlat, ref[:, 1], ref[:, 0]).max() < 0.01


def test_geo_crs_published_reference_points():
    """GEO-CRS: published WGS-84/GCJ-02 pairs and a landmark in AMap and Baidu docs."""
    # Test vectors of googollee/eviltransform (python/test.py, TESTS: wgsLat, wgsLng,
    # gcjLat, gcjLng): Shanghai, Shenzhen, Beijing.
    cases = [
        (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
        (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
        (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),
    ]
    for wlat, wlon, glat, glon in cases:
        lon, lat = from_wgs84(wlon, wlat, "gcj02")
        assert _m(lon, lat, glon, glat) < 0.01
        lon, lat = to_wgs84(glon, glat, "gcj02")
        assert _m(lon, lat, wlon, wlat) < 0.01  # precise inverse, not the rough one
    # Tiananmen: AMap JS API examples centre on [116.397428, 39.90923] (GCJ-02); Baidu JS
    # API examples on BMap.Point(116.404, 39.915) (BD-09). Both are rounded picks of the
    # same square, so agreement is only to ~100 m, but the 600 m+ BD offset is gone.
    blon, blat = from_wgs84(*to_wgs84(116.397428, 39.90923, "gcj02"), "bd09")
    assert _m(blon, blat, 116.404, 39.915) < 100
    assert _m(116.397428, 39.90923, 116.404, 39.915) > 500


def test_geo_crs_outside_china_identity_and_unknown_datum():
    """GEO-CRS: GCJ-02 is the identity outside China; an unknown datum is named."""
    assert from_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)
    assert to_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)
    with pytest.raises(ValueError, match="cgcs2000"):
        to_wgs84(121.0, 31.9, "cgcs2000")
    with pytest.raises(ValueError, match="web_mercator"):
        from_wgs84(121.0, 31.9, "web_mercator")


@settings(max_examples=200, deadline=None)
@given(
    st.floats(73.0, 135.0),
    st.floats(18.0, 54.0),
    st.sampled_from(["wgs84", "gcj02", "bd09"]),
)
def test_geo_crs_round_trip_within_1m(lon, lat, datum):
    """GEO-CRS property: datum round trips stay within 1 m (in fact < 1 cm)."""
    a, b = from_wgs84(lon, lat, datum)
    c, d = to_wgs84(a, b, datum)
    assert _m(c, d, lon, lat) < 0.01


def test_geo_crs_local_projection_is_metric():
    """GEO-CRS: the local projection measures metres (1 arc-minute of latitude ~ 1849 m)."""
    key = projection_key(121.0, 31.9)
    x, y = project(np.array([121.0, 121.0]), np.array([31.9, 31.9 + 1 / 60]), key)
    assert abs(np.hypot(x[1] - x[0], y[1] - y[0]) - 1848.9) < 2.0
    lon, lat = unproject(x, y, key)
    assert np.allclose(lon, 121.0) and np.allclose(lat, [31.9, 31.9 + 1 / 60])
    d = distance_m(121.0, 31.9, 121.0 + 1 / 60, 31.9)  # 1' of longitude at 31.9N ~ 1576 m
    assert abs(float(d[0]) - 1576.4) < 3.0


@pytest.mark.parametrize("lat_0", [18.25, 31.75, 41.75, 53.25])
def test_geo_crs_compiled_projection_is_projs(lat_0):
    """GEO-CRS: ``project`` (the compiled series) gives PROJ's tmerc answer to < 1 µm.

    Random points up to 1.5 degrees (~150 km) around the centre, across China's latitudes;
    the measured worst case is ~6e-8 m at 53N (the meridian-distance series of PROJ 9
    differs from the classic one by that much), far below any tolerance in RULES.md.
    """
    from geo.crs import local_projection

    rng = np.random.default_rng(int(lat_0 * 100))
    key = projection_key(118.6, lat_0)
    lon = key[0] + rng.uniform(-1.5, 1.5, 20_000)
    lat = key[1] + rng.uniform(-1.5, 1.5, 20_000)
    x, y = project(lon, lat, key)
    px, py = local_projection(*key).transform(lon, lat)
    assert np.max(np.hypot(x - px, y - py)) < 1e-6


def test_geo_crs_projection_far_or_not_finite_goes_to_proj():
    """GEO-CRS: points the series does not take (far away, NaN, inf) get PROJ's answer."""
    from geo.crs import local_projection

    key = projection_key(121.0, 31.9)
    lon = np.array([121.0, 140.0, np.nan, np.inf, 121.2, 60.0])
    lat = np.array([31.9, 31.9, 31.9, 31.9, np.nan, 10.0])
    x, y = project(lon, lat, key)
    px, py = local_projection(*key).transform(lon, lat)
    np.testing.assert_allclose(x, px, rtol=0, atol=1e-6)
    np.testing.assert_allclose(y, py, rtol=0, atol=1e-6)
    assert np.isfinite(x[1]) and abs(x[1]) > 1_000_000  # 19 degrees east: PROJ's value
    sx, sy = project(key[0], key[1], key)  # scalars in, 0-d arrays out, as before
    assert np.shape(sx) == () and abs(float(sx)) < 1e-6 and abs(float(sy)) < 1e-6


def test_geo_crs_projection_keyed_is_per_point_project():
    """GEO-CRS: ``project_keyed`` puts each point in its own key's projection."""
    from geo.crs import project_keyed

    keys = [projection_key(121.0, 31.9), projection_key(110.3, 20.1)]
    lon = np.array([121.1, 110.2, 121.3, np.nan, 110.4])
    lat = np.array([31.8, 20.0, 31.95, 20.0, 20.3])
    kid = np.array([0, 1, 0, 1, 1])
    x, y = project_keyed(lon, lat, kid, keys)
    for i in range(lon.size):
        ex, ey = project(lon[i : i + 1], lat[i : i + 1], keys[kid[i]])
        np.testing.assert_array_equal([x[i], y[i]], [ex[0], ey[0]])
    assert np.isnan(x[3]) or np.isinf(x[3])
