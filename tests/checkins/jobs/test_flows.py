"""The database flow judges exactly as ``gridpatrol evaluate`` and saves day_result rows."""

from __future__ import annotations

import datetime as dt
import types
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from shapely.geometry import Point

from checkins import tables as m
from checkins.evaluation.files import evaluate_files
from checkins.evaluation.flows import (
    evaluate_date,
    evaluate_worker_days,
    is_provisional,
    mark_for_reevaluation,
    reevaluate_pending,
)
from tests.checkins.jobs.conftest import DAY, TZ, behaviour_worker
from tests.checkins.jobs.dbfiles import export_day_files

EVALUATED_AT = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)


def _local(day: dt.date, hhmm: str) -> dt.datetime:
    h, mi = (int(v) for v in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, mi), tzinfo=ZoneInfo(TZ))


def _rows(session) -> dict[tuple[str, dt.date], m.DayResult]:
    return {(r.worker_id, r.work_date): r for r in session.scalars(sa.select(m.DayResult))}


def test_db_flow_equals_evaluate_on_exported_files(demo_session, demo, tmp_path):
    entries = evaluate_date(demo_session, DAY, evaluated_at=EVALUATED_AT)
    export_day_files(demo_session, DAY, tmp_path, TZ)
    files = evaluate_files(
        grids=tmp_path / "grids.geojson", roster=tmp_path / "roster.csv",
        positions=[str(tmp_path / "positions.csv")], signins=tmp_path / "signins.csv",
        patrols=tmp_path / "patrols.csv", exemptions=tmp_path / "exemptions.csv",
        cases=tmp_path / "cases.csv", date_from=DAY, date_to=DAY, profile=demo.profile)
    demo_ids = {w.worker_id for w in demo.workers if w.grid_id}

    def same_district(e):  # the file's district is every grid exported, the DB's the township's
        return {**e, "reports": {**e["reports"], "grid_count": None}}

    ours = [same_district(e) for e in entries if e["worker_id"] in demo_ids]
    theirs = [same_district(e) for e in files["days"] if e["worker_id"] in demo_ids]
    assert len(ours) == len(demo_ids) == len(theirs)
    assert ours == theirs
    # the day shows the behaviours the comparison must cover
    by_worker = {e["worker_id"]: e for e in ours}
    assert by_worker[behaviour_worker(demo, "phone_off")]["phone_off"]
    assert by_worker[behaviour_worker(demo, "crosspost")]["offpost"][0]["kind"] == "crosspost"
    assert by_worker[behaviour_worker(demo, "mock")]["suspect_fixes"] > 0
    assert any(d["rule"] == "YK-PATROL" for e in ours for d in e["deductions"])


def test_results_saved_provisional_and_upserted(demo_session, demo):
    entries = evaluate_date(demo_session, DAY, evaluated_at=EVALUATED_AT)
    rows = _rows(demo_session)
    for e in entries:
        row = rows[(e["worker_id"], DAY)]
        assert row.result == e
        assert row.provisional is True
        assert row.needs_reevaluation is False
    n = len(rows)
    later = DAY + dt.timedelta(days=4)
    again = evaluate_date(demo_session, DAY,
                          evaluated_at=_local(later, "02:00").astimezone(dt.UTC))
    rows = _rows(demo_session)
    assert len(rows) == n  # updated in place, not duplicated
    assert again == entries
    assert all(rows[(e["worker_id"], DAY)].provisional is False for e in again)


def test_provisional_until_the_grace_period_ends():
    tz = ZoneInfo(TZ)
    end = _local(DAY + dt.timedelta(days=1), "00:00")
    assert is_provisional(DAY, tz, end + dt.timedelta(hours=71, minutes=59))
    assert not is_provisional(DAY, tz, end + dt.timedelta(hours=72))
    assert not is_provisional(DAY, tz, end + dt.timedelta(hours=1), grace_s=3600)


