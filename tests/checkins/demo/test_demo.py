"""The demo township: deterministic, loads on both backends, shows every behaviour."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import shapely
import sqlalchemy as sa

from checkins import tables as m
from checkins.demo.service import build_demo, load_demo_township, most_recent_working_day
from checkins.formats.grids import read_grids
from checkins.formats.roster import read_roster

DAY = dt.date(2026, 11, 23)  # a Monday


@pytest.fixture(scope="module")
def demo():
    return build_demo(seed=7, day=DAY)


def test_demo_is_deterministic(demo):
    again = build_demo(seed=7, day=DAY)
    assert again.grids_doc == demo.grids_doc
    assert again.roster_csv == demo.roster_csv
    assert [(p["client_id"], p["lon"], p["lat"]) for p in again.positions[:500]] == \
        [(p["client_id"], p["lon"], p["lat"]) for p in demo.positions[:500]]
    other = build_demo(seed=8, day=DAY)
    assert other.grids_doc != demo.grids_doc


def test_demo_files_are_valid_interchange_files(demo):
    gf = read_grids(json.dumps(demo.grids_doc).encode(), "demo.geojson")
    assert 28 <= len(gf.grids) <= 32 and len(gf.offices) == 4
    assert gf.overlaps == ()
    assert sum(g.geom.geom_type == "MultiPolygon" for g in gf.grids) == 1
    assert sum(len(getattr(g.geom, "interiors", [])) for g in gf.grids) >= 2
    assert {g.datum for g in gf.grids} == {"wgs84", "gcj02"}
    town = shapely.union_all([g.geom for g in gf.grids])
    assert town.centroid.distance(shapely.Point(121.20, 32.55)) < 0.02
    rows = read_roster(demo.roster_csv.encode(), "roster.csv")
    assert 38 <= len(rows) <= 42
    assert {r.role for r in rows} == {"head", "fulltime", "parttime"}
    assert sum(r.grid_id is None for r in rows) == 1


def test_demo_day_has_every_behaviour(demo):
    fixes = [p for p in demo.positions if p["kind"] == "fix"]
    beats = [p for p in demo.positions if p["kind"] == "heartbeat"]
    assert len(fixes) > 10_000 and len(beats) > 1_000
    assert any(p["mock"] for p in fixes)
    assert any(p["reject_reason"] == "accuracy_too_low" for p in fixes)
    assert {p["datum"] for p in fixes} == {"wgs84", "gcj02", "bd09"}
    assert {e["kind"] for e in demo.exemptions} == {"sick_leave", "field_duty", "personal_leave"}
    # the phone-off worker is silent for more than 30 minutes in the afternoon
    off = next(w for w in demo.workers if w.behaviour == "phone_off")
    times = sorted(p["recorded_at"] for p in demo.positions if p["worker_id"] == off.worker_id)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert max(gaps) > 30 * 60
    # patrolling fixes are 30 s apart
    patrol = demo.patrol_sessions[0]
    inside = sorted(p["recorded_at"] for p in fixes if p["worker_id"] == patrol["worker_id"]
                    and patrol["started_at"] <= p["recorded_at"] <= patrol["ended_at"])
    steps = [(b - a).total_seconds() for a, b in zip(inside, inside[1:], strict=False)]
    assert 25 <= sorted(steps)[len(steps) // 2] <= 35


def test_most_recent_working_day_skips_weekends_and_holidays():
    assert most_recent_working_day(dt.date(2026, 11, 23)) == dt.date(2026, 11, 20)  # Mon->Fri
    assert most_recent_working_day(dt.date(2025, 10, 9)) == dt.date(2025, 9, 30)  # National Day


def _counts(session) -> dict[str, int]:
    return {t.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in (m.Village, m.Grid, m.Worker, m.Device, m.Position, m.Signin,
                      m.PatrolSession, m.PatrolLog, m.Exemption, m.GridAssignment, m.AuditLog)}


def test_demo_loads_into_the_database(session, demo):
    before = _counts(session)  # other suites may have committed rows of their own
    counts = load_demo_township(session, demo)
    session.commit()
    assert counts["grids"] == len(demo.grids_doc["features"]) - 4
    after = _counts(session)
    n = {k: after[k] - before[k] for k in after}
    assert n["village"] == 4 and n["worker"] == len(demo.workers)
    assert n["position"] == len(demo.positions)
    assert n["grid_assignment"] == len(demo.workers) - 1
    assert n["audit_log"] == 2  # the grids and roster imports
    assert min(n.values()) > 0
    # most fixes are tagged with a grid, done in the database on PostgreSQL
    tagged = session.scalar(sa.select(sa.func.count()).select_from(m.Position)
                            .where(m.Position.grid_id.is_not(None),
                                   m.Position.worker_id.in_([w.worker_id
                                                             for w in demo.workers])))
    assert counts["tagged_positions"] == tagged > 0.6 * sum(
        p["kind"] == "fix" for p in demo.positions)
    # a stored fix round-trips: received datum kept, WGS-84 geometry inside its tagged grid
    fix = session.scalars(sa.select(m.Position).where(m.Position.datum == "gcj02",
                                                      m.Position.grid_id.is_not(None))
                          .limit(1)).one()
    grid = session.get(m.Grid, fix.grid_id)
    assert grid.geom.contains(fix.geom)
    assert abs(fix.lon - fix.geom.x) > 1e-3  # GCJ-02 vs WGS-84: hundreds of metres apart
    # the phones' sequence runs are recorded as ingest records them: no worker with a phone
    # reads "未上传" (no_uploads), and every phone's items are all there
    from checkins.positions.uploads import upload_status

    with_phone = sorted({p["worker_id"] for p in demo.positions})
    status = upload_status(session, with_phone)
    assert with_phone and {s.status for s in status.values()} == {"complete"}
    assert sum(s.received_items for s in status.values()) == len(demo.positions)
    # written by ingest as the phones uploaded them: a fix failing GEO-VALID is kept with its
    # reason but has no point and no grid; each phone's items came in 15-minute batches
    mine = m.Position.worker_id.in_(with_phone)
    bad = session.scalars(sa.select(m.Position).where(
        mine, m.Position.reject_reason == "accuracy_too_low")).all()
    assert bad and all(p.geom is None and p.grid_id is None for p in bad)
    batches = session.execute(sa.select(m.Position.device_id, m.Position.received_at)
                              .where(mine).distinct()).all()
    assert len(with_phone) * 10 < len(batches) < len(demo.positions) / 5
    assert all(p["received_at"] > p["recorded_at"] for p in demo.positions)
