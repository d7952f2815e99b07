"""Decisions that scale (issue 16): 串岗 decided on its own kind, bulk confirm/dismiss of a
worker-day's suspect fixes with one reason, pending counts for the menu."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from checkins import tables as m
from checkins.audit.models import AuditLog
from checkins.evaluation.models import FlagDecision
from checkins.office import queries as oq
from tests.server.office.conftest import DAY, LAT0, LON0, day_entry


def _last_id(s):
    return s.scalar(sa.select(sa.func.max(AuditLog.id))) or 0


def _no_reevaluation(monkeypatch):
    """Keep the hand-made flags (the flow would judge the empty database track)."""
    import checkins.evaluation.flows

    monkeypatch.setattr(checkins.evaluation.flows, "evaluate_worker_days", lambda s, i: [])


def _crosspost_day(world, date):
    wid = world.workers["own"]
    key = f"{date}T10:00:00+08:00"
    entry = day_entry(wid, world.grids["own"], date, offpost_start=key)
    entry["offpost"][0] |= {"rule": "GEO-CROSSPOST", "kind": "crosspost",
                            "other_grid_id": world.grids["other"]}
    world.session.add(m.DayResult(worker_id=wid, work_date=date, result=entry,
                                  provisional=False))
    world.session.flush()
    return wid, key


def test_crosspost_is_decided_from_the_page_form(client, world, monkeypatch):
    """The worker-day page posts kind=crosspost; it used to answer 'kind must be one of
    suspect, offpost'."""
    _no_reevaluation(monkeypatch)
    date = DAY - dt.timedelta(days=70)
    wid, key = _crosspost_day(world, date)
    h = world.headers("village_office")
    page = client.get(f"/office/workers/{wid}/days/{date}", headers=h)
    assert 'name="kind" value="crosspost"' in page.text
    r = client.post(f"/office/workers/{wid}/days/{date}/flags", headers=h, follow_redirects=False,
                    data={"kind": "crosspost", "key": key, "decision": "dismiss",
                          "reason": "经镇里同意去邻格帮忙"})
    assert r.status_code == 303 and "error=" not in r.headers["location"], r.headers["location"]
    fd = world.session.scalars(sa.select(FlagDecision).where(
        FlagDecision.worker_id == wid, FlagDecision.work_date == date)).one()
    assert (fd.kind, fd.flag_key, fd.decision) == ("offpost", key, "dismissed")
    a = world.session.scalars(sa.select(AuditLog).order_by(AuditLog.id.desc())).first()
    assert a.action == "flag.dismiss" and a.after["kind"] == "crosspost"
    # the worker-day shows the decision on the 串岗 flag
    data = client.get(f"/api/office/workers/{wid}/days/{date}", headers=h).json()
    (flag,) = [f for f in data["flags"] if f["key"] == key]
    assert flag["kind"] == "crosspost" and flag["decision"] == "dismissed"
    # an off-post interval is not a 串岗 one
    date2 = date - dt.timedelta(days=7)
    key2 = f"{date2}T10:00:00+08:00"
    world.session.add(m.DayResult(worker_id=wid, work_date=date2, provisional=False,
                                  result=day_entry(wid, world.grids["own"], date2,
                                                   offpost_start=key2)))
    world.session.flush()
    r = client.post(f"/api/office/workers/{wid}/days/{date2}/flags", headers=h,
                    json={"kind": "crosspost", "key": key2, "decision": "confirm",
                          "reason": "核实"})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found" and "标记" in r.json()["message"]


def _suspect_day(world, date, n):
    wid = world.workers["own"]
    entry = day_entry(wid, world.grids["own"], date)
    t0 = dt.datetime.combine(date, dt.time(9), tzinfo=dt.timezone(dt.timedelta(hours=8)))
    details = [{"rule": "GEO-SPOOF", "at": (t0 + dt.timedelta(seconds=30 * i)).isoformat(),
                "lon": LON0, "lat": LAT0, "reasons": ["mock_location"]} for i in range(n)]
    entry |= {"suspect_fixes": n, "suspect_fix_details": details}
    world.session.add(m.DayResult(worker_id=wid, work_date=date, result=entry,
                                  provisional=False))
    world.session.flush()
    return wid, [d["at"] for d in details]


