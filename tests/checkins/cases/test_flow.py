"""The nightly flow judges NB-ARRIVE and NB-VOLUME from the database's case records."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from checkins import tables as m
from checkins.cases import service as svc
from checkins.evaluation.flows import evaluate_date
from tests.checkins.jobs.conftest import DAY, behaviour_worker, demo, demo_session  # noqa: F401


def test_db_flow_adds_cases_and_reports(demo_session, demo):  # noqa: F811
    s = demo_session
    wid = behaviour_worker(demo, "normal")
    # a fix of the worker at 10:00 or later: the instruction comes 5 min before it, to its place
    fix = s.scalars(sa.select(m.Position).where(
        m.Position.worker_id == wid, m.Position.geom.is_not(None), m.Position.reject_reason.is_(None),
        m.Position.recorded_at >= dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
        .order_by(m.Position.recorded_at).limit(1)).one()
    sent = fix.recorded_at - dt.timedelta(minutes=5)
    case, _ = svc.report_case(s, worker_id=wid, device_id=None, client_id="flow-1", category="其他",
                              text="井盖缺失", lon=float(fix.geom.x), lat=float(fix.geom.y), datum="wgs84",
                              reported_at=sent - dt.timedelta(minutes=30))
    svc.accept(s, case.id, scope=svc.Scope(), actor="office:test", at=sent - dt.timedelta(minutes=20))
    svc.dispatch(s, case.id, scope=svc.Scope(), actor="office:test", worker_id=wid, at=sent)
    (entry,) = [e for e in evaluate_date(s, DAY) if e["worker_id"] == wid]
    assert entry["reports"]["total"] == 1 and entry["reports"]["valid"] == 1
    assert entry["reports"]["valid_case_ids"] == [str(case.id)]
    (ins,) = [c for c in entry["cases"] if c["kind"] == "instruction"]
    assert ins["case_id"] == str(case.id)
    assert ins["arrival"] == "ok" and 0 <= ins["arrival_s"] <= 300  # at that fix or before it


def test_demo_cases_are_made_through_the_service_and_judged(demo_session, demo, tmp_path):  # noqa: F811
    from checkins.demo.service import load_demo_cases

    s = demo_session
    assert load_demo_cases(s, demo, tmp_path) == {"cases": 6}
    rows = s.scalars(sa.select(m.Case).where(m.Case.client_id.like("demo-case-%")).order_by(m.Case.client_id)).all()
    assert [c.status for c in rows] == ["closed", "dispatched", "accepted", "reported", "rejected", "dispatched"]
    assert rows[2].complex and rows[4].valid is False
    # every transition is in the audit log (made by the service functions, not raw inserts)
    actions = s.scalars(sa.select(m.AuditLog.action).where(
        m.AuditLog.entity == "case", m.AuditLog.entity_id == str(rows[0].id)).order_by(m.AuditLog.id)).all()
    assert actions == ["case.report", "case.accepted", "case.dispatch", "case.acknowledge", "case.arrived",
                       "case.resolved", "case.closed"]
    # the arrived photo was stored as an upload is
    (ins,) = s.scalars(sa.select(m.CaseInstruction).where(m.CaseInstruction.case_id == rows[0].id)).all()
    assert (tmp_path / ins.photos[0]["path"]).is_file()
    # the week-old open case has breached its 5-day clock; the fresh report has not
    now = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(2, 0), tzinfo=dt.UTC)
    sla = svc.SlaParams()
    assert svc.sla_clock(rows[5], now, sla)["state"] == "breached"
    assert svc.sla_clock(rows[3], now, sla)["state"] in ("ok", "soon")
    # the day's evaluation reads them: the closed case's instruction arrived in time
    a = rows[0].reporter_id
    (entry,) = [e for e in evaluate_date(s, DAY) if e["worker_id"] == a]
    (i1,) = [c for c in entry["cases"] if c["kind"] == "instruction"]
    assert i1["arrival"] == "ok" and entry["reports"]["valid"] == 1


def test_a_hazard_found_by_others_in_my_grid_is_listed_and_follows_my_report(demo_session, demo):  # noqa: F811
    """YK-HAZARD from the records: another worker reports a 安全隐患 in w's grid; w's day
    lists it as not reported by w (own_report_s None); w then reports it 40 m away 2 h later:
    the stored day follows (7200 s) without a re-evaluation."""
    s = demo_session
    wid = behaviour_worker(demo, "normal")
    me = s.get(m.Worker, wid)
    gid = s.scalars(sa.select(m.GridAssignment.grid_id).where(m.GridAssignment.worker_id == wid)).first()
    other = s.scalars(sa.select(m.Worker.worker_id).where(m.Worker.worker_id != wid,
                                                          m.Worker.village_id == me.village_id)).first()
    p = s.get(m.Grid, gid).geom.representative_point()
    at = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)  # 10:00 local
    found, _ = svc.report_case(s, worker_id=other, device_id=None, client_id="grid-1", category="安全隐患",
                               text="电线裸露", lon=float(p.x), lat=float(p.y), datum="wgs84", reported_at=at)
    assert found.grid_id == gid
    (entry,) = [e for e in evaluate_date(s, DAY) if e["worker_id"] == wid]
    (g,) = [c for c in entry["cases"] if c["kind"] == "grid"]
    assert g["case_id"] == str(found.id) and g["own_report_s"] is None and g["rule"] == "YK-HAZARD"
    s.flush()
    mine, _ = svc.report_case(s, worker_id=wid, device_id=None, client_id="grid-2", category="安全隐患",
                              text="电线裸露", lon=float(p.x), lat=float(p.y) + 40 / 111_320, datum="wgs84",
                              reported_at=at + dt.timedelta(hours=2))
    s.flush()
    row = s.scalars(sa.select(m.DayResult).where(m.DayResult.worker_id == wid, m.DayResult.work_date == DAY)).one()
    s.refresh(row)
    (g,) = [c for c in row.result["cases"] if c["kind"] == "grid"]
    assert g["own_report_s"] == 7200
    assert row.result["reports"]["total"] == 1 and str(mine.id) in [c["case_id"] for c in row.result["cases"]]
    # the office rejects the report it was found by: its entry in w's day says so (not judged)
    svc.reject(s, found.id, scope=svc.Scope(), actor="office:t", reason="误报", at=at + dt.timedelta(hours=3))
    s.flush()
    s.refresh(row)
    (g,) = [c for c in row.result["cases"] if c["kind"] == "grid"]
    assert g["valid"] is False
