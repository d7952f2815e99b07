"""checkins.formats.grids: WGS-84 output, every error names file/feature/field, repair."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from checkins.formats.errors import FormatError
from checkins.formats.grids import read_grids
from tests.checkins.factories import LAT0, LON0, D, as_bytes, modified, square, township_doc


def test_reads_grids_and_offices():
    gf = read_grids(as_bytes(township_doc()), "town.geojson")
    assert [g.grid_id for g in gf.grids] == ["G1", "G2", "G3"]
    assert gf.grid("G3").geom.geom_type == "MultiPolygon"
    assert len(gf.grid("G2").geom.interiors) == 1
    assert gf.grid("G2").geom.area == pytest.approx(D * D - (0.2 * D) ** 2)
    assert {o.village_id: o.radius_m for o in gf.offices} == {"V1": 150.0, "V2": None}
    assert gf.offices[0].point.equals(shapely.Point(LON0 + 0.5 * D, LAT0 + 0.5 * D))
    assert gf.overlaps == ()


def test_reads_from_a_path(tmp_path):
    path = tmp_path / "g.geojson"
    path.write_bytes(as_bytes(township_doc()))
    assert len(read_grids(path).grids) == 3
    with pytest.raises(FormatError) as e:
        read_grids(tmp_path / "missing.geojson")
    assert "missing.geojson" in str(e.value)


BOWTIE = [[[LON0, LAT0], [LON0 + D, LAT0 + D], [LON0 + D, LAT0], [LON0, LAT0 + D], [LON0, LAT0]]]
UNCLOSED = [square(LON0, LAT0)[0][:-1]]
THREE = [[[LON0, LAT0], [LON0 + D, LAT0], [LON0, LAT0]]]


@pytest.mark.parametrize(("doc", "where", "field", "message"), [
    (modified(township_doc(), 2, properties={"grid_id": None}), "feature 2", "grid_id",
     "missing"),
    (modified(township_doc(), 3, properties={"grid_id": "G1"}), "feature 3 (grid_id=G1)",
     "grid_id", "duplicate grid_id 'G1' (also feature 2)"),
    (modified(township_doc(), 2, geometry={"coordinates": BOWTIE}), "feature 2 (grid_id=G1)",
     "geometry", "invalid polygon: Self-intersection"),
    (modified(township_doc(), 2, geometry={"coordinates": UNCLOSED}), "feature 2 (grid_id=G1)",
     "geometry", "exterior ring is not closed"),
    (modified(township_doc(), 2, geometry={"coordinates": THREE}), "feature 2 (grid_id=G1)",
     "geometry", "has 3 positions; a ring needs at least 4"),
    (modified(township_doc(), 2, properties={"crs": "epsg:3857"}), "feature 2", "crs",
     "unknown crs 'epsg:3857'"),
    (modified(township_doc(), 3, properties={"village_id": ""}), "feature 3 (grid_id=G2)",
     "village_id", "missing"),
])
def test_bad_feature_errors_name_file_feature_and_field(doc, where, field, message):
    with pytest.raises(FormatError) as e:
        read_grids(as_bytes(doc), "town.geojson")
    err = e.value
    assert (err.file, err.where, err.field) == ("town.geojson", where, field)
    assert message in err.message
    assert str(err).startswith(f"town.geojson, {where}, field '{field}': ")


def test_bad_json_names_line_and_column():
    with pytest.raises(FormatError) as e:
        read_grids(b'{"type": "FeatureCollection",\n "features": [,]}', "bad.geojson")
    assert e.value.file == "bad.geojson"
    assert e.value.where == "line 2 column 15"
    assert "invalid JSON" in e.value.message


def test_not_a_feature_collection():
    with pytest.raises(FormatError) as e:
        read_grids(b'{"type": "Feature"}', "x.json")
    assert e.value.field == "type"


def test_repair_fixes_bowtie_and_unclosed_ring():
    doc = modified(township_doc(), 2, geometry={"coordinates": BOWTIE})
    doc = modified(doc, 3, geometry={"coordinates": UNCLOSED})
    gf = read_grids(as_bytes(doc), "town.geojson", repair=True)
    g1, g2 = gf.grid("G1"), gf.grid("G2")
    assert g1.repaired and g1.geom.is_valid and g1.geom.area == pytest.approx(D * D / 2)
    assert g2.repaired and g2.geom.is_valid and g2.geom.area == pytest.approx(D * D)
    assert not gf.grid("G3").repaired
    assert sum("repaired" in w for w in gf.warnings) == 2


def test_gcj02_feature_lands_in_wgs84():
    import prcoords

    from geo.crs import to_wgs84

    doc = modified(township_doc(), 2, properties={"crs": "gcj02"})
    gf = read_grids(as_bytes(doc), "town.geojson")
    raw = np.array(square(LON0, LAT0)[0])
    got = shapely.get_coordinates(gf.grid("G1").geom.exterior)
    lon, lat = to_wgs84(raw[:, 0], raw[:, 1], "gcj02")
    np.testing.assert_allclose(got, np.column_stack([lon, lat]), atol=1e-12)
    # the offset is real (hundreds of metres), and an independent implementation agrees
    assert np.abs(got - raw).max() > 1e-3
    ref = prcoords.gcj_wgs_bored((raw[0, 1], raw[0, 0]))
    assert got[0] == pytest.approx([ref.lon, ref.lat], abs=1e-7)
    # other features keep their own (default) datum
    assert gf.grid("G2").geom.equals(read_grids(as_bytes(township_doc())).grid("G2").geom)


def test_collection_crs_applies_to_all_features_bd09():
    from geo.crs import to_wgs84

    doc = township_doc()
    doc["crs"] = "bd09"
    gf = read_grids(as_bytes(doc), "town.geojson")
    lon, lat = to_wgs84(LON0 + 0.5 * D, LAT0 + 0.5 * D, "bd09")
    assert gf.offices[0].datum == "bd09"
    assert (gf.offices[0].point.x, gf.offices[0].point.y) == pytest.approx((lon, lat), abs=1e-12)


def test_overlapping_grids_are_reported():
    doc = modified(township_doc(), 3, geometry={"coordinates": square(LON0 + D / 2, LAT0)})
    gf = read_grids(as_bytes(doc), "town.geojson")
    assert [(o.grid_a, o.grid_b) for o in gf.overlaps] == [("G1", "G2")]
    # half a ~0.94 km x 1.1 km square
    assert gf.overlaps[0].area_m2 == pytest.approx(0.5 * 939 * 1113, rel=0.01)


def test_extra_properties_and_features_are_kept_or_ignored():
    doc = modified(township_doc(), 2, properties={"colour": "red"})
    doc["features"].append({"type": "Feature", "properties": {},
                            "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}})
    gf = read_grids(as_bytes(doc), "town.geojson")
    assert gf.grid("G1").properties["colour"] == "red"
    assert any("LineString" in w for w in gf.warnings)