def test_bulk_confirm_of_146_mock_fixes_with_one_reason(client, world, monkeypatch):
    _no_reevaluation(monkeypatch)
    s = world.session
    date = DAY - dt.timedelta(days=77)
    wid, keys = _suspect_day(world, date, 146)
    h = world.headers("village_office")
    # one of them was dismissed before: the bulk confirm changes it too, and says so
    r = client.post(f"/api/office/workers/{wid}/days/{date}/flags", headers=h,
                    json={"kind": "suspect", "key": keys[0], "decision": "dismiss",
                          "reason": "信号漂移"})
    assert r.status_code == 200, r.text
    last = _last_id(s)
    r = client.post(f"/api/office/workers/{wid}/days/{date}/flags/bulk", headers=h,
                    json={"kind": "suspect", "decision": "confirm",
                          "reason": "手机装了模拟定位软件，已谈话"})
    assert r.status_code == 200, r.text
    assert r.json()["decided"] == 146 and r.json()["skipped"] == 0
    rows = list(s.scalars(sa.select(AuditLog).where(AuditLog.id > last)))
    assert len(rows) == 1 and rows[0].action == "flag.bulk_confirm"
    assert rows[0].after["keys"] == keys and rows[0].before["decisions"][keys[0]] == "dismissed"
    decided = oq.worker_day(s, world_scope(world), wid, date)["flags"]
    assert {f["decision"] for f in decided if f["kind"] == "suspect"} == {"confirmed"}
    # again: nothing left to confirm -> 409 with a Chinese message, no audit row
    last = _last_id(s)
    r = client.post(f"/api/office/workers/{wid}/days/{date}/flags/bulk", headers=h,
                    json={"kind": "suspect", "decision": "confirm", "reason": "再次"})
    assert r.status_code == 409 and r.json()["error"] == "already_decided"
    assert _last_id(s) == last
    # listed keys: an unknown one refuses the whole request
    r = client.post(f"/api/office/workers/{wid}/days/{date}/flags/bulk", headers=h,
                    json={"kind": "suspect", "decision": "dismiss", "reason": "误报",
                          "keys": [keys[1], "2020-01-01T00:00:00+08:00"]})
    assert r.status_code == 404 and _last_id(s) == last
    # the other village's office cannot decide them
    r = client.post(f"/api/office/workers/{wid}/days/{date}/flags/bulk",
                    headers=world.headers("village_office_b"),
                    json={"kind": "suspect", "decision": "dismiss", "reason": "误报"})
    assert r.status_code == 404


def world_scope(world):
    from checkins.auth.office import admin_scope

    return admin_scope()


def test_pending_counts_follow_the_scope(client, world):
    date = DAY - dt.timedelta(days=3)
    _suspect_day(world, date, 2)
    world.exemption("own")
    world.exemption("other")
    world.device("own")
    today = DAY
    from checkins.auth.office import OfficeScope, admin_scope

    own = OfficeScope(username="x", role="village_office", village_id=world.villages["own"])
    other = OfficeScope(username="y", role="village_office", village_id=world.villages["other"])
    got = oq.pending_counts(world.session, own, today=today)
    assert got == {"exemptions": 1, "devices": 1, "suspect_days": 1, "offpost_days": 0,
                   "crosspost_days": 0, "flag_days": 1, "cases": 0, "total": 3}
    assert oq.pending_counts(world.session, other, today=today)["flag_days"] == 0
    assert oq.pending_counts(world.session, admin_scope(), today=today)["exemptions"] >= 2
    # a decision on the day takes it off the count
    r = client.post(f"/api/office/workers/{world.workers['own']}/days/{date}/flags/bulk",
                    headers=world.headers("village_office"),
                    json={"kind": "suspect", "decision": "dismiss", "reason": "误报"})
    assert r.status_code == 200, r.text
    assert oq.pending_counts(world.session, own, today=today)["flag_days"] == 0
    r = client.get("/api/office/pending", headers=world.headers("village_office"))
    assert r.status_code == 200 and r.json()["exemptions"] == 1