def test_late_batch_reevaluates_only_the_affected_worker_day(demo_session, demo):
    from checkins.positions.ingest import IngestParams, ingest_batch
    from scoring.profiles import load_profile

    evaluate_date(demo_session, DAY, evaluated_at=EVALUATED_AT)
    before = {k: (r.evaluated_at, r.result) for k, r in _rows(demo_session).items()}
    wid = behaviour_worker(demo, "phone_off")
    assert before[(wid, DAY)][1]["phone_off"]
    device_id = demo_session.scalar(sa.select(m.Device.id).where(m.Device.worker_id == wid))
    last = demo_session.scalars(sa.select(m.Position).where(
        m.Position.worker_id == wid, m.Position.kind == "fix",
        m.Position.recorded_at < _local(DAY, "15:10")).order_by(
        m.Position.recorded_at.desc())).first()
    # the phone was on after all: heartbeats every 5 minutes through the silence arrive late
    items = []
    t = _local(DAY, "15:10")
    seq = 10_000
    while t < _local(DAY, "16:25"):
        items.append((len(items), types.SimpleNamespace(
            client_id=f"late-{seq}", seq=seq, kind="heartbeat", recorded_at=t, lon=None,
            lat=None, datum=None, accuracy_m=None, speed_mps=None, mock=False,
            battery_pct=60, charging=False, network="4g", gps_on=True,
            app_state="background")))
        seq += 1
        t += dt.timedelta(minutes=5)
    params = IngestParams(geo=load_profile(demo.profile).geo_params())
    report = ingest_batch(demo_session, worker_id=wid, device_id=device_id, items=items,
                          outcomes=[], seqs_seen=[s for _, s in [(i, it.seq) for i, it in items]],
                          params=params, now=_local(DAY, "17:00"))
    assert report is not None and last is not None
    rows = _rows(demo_session)
    assert [k for k, r in rows.items() if r.needs_reevaluation] == [(wid, DAY)]

    redone_at = EVALUATED_AT + dt.timedelta(hours=1)
    entries = reevaluate_pending(demo_session, evaluated_at=redone_at)
    assert [(e["worker_id"], e["date"]) for e in entries] == [(wid, DAY.isoformat())]
    rows = _rows(demo_session)
    assert rows[(wid, DAY)].result["phone_off"] == []  # GEO-PHONEOFF gone with the late data
    assert rows[(wid, DAY)].evaluated_at == redone_at
    assert not rows[(wid, DAY)].needs_reevaluation
    for key, (at, result) in before.items():
        if key != (wid, DAY):
            assert rows[key].evaluated_at == at and rows[key].result == result


def test_mark_then_reevaluate_takes_an_approved_exemption(demo_session, demo):
    wid = behaviour_worker(demo, "no_pm")
    evaluate_date(demo_session, DAY, evaluated_at=EVALUATED_AT)
    assert _rows(demo_session)[(wid, DAY)].result["patrols"]["pm"]["status"] == "missing"
    ex = m.Exemption(worker_id=wid, kind="special", start_at=_local(DAY, "12:00"),
                     end_at=_local(DAY, "20:00"), status="requested")
    demo_session.add(ex)
    demo_session.flush()
    assert mark_for_reevaluation(demo_session, [(wid, DAY)]) == 1
    reevaluate_pending(demo_session, evaluated_at=EVALUATED_AT)
    # a request not yet approved changes nothing
    assert _rows(demo_session)[(wid, DAY)].result["patrols"]["pm"]["status"] == "missing"
    ex.status = "approved"
    demo_session.flush()
    mark_for_reevaluation(demo_session, [(wid, DAY)])
    reevaluate_pending(demo_session, evaluated_at=EVALUATED_AT)
    pm = _rows(demo_session)[(wid, DAY)].result["patrols"]["pm"]
    assert pm["status"] == "exempt" and pm["exemption"] == "special"


