"""Office decisions: exactly one audit row each, and they take effect by re-evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
import sqlalchemy as sa

from checkins.audit.models import AuditLog
from checkins.auth.models import Device
from checkins.evaluation.models import DayResult, FlagDecision
from checkins.field.models import Exemption
from checkins.office import decisions
from tests.server.office.conftest import DAY


def _exemption(session, exemption_id):
    """An exemption by its number (its key is ``(worker_id, id)``)."""
    return session.scalars(sa.select(Exemption).where(Exemption.id == exemption_id)).one()


def _audit_since(session, last_id):
    return list(session.scalars(sa.select(AuditLog).where(AuditLog.id > last_id)
                                .order_by(AuditLog.id)))


def _last_id(session):
    return session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0


def _day(session, worker_id, date=DAY):
    return session.scalars(sa.select(DayResult).where(
        DayResult.worker_id == worker_id, DayResult.work_date == date)).one()


def test_approving_a_leave_writes_one_audit_row_and_reevaluates_the_day(client, world):
    s = world.session
    wid = world.workers["own"]
    before = _day(s, wid)
    old_result, old_at = dict(before.result), before.evaluated_at
    assert old_result["patrols"]["am"]["status"] == "ok"  # the fixture's hand-made entry
    ex = world.exemption("own")
    last = _last_id(s)
    r = client.post(f"/api/office/exemptions/{ex}/decision",
                    headers=world.headers("village_office"),
                    json={"decision": "approve", "reason": "病假条已收"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "approved" and body["reevaluation"] == "evaluated"
    assert body["reevaluated_days"] == [DAY.isoformat()]
    rows = _audit_since(s, last)
    assert len(rows) == 1
    a = rows[0]
    assert (a.action, a.entity, a.entity_id) == ("exemption.approve", "exemption", str(ex))
    assert a.actor == f"office:{world.tag}-village_office" and a.reason == "病假条已收"
    assert a.before["status"] == "requested" and a.after["status"] == "approved"
    assert a.at is not None
    e = _exemption(s, ex)
    assert (e.status, e.decided_by, e.decision_reason) == (
        "approved", f"office:{world.tag}-village_office", "病假条已收")
    after = _day(s, wid)
    s.refresh(after)
    assert after.needs_reevaluation is False and after.evaluated_at > old_at
    # the flow judged the day again with the approved sick leave: both patrols exempt
    assert after.result["patrols"]["am"]["status"] == "exempt"
    assert after.result["patrols"]["pm"]["status"] == "exempt"
    assert after.result != old_result


def test_denying_writes_one_row_and_the_day_is_judged_without_the_leave(client, world):
    s = world.session
    ex = world.exemption("own", status="approved")
    last = _last_id(s)
    r = client.post(f"/api/office/exemptions/{ex}/decision",
                    headers=world.headers("township_office"),
                    json={"decision": "deny", "reason": "未提交证明"})
    assert r.status_code == 200, r.text
    rows = _audit_since(s, last)
    assert [x.action for x in rows] == ["exemption.deny"]
    assert rows[0].before["status"] == "approved" and rows[0].after["status"] == "denied"
    day = _day(s, world.workers["own"])
    s.refresh(day)
    assert day.result["patrols"]["am"]["status"] != "exempt"


@pytest.mark.parametrize("reason", ["", " ", "x"])
def test_a_decision_needs_a_reason(client, world, reason):
    s = world.session
    ex = world.exemption("own")
    last = _last_id(s)
    r = client.post(f"/api/office/exemptions/{ex}/decision",
                    headers=world.headers("village_office"),
                    json={"decision": "approve", "reason": reason})
    assert r.status_code == 422
    assert _audit_since(s, last) == [] and _exemption(s, ex).status == "requested"


def test_deciding_the_same_thing_twice_is_a_conflict(client, world):
    ex = world.exemption("own", status="approved")
    r = client.post(f"/api/office/exemptions/{ex}/decision",
                    headers=world.headers("village_office"),
                    json={"decision": "approve", "reason": "again"})
    assert r.status_code == 409


def test_confirm_then_dismiss_a_flag(client, world):
    s = world.session
    wid = world.workers["own"]
    date, key = world.flagged_day("own", "offpost")
    url = f"/api/office/workers/{wid}/days/{date}/flags"
    h = world.headers("village_office")
    last = _last_id(s)
    r = client.post(url, headers=h, json={"kind": "offpost", "key": key, "decision": "confirm",
                                          "reason": "电话核实，去了镇上"})
    assert r.status_code == 200, r.text
    rows = _audit_since(s, last)
    assert len(rows) == 1 and rows[0].action == "flag.confirm"
    assert rows[0].entity_id == f"{wid}/{date}"
    assert rows[0].before["decision"] is None and rows[0].after["decision"] == "confirmed"
    assert rows[0].after["flag"]["start"] == key
    day = _day(s, wid, date)
    s.refresh(day)
    assert day.needs_reevaluation is False
    assert day.result["offpost"] == []  # judged again from the (empty) database track
    # the flag is kept with its decision even though the new result has no such interval
    fd = decisions.flag_decisions_for(s, wid, date)[("offpost", key)]
    assert (fd.decision, fd.reason) == ("confirmed", "电话核实，去了镇上")


def test_dismiss_after_confirm_and_unknown_flags(client, world):
    s = world.session
    wid = world.workers["own"]
    date, key = world.flagged_day("own", "suspect")
    h = world.headers("township_office")
    url = f"/api/office/workers/{wid}/days/{date}/flags"
    body = {"kind": "suspect", "key": key, "reason": "模拟定位软件"}
    assert client.post(url, headers=h, json=body | {"decision": "confirm"}).status_code == 200
    # the re-evaluated day no longer lists the hand-made flag: a second decision on it is 404
    r = client.post(url, headers=h, json=body | {"decision": "dismiss"})
    assert r.status_code == 404
    r = client.post(url, headers=h, json=body | {"key": "2020-01-01T00:00:00+08:00",
                                                  "decision": "confirm"})
    assert r.status_code == 404
    r = client.post(url, headers=h, json=body | {"kind": "weather", "decision": "confirm"})
    assert r.status_code == 422
    assert s.scalar(sa.select(sa.func.count()).select_from(FlagDecision).where(
        FlagDecision.worker_id == wid)) == 1


def test_a_second_decision_on_the_same_flag_records_the_previous_one(world, monkeypatch):
    """Without the flow changing the result, a dismiss after a confirm keeps both rows."""
    import checkins.evaluation.flows

    monkeypatch.setattr(checkins.evaluation.flows, "evaluate_worker_days", lambda session, items: [])
    s = world.session
    wid = world.workers["own"]
    date, key = world.flagged_day("own", "offpost")
    decisions.decide_flag(s, worker_id=wid, day=date, kind="offpost", key=key,
                          decision="confirm", reason="属实", actor="office:t")
    last = _last_id(s)
    out = decisions.decide_flag(s, worker_id=wid, day=date, kind="offpost", key=key,
                                decision="dismiss", reason="复核：外勤已批准", actor="office:t")
    rows = _audit_since(s, last)
    assert len(rows) == 1 and rows[0].action == "flag.dismiss"
    assert rows[0].before["decision"] == "confirmed" and rows[0].after["decision"] == "dismissed"
    assert out["decision"] == "dismissed"
    assert decisions.flag_decisions_for(s, wid, date)[("offpost", key)].decision == "dismissed"
    with pytest.raises(decisions.DecisionError) as err:
        decisions.decide_flag(s, worker_id=wid, day=date, kind="offpost", key=key,
                              decision="dismiss", reason="again", actor="office:t")
    assert err.value.status == 409


def test_when_the_flow_fails_the_decision_stands_and_the_day_stays_marked(world, monkeypatch):
    import checkins.evaluation.flows

    def boom(session, items):
        raise RuntimeError("engine down")

    monkeypatch.setattr(checkins.evaluation.flows, "evaluate_worker_days", boom)
    s = world.session
    ex = world.exemption("own")
    out = decisions.decide_exemption(s, exemption_id=ex, decision="approve", reason="病假",
                                     actor="office:t")
    assert out["reevaluation"] == "pending"
    assert _exemption(s, ex).status == "approved"
    assert _day(s, world.workers["own"]).needs_reevaluation is True


def test_device_approval_writes_one_audit_row(client, world):
    s = world.session
    dev = world.device("own")
    last = _last_id(s)
    r = client.post(f"/api/office/devices/{dev}/decision", headers=world.headers("village_office"),
                    json={"decision": "approve", "reason": "本人新手机"})
    assert r.status_code == 200, r.text
    rows = _audit_since(s, last)
    assert [x.action for x in rows] == ["device.approve"]
    assert rows[0].reason == "本人新手机" and rows[0].before["status"] == "pending"
    assert s.get(Device, dev).status == "approved"


def test_viewing_a_track_is_logged(client, world):
    s = world.session
    wid = world.workers["own"]
    last = _last_id(s)
    assert client.get(f"/api/office/workers/{wid}/days/{DAY}",
                      headers=world.headers("township_office")).status_code == 200
    assert client.get(f"/office/workers/{wid}/days/{DAY}",
                      headers=world.headers("village_office")).status_code == 200
    rows = _audit_since(s, last)
    assert [(x.action, x.entity_id, x.after["via"]) for x in rows] == [
        ("track.view", f"{wid}/{DAY}", "api"), ("track.view", f"{wid}/{DAY}", "page")]
    assert rows[0].actor == f"office:{world.tag}-township_office"


def test_local_dates_of_an_exemption():
    tz = "Asia/Shanghai"
    z = dt.timezone(dt.timedelta(hours=8))
    a = dt.datetime(2026, 11, 16, 0, 0, tzinfo=z)
    assert decisions.local_dates(a, a + dt.timedelta(days=3), tz) == [
        dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18)]
    assert decisions.local_dates(a, a + dt.timedelta(days=3), tz,
                                 until=dt.date(2026, 11, 16)) == [dt.date(2026, 11, 16)]
    long = decisions.local_dates(a, a + dt.timedelta(days=400), tz)
    assert len(long) == decisions.MAX_REEVALUATED_DAYS


def _fix(world, worker_id, at, lon, lat, grid_id):
    from checkins.positions.models import Position

    world.session.add(Position(recorded_at=at, worker_id=worker_id, kind="fix", lon=lon, lat=lat,
                               geom=shapely.Point(lon, lat), accuracy_m=8.0, grid_id=grid_id,
                               client_id=f"c{world.next_id()}"))


def test_live_status_from_positions_patrols_and_leave(client, world):
    from checkins import tables as m
    from tests.server.office.conftest import LAT0, LON0

    s = world.session
    z = dt.timezone(dt.timedelta(hours=8))
    now = dt.datetime.combine(DAY, dt.time(10, 30), tzinfo=z)
    vid = world.villages["own"]
    patrolling, away, silent, leave, idle = (world.workers["own"], *[
        f"{world.tag}L{i}" for i in range(4)])
    for wid in (away, silent, leave, idle):
        s.add(m.Worker(worker_id=wid, name=wid[-2:], role="parttime", village_id=vid))
    s.flush()
    for wid in (away, silent, leave, idle):
        s.add(m.GridAssignment(worker_id=wid, grid_id=world.grids["own"],
                               valid_from=DAY - dt.timedelta(days=30)))
    inside = (LON0 + 0.005, LAT0 + 0.005)
    outside = (LON0 + 0.05, LAT0 + 0.05)
    for wid in (patrolling, away):
        s.add(m.PatrolSession(worker_id=wid, client_id=f"p-{wid}", grid_id=world.grids["own"],
                              started_at=now - dt.timedelta(hours=1)))
    _fix(world, patrolling, now - dt.timedelta(minutes=1), *inside, world.grids["own"])
    _fix(world, away, now - dt.timedelta(minutes=1), *outside, None)
    _fix(world, silent, now - dt.timedelta(minutes=45), *inside, world.grids["own"])
    _fix(world, idle, now - dt.timedelta(minutes=2), *inside, world.grids["own"])
    ex = world.exemption("own", status="approved")
    _exemption(s, ex).worker_id = leave
    s.flush()
    r = client.get(f"/api/office/villages/{vid}/live",
                   params={"at": now.isoformat()}, headers=world.headers("village_office"))
    assert r.status_code == 200, r.text
    status = {row["worker_id"]: row["status"] for row in r.json()["rows"]}
    assert status == {patrolling: "on_patrol", away: "off_post", silent: "unreachable",
                      leave: "on_leave", idle: "not_patrolling"}
    assert r.json()["counts"]["on_patrol"] == 1
    assert all("lon" not in row for row in r.json()["rows"])  # no positions on the live page
    naive = client.get(f"/api/office/villages/{vid}/live", params={"at": "2026-11-18T10:30"},
                       headers=world.headers("village_office"))
    assert naive.status_code == 422
    # an open alert of the scheduler's live check overrides what the last fix says
    from checkins.jobs.models import Alert

    s.add(Alert(worker_id=idle, village_id=vid, work_date=DAY, kind="crosspost",
                rule="GEO-CROSSPOST", start_at=now - dt.timedelta(minutes=20),
                end_at=now - dt.timedelta(minutes=2), other_grid_id=world.grids["other"]))
    s.add(Alert(worker_id=patrolling, village_id=vid, work_date=DAY, kind="phone_off",
                rule="GEO-PHONEOFF", start_at=now + dt.timedelta(minutes=5),
                end_at=now + dt.timedelta(minutes=30)))  # later than "at": not yet
    s.flush()
    rows = client.get(f"/api/office/villages/{vid}/live", params={"at": now.isoformat()},
                      headers=world.headers("village_office")).json()["rows"]
    by_id = {row["worker_id"]: row for row in rows}
    assert by_id[idle]["status"] == "off_post"
    assert [a["rule"] for a in by_id[idle]["alerts"]] == ["GEO-CROSSPOST"]
    assert by_id[patrolling]["status"] == "on_patrol" and by_id[patrolling]["alerts"] == []