def _interval_day(world, side, date, kinds):
    """A day result of the side's worker with one off-post interval per kind in ``kinds``."""
    wid = world.workers[side]
    entry = day_entry(wid, world.grids[side], date)
    entry["offpost"] = [
        {"rule": "GEO-CROSSPOST" if k == "crosspost" else "GEO-OFFPOST", "kind": k,
         "start": f"{date}T{10 + i:02d}:00:00+08:00", "end": f"{date}T{10 + i:02d}:40:00+08:00",
         "duration_s": 2400, "other_grid_id": world.grids["other" if side == "own" else "own"]
         if k == "crosspost" else None} for i, k in enumerate(kinds)]
    world.session.add(m.DayResult(worker_id=wid, work_date=date, result=entry, provisional=False))
    world.session.flush()


def _case(world, side, status):
    world.session.add(m.Case(category="other", text="井盖缺失", lon=LON0, lat=LAT0,
                             village_id=world.villages[side], status=status,
                             reported_at=dt.datetime(2026, 11, 2, 2, tzinfo=dt.UTC)))
    world.session.flush()


def test_pending_counts_every_decision_kind_per_village(client, world):
    """Issue 16: the menu counted suspect flags only; now every pending kind (suspect,
    off-post, cross-post days, requests, phones, reported cases), the village's own only."""
    from checkins.auth.office import OfficeScope, admin_scope

    today = DAY
    own = OfficeScope(username="x", role="village_office", village_id=world.villages["own"])
    other = OfficeScope(username="y", role="village_office", village_id=world.villages["other"])
    town0 = oq.pending_counts(world.session, admin_scope(), today=today)
    _suspect_day(world, DAY - dt.timedelta(days=1), 1)
    _interval_day(world, "own", DAY - dt.timedelta(days=2), ["offpost", "crosspost"])
    _interval_day(world, "own", DAY - dt.timedelta(days=3), ["crosspost"])
    _interval_day(world, "own", DAY - dt.timedelta(days=30), ["offpost"])  # too old: not counted
    _interval_day(world, "other", DAY - dt.timedelta(days=2), ["offpost"])
    _case(world, "own", "reported")
    _case(world, "own", "accepted")  # accepted already: nothing to decide
    _case(world, "other", "reported")
    world.exemption("own")
    world.device("other")
    got = oq.pending_counts(world.session, own, today=today)
    assert got == {"exemptions": 1, "devices": 0, "suspect_days": 1, "offpost_days": 1,
                   "crosspost_days": 2, "flag_days": 4, "cases": 1, "total": 6}
    got_other = oq.pending_counts(world.session, other, today=today)
    assert got_other == {"exemptions": 0, "devices": 1, "suspect_days": 0, "offpost_days": 1,
                         "crosspost_days": 0, "flag_days": 1, "cases": 1, "total": 3}
    # the township sees both villages: its counts grew by the sum of the two
    town = oq.pending_counts(world.session, admin_scope(), today=today)
    assert {k: town[k] - town0[k] for k in town} == {k: got[k] + got_other[k] for k in got}
    # deciding the cross-post intervals of a day takes that day off the count
    date = DAY - dt.timedelta(days=3)
    r = client.post(f"/api/office/workers/{world.workers['own']}/days/{date}/flags/bulk",
                    headers=world.headers("village_office"),
                    json={"kind": "crosspost", "decision": "dismiss", "reason": "经核实在本网格"})
    assert r.status_code == 200, r.text
    after = oq.pending_counts(world.session, own, today=today)
    assert after["crosspost_days"] == 1 and after["total"] == 5
    # the menu badge of the village office shows the total
    page = client.get("/office/decisions", headers=world.headers("village_office"))
    assert page.status_code == 200 and 'id="pending-count"' in page.text