def test_reassigned_worker_is_judged_against_each_days_grid(demo_session, demo):
    wid = next(w.worker_id for w in demo.workers if w.behaviour == "normal" and w.grid_id)
    old = demo_session.scalars(sa.select(m.GridAssignment).where(
        m.GridAssignment.worker_id == wid)).one()
    grids = dict(demo_session.execute(sa.select(m.Grid.grid_id, m.Grid.geom)).all())
    other = max(sorted(grids), key=lambda g: grids[g].distance(grids[old.grid_id]))  # far away
    prev = DAY - dt.timedelta(days=7)  # the Monday before, same walk copied there
    old.valid_to = DAY
    demo_session.add(m.GridAssignment(worker_id=wid, grid_id=other, valid_from=DAY))
    fixes = demo_session.scalars(sa.select(m.Position).where(
        m.Position.worker_id == wid, m.Position.recorded_at >= _local(DAY, "00:00"),
        m.Position.recorded_at < _local(DAY + dt.timedelta(days=1), "00:00"))).all()
    if demo_session.get_bind().dialect.name == "postgresql":
        from checkins.db import partitions

        partitions.ensure_position_partitions(demo_session.connection(), prev, 1, TZ)
    week = dt.timedelta(days=7)
    demo_session.execute(sa.insert(m.Position), [{
        "recorded_at": f.recorded_at - week, "received_at": f.received_at - week,
        "kind": f.kind, "worker_id": wid, "lon": f.lon, "lat": f.lat, "datum": f.datum,
        "geom": Point(f.geom.x, f.geom.y) if f.geom is not None else None,
        "accuracy_m": f.accuracy_m, "speed_mps": f.speed_mps, "mock": f.mock,
        "gps_on": f.gps_on, "app_state": f.app_state, "network": f.network,
        "battery_pct": f.battery_pct} for f in fixes])
    entries = evaluate_worker_days(demo_session, [(wid, prev), (wid, DAY)],
                                   evaluated_at=EVALUATED_AT)
    by_date = {e["date"]: e for e in entries}
    assert by_date[prev.isoformat()]["grid_id"] == old.grid_id
    assert by_date[DAY.isoformat()]["grid_id"] == other
    # the same walk: in the old grid a patrol, in the new one off post all day
    assert by_date[prev.isoformat()]["patrols"]["am"]["in_grid_s"] >= 3600
    assert by_date[DAY.isoformat()]["patrols"]["am"]["in_grid_s"] == 0
    assert by_date[DAY.isoformat()]["offpost"]


def test_worker_without_grid_is_not_judged(demo_session, demo):
    newcomer = next(w.worker_id for w in demo.workers if w.grid_id is None)
    assert evaluate_worker_days(demo_session, [(newcomer, DAY)]) == []
    assert newcomer not in {e["worker_id"] for e in evaluate_date(demo_session, DAY)}


def test_evaluate_date_of_one_village(demo_session, demo):
    village = demo.workers[0].village_id
    entries = evaluate_date(demo_session, DAY, village, evaluated_at=EVALUATED_AT)
    ids = {w.worker_id for w in demo.workers if w.village_id == village and w.grid_id}
    assert {e["worker_id"] for e in entries} == ids


def test_read_fixes_converts_datums_and_keeps_phone_state(demo_session, demo):
    import math

    from checkins.evaluation.flows import read_fixes
    from geo.crs import to_wgs84

    wid = demo.workers[0].worker_id
    nxt = DAY + dt.timedelta(days=1)
    t0 = _local(nxt, "09:00")
    rows = [
        # a GEO-VALID reject stored as received in GCJ-02, without a WGS-84 geom
        {"recorded_at": t0, "kind": "fix", "lon": 121.2, "lat": 32.55, "datum": "gcj02",
         "geom": None, "accuracy_m": 180.0, "reject_reason": "accuracy_too_low",
         "battery_pct": 3, "gps_on": True, "app_state": "foreground", "network": "4g"},
        {"recorded_at": t0 + dt.timedelta(minutes=1), "kind": "heartbeat", "lon": None,
         "lat": None, "datum": "wgs84", "geom": None, "battery_pct": None, "gps_on": False,
         "app_state": "stopped", "network": "satellite"},
        {"recorded_at": t0 + dt.timedelta(minutes=2), "kind": "fix", "lon": 121.21,
         "lat": 32.56, "datum": "wgs84", "geom": Point(121.21, 32.56), "accuracy_m": None,
         "mock": True, "battery_pct": 250, "gps_on": None, "app_state": None, "network": None},
    ]
    demo_session.execute(sa.insert(m.Position), [
        {"worker_id": wid, "received_at": r["recorded_at"] + dt.timedelta(seconds=3), **r}
        for r in rows])
    start = _local(nxt, "08:00").timestamp()
    got = read_fixes(demo_session, [wid], start, start + 3 * 3600)[wid]
    # the nearest item before the window (the demo day's last one) comes along, GEO-PHONEOFF
    assert len(got) == 4 and got.t[0] < start <= got.t[1]
    f = types.SimpleNamespace(**{k: getattr(got, k)[1:] for k in (
        "t", "lon", "lat", "accuracy_m", "mock", "is_heartbeat", "battery_pct", "gps_on",
        "app_state", "network", "received_at")})
    x, y = to_wgs84(121.2, 32.55, "gcj02")
    assert math.isclose(f.lon[0], float(x), abs_tol=1e-9)
    assert math.isclose(f.lat[0], float(y), abs_tol=1e-9)
    assert f.accuracy_m[0] == 180.0 and math.isnan(f.accuracy_m[2])
    assert list(f.is_heartbeat) == [False, True, False] and math.isnan(f.lon[1])
    assert list(f.mock) == [False, False, True]
    assert f.battery_pct[0] == 3 and math.isnan(f.battery_pct[1])
    assert f.battery_pct[2] in (250, 254)  # PostgreSQL packs it in 8 bits (254: full)
    assert f.gps_on[0] == 1.0 and f.gps_on[1] == 0.0 and math.isnan(f.gps_on[2])
    assert list(f.app_state) == ["foreground", "stopped", None]
    assert list(f.network) == ["4g", "other", None]  # the engine reads only "none"
    assert f.received_at[0] == rows[0]["recorded_at"].timestamp() + 3


