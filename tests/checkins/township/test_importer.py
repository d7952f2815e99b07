"""checkins.township.importer: whole-or-nothing, idempotent imports with counts, warnings, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
import sqlalchemy as sa

from checkins import tables as m
from checkins.audit.service import verify_chain
from checkins.formats.errors import FormatError
from checkins.township.importer import import_file
from tests.checkins.factories import (
    LAT0,
    LON0,
    ROSTER,
    D,
    as_bytes,
    modified,
    square,
    township_doc,
)

DAY1 = dt.date(2026, 3, 2)
DAY2 = dt.date(2026, 4, 1)
TABLES = (m.Township, m.Village, m.Grid, m.Worker, m.GridAssignment, m.AuditLog)


def counts(session) -> dict[str, int]:
    return {t.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in TABLES}


def load_town(session) -> None:
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    import_file(session, "roster", ROSTER.encode(), "roster.csv", valid_from=DAY1)
    session.commit()


def test_grids_import_then_reimport_changes_nothing(session):
    first = import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    session.commit()
    assert first.created == {"township": 1, "village": 2, "grid": 3}
    g2 = session.get(m.Grid, "G2")
    assert g2.village_id == "V1" and g2.name == "二组" and len(g2.geom.interiors) == 1
    assert session.get(m.Grid, "G3").geom.geom_type == "MultiPolygon"
    v1 = session.get(m.Village, "V1")
    assert v1.radius_m == 150 and v1.name == "东村"
    assert v1.office.equals(shapely.Point(LON0 + 0.5 * D, LAT0 + 0.5 * D))
    before = counts(session)
    again = import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    session.commit()
    assert not again.changed
    assert again.unchanged == {"village": 2, "grid": 3}
    after = counts(session)
    assert after == {**before, "audit_log": before["audit_log"] + 1}  # one audit row per import
    assert verify_chain(session) is None


def test_grids_reimport_with_a_changed_polygon_updates_it(session):
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    doc = modified(township_doc(), 2, geometry={"coordinates": square(LON0, LAT0, D / 2)})
    report = import_file(session, "grids", as_bytes(doc), "town.geojson")
    assert report.updated == {"grid": 1}
    assert report.unchanged == {"village": 2, "grid": 2}
    assert session.get(m.Grid, "G1").geom.area == pytest.approx(D * D / 4)


def test_gcj02_grid_is_stored_in_wgs84(session):
    from geo.crs import to_wgs84

    doc = modified(township_doc(), 2, properties={"crs": "gcj02"})
    import_file(session, "grids", as_bytes(doc), "town.geojson")
    session.commit()
    session.expire_all()
    stored = shapely.get_coordinates(session.get(m.Grid, "G1").geom.exterior)
    lon, lat = to_wgs84(LON0, LAT0, "gcj02")
    assert tuple(stored[0]) == pytest.approx((lon, lat), abs=1e-12)
    assert abs(stored[0][0] - LON0) > 1e-3  # hundreds of metres moved


BAD_GRID_FILES = [
    pytest.param(b"{not json", id="bad-json"),
    pytest.param(as_bytes(modified(township_doc(), 4, properties={"grid_id": None})),
                 id="missing-grid_id"),
    pytest.param(as_bytes(modified(township_doc(), 4, properties={"grid_id": "G1"})),
                 id="duplicate-grid_id"),
    pytest.param(as_bytes(modified(township_doc(), 4, geometry={
        "type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + D, LAT0 + D],
                                            [LON0 + D, LAT0], [LON0, LAT0 + D], [LON0, LAT0]]]})),
                 id="self-intersecting"),
    pytest.param(as_bytes(modified(township_doc(), 4, geometry={
        "type": "Polygon", "coordinates": [square(LON0, LAT0)[0][:-1]]})), id="unclosed-ring"),
    pytest.param(as_bytes(modified(township_doc(), 4, geometry={
        "type": "Polygon", "coordinates": [[[LON0, LAT0], [LON0 + D, LAT0], [LON0, LAT0]]]})),
                 id="fewer-than-4-positions"),
    pytest.param(as_bytes(modified(township_doc(), 4, properties={"crs": "utm51n"})),
                 id="unknown-crs"),
]


@pytest.mark.parametrize("data", BAD_GRID_FILES)
def test_bad_grids_file_writes_nothing(session, data):
    # the bad feature is the last one: the valid ones before it must not be written either
    before = counts(session)
    with pytest.raises(FormatError) as e:
        import_file(session, "grids", data, "bad.geojson")
    assert e.value.file == "bad.geojson"
    assert e.value.where is not None
    session.commit()
    assert counts(session) == before


BAD_ROSTERS = [
    pytest.param(ROSTER.replace("role,", "job,"), 1, "role", id="missing-column"),
    pytest.param(ROSTER.replace("w04,赵六,parttime", "w04,赵六,chief"), 5, "role", id="bad-role"),
    pytest.param(ROSTER.replace("w04,赵六,parttime,,V2", "w04,赵六,parttime,G9,V2"), 5,
                 "grid_id", id="unknown-grid"),
    pytest.param(ROSTER.replace("w04,赵六,parttime,,V2", "w04,赵六,parttime,,V9"), 5,
                 "village_id", id="unknown-village"),
]


@pytest.mark.parametrize(("text", "line", "field"), BAD_ROSTERS)
def test_bad_roster_writes_nothing(session, text, line, field):
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    session.commit()
    before = counts(session)
    with pytest.raises(FormatError) as e:
        import_file(session, "roster", text.encode(), "roster.csv", valid_from=DAY1)
    assert (e.value.file, e.value.where, e.value.field) == ("roster.csv", line, field)
    session.commit()
    assert counts(session) == before


def test_roster_import_reimport_and_reassignment(session):
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    first = import_file(session, "roster", ROSTER.encode(), "roster.csv", valid_from=DAY1)
    assert first.created == {"worker": 4, "grid_assignment": 3}
    assert any("w04 has no grid" in w for w in first.warnings)
    w01 = session.get(m.Worker, "w01")
    assert (w01.name, w01.role, w01.phone, w01.village_id) == ("张三", "head", "13800000001", "V1")

    again = import_file(session, "roster", ROSTER.encode(), "roster.csv", valid_from=DAY2)
    assert not again.changed
    assert again.unchanged == {"worker": 4, "grid_assignment": 3}

    moved = ROSTER.replace("w02,李四,fulltime,G2,V1", "w02,李四,fulltime,G1,V1")
    report = import_file(session, "roster", moved.encode(), "roster.csv", valid_from=DAY2)
    assert report.created == {"grid_assignment": 1}
    assert report.updated == {"grid_assignment": 1}
    rows = session.scalars(sa.select(m.GridAssignment).where(
        m.GridAssignment.worker_id == "w02").order_by(m.GridAssignment.valid_from)).all()
    assert [(a.grid_id, a.valid_from, a.valid_to) for a in rows] == [
        ("G2", DAY1, DAY2), ("G1", DAY2, None)]
    assert session.scalar(sa.select(sa.func.count()).select_from(m.AuditLog)
                          .where(m.AuditLog.entity_id == "roster.csv")) == 3
    assert verify_chain(session) is None


def test_overlapping_grid_with_the_database_is_reported(session):
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson")
    doc = {"type": "FeatureCollection", "features": [modified(township_doc(), 2, properties={
        "grid_id": "G9"}, geometry={"coordinates": square(LON0 + D / 2, LAT0)})["features"][2]]}
    report = import_file(session, "grids", as_bytes(doc), "more.geojson")
    assert report.created == {"grid": 1}
    overlaps = [w for w in report.warnings if "overlap" in w]
    assert len(overlaps) == 2 and all("G9" in w for w in overlaps)


def test_audit_row_records_the_import(session):
    import_file(session, "grids", as_bytes(township_doc()), "town.geojson", actor="office:li")
    row = session.scalars(sa.select(m.AuditLog).order_by(m.AuditLog.id.desc()).limit(1)).one()
    assert (row.actor, row.action, row.entity_id) == ("office:li", "import.grids", "town.geojson")
    assert row.after["created"] == {"township": 1, "village": 2, "grid": 3}
    assert len(row.hash) == 64 and verify_chain(session) is None