def test_finalize_due_makes_days_past_the_grace_final(demo_session, demo):
    from checkins.jobs.scheduled import finalize_due

    evaluate_date(demo_session, DAY, evaluated_at=EVALUATED_AT)
    end_of_day = _local(DAY + dt.timedelta(days=1), "00:00")
    assert finalize_due(demo_session, now=end_of_day + dt.timedelta(hours=71)) == 0
    assert all(r.provisional for r in _rows(demo_session).values())
    n = finalize_due(demo_session, now=end_of_day + dt.timedelta(hours=72, minutes=1))
    rows = _rows(demo_session)
    assert n == len(rows) > 0
    assert not any(r.provisional for r in rows.values())
    assert finalize_due(demo_session, now=end_of_day + dt.timedelta(hours=80)) == 0


def test_office_flag_decisions_change_points_through_reevaluation(demo_session, demo):
    """A dismissed off-post interval is not charged (QS-POS); a confirmed suspect fix is
    乱定位 (YK-SAFETY −0.5); an unreviewed suspect is never charged (GEO-SPOOF)."""
    from checkins.evaluation.models import FlagDecision

    crosser = behaviour_worker(demo, "crosspost")
    faker = behaviour_worker(demo, "mock")
    qs = "quanshan-positioning"
    before = {e["worker_id"]: e for e in evaluate_worker_days(
        demo_session, [(crosser, DAY)], profile=qs, evaluated_at=EVALUATED_AT)}
    interval = before[crosser]["offpost"][0]
    qs_pos_before = [d for d in before[crosser]["deductions"] if d["rule"] == "QS-POS"]
    # QS-POS: −1 per off-post, cross-post and phone-off occurrence
    assert len(qs_pos_before) == len(before[crosser]["offpost"]) + len(before[crosser]["phone_off"])
    assert "decision" not in interval

    yk = {e["worker_id"]: e for e in evaluate_worker_days(
        demo_session, [(faker, DAY)], evaluated_at=EVALUATED_AT)}
    suspect = yk[faker]["suspect_fix_details"][0]
    assert not any(d["rule"] == "YK-SAFETY" for d in yk[faker]["deductions"])

    demo_session.add(FlagDecision(worker_id=crosser, work_date=DAY, kind="offpost",
                                  flag_key=interval["start"], decision="dismissed",
                                  reason="visiting the clinic, phoned in", decided_by="t"))
    demo_session.add(FlagDecision(worker_id=faker, work_date=DAY, kind="suspect",
                                  flag_key=suspect["at"], decision="confirmed",
                                  reason="mock app found on the phone", decided_by="t"))
    demo_session.flush()

    after = {e["worker_id"]: e for e in evaluate_worker_days(
        demo_session, [(crosser, DAY)], profile=qs, evaluated_at=EVALUATED_AT)}
    assert after[crosser]["offpost"][0]["decision"] == "dismissed"
    qs_pos_after = [d for d in after[crosser]["deductions"] if d["rule"] == "QS-POS"]
    assert len(qs_pos_after) == len(qs_pos_before) - 1
    assert all(d["evidence"].get("start") != interval["start"] for d in qs_pos_after)

    yk_after = {e["worker_id"]: e for e in evaluate_worker_days(
        demo_session, [(faker, DAY)], evaluated_at=EVALUATED_AT)}
    safety = [d for d in yk_after[faker]["deductions"] if d["rule"] == "YK-SAFETY"]
    assert [d["points"] for d in safety] == [-0.5]
    assert safety[0]["evidence"]["at"] == suspect["at"]
    confirmed = [s for s in yk_after[faker]["suspect_fix_details"] if s.get("decision")]
    assert [s["at"] for s in confirmed] == [suspect["at"]]
