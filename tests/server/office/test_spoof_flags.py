"""GEO-SPOOF review flags (constant_accuracy, jump) through the flow and the office: listed
with the worker-day, nothing charged until an office confirms; confirm and dismiss like the
other suspect flags (API and page form), with audit rows and the YK-SAFETY deduction."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import shapely
import sqlalchemy as sa

from checkins.audit.models import AuditLog
from checkins.auth.models import Device
from checkins.evaluation.flows import evaluate_worker_days, worker_platforms
from checkins.evaluation.models import DayResult as DayRow
from checkins.positions.models import Position
from tests.server.office.conftest import DAY, LAT0, LON0, TZ


def _spoofed_track(world, side: str) -> tuple[str, dt.date]:
    """A worker-day: 25 fixes from 09:00 every 30 s walking ~28 m east inside the grid, all
    reporting 10.0 m (an emulator); then from 09:12:30 five fixes ~51 km east, staying."""
    wid, gid = world.workers[side], world.grids[side]
    date = DAY - dt.timedelta(days=7 * world.next_id())  # a Wednesday, no result yet
    t0 = dt.datetime.combine(date, dt.time(9, 0), tzinfo=ZoneInfo(TZ))
    pts = [(LON0 + 0.001 + 0.0003 * i, LAT0 + 0.005, 10.0, gid) for i in range(25)]
    pts += [(LON0 + 0.55 + 0.0003 * k, LAT0 + 0.005, 7.3 + 0.6 * k, None) for k in range(5)]
    for i, (lon, lat, acc, g) in enumerate(pts):
        world.session.add(Position(
            recorded_at=t0 + dt.timedelta(seconds=30 * i), worker_id=wid, kind="fix", lon=lon,
            lat=lat, geom=shapely.Point(lon, lat), accuracy_m=acc, grid_id=g,
            client_id=f"c{world.next_id()}"))
    world.session.flush()
    return wid, date


def _result(world, wid, date) -> dict:
    row = world.session.scalars(sa.select(DayRow).where(
        DayRow.worker_id == wid, DayRow.work_date == date)).one()
    world.session.refresh(row)
    return row.result


def _safety(entry: dict) -> list[dict]:
    return [d for d in entry["deductions"] if d["rule"] == "YK-SAFETY"]


def test_flags_listed_and_nothing_charged_before_review(client, world):
    wid, date = _spoofed_track(world, "own")
    [entry] = evaluate_worker_days(world.session, [(wid, date)])
    assert entry["suspect_fixes"] == 0  # nothing left out
    flags = entry["spoof_flags"]
    assert [f["reasons"] for f in flags] == [["constant_accuracy"], ["jump"]]
    assert flags[0]["at"] == f"{date}T09:00:00+08:00" and flags[0]["evidence"]["fixes"] == 25
    assert flags[1]["key"] == f"{date}T09:12:30+08:00#jump"
    assert flags[1]["evidence"]["distance_m"] > 50_000
    assert _safety(entry) == []
    # the office's worker-day lists both as suspect flags, undecided
    r = client.get(f"/api/office/workers/{wid}/days/{date}", headers=world.headers("village_office"))
    assert r.status_code == 200
    listed = [(f["kind"], f["key"], f["decision"]) for f in r.json()["flags"]]
    assert listed == [("suspect", flags[0]["key"], None), ("suspect", flags[1]["key"], None)]
    assert r.json()["summary"]["spoof_flags"] == 2
    page = client.get(f"/office/workers/{wid}/days/{date}", headers=world.headers("village_office"))
    assert page.status_code == 200
    assert "constant_accuracy" in page.text and "jump" in page.text
    assert f'value="{flags[1]["key"]}"' in page.text
    # the village day table counts them as something to look at
    rows = client.get(f"/api/office/villages/{world.villages['own']}/days/{date}?status=problem",
                      headers=world.headers("village_office"))
    assert rows.status_code == 200 and wid in [x["worker_id"] for x in rows.json()["rows"]]


def test_confirm_charges_once_dismiss_clears(client, world):
    s = world.session
    wid, date = _spoofed_track(world, "own")
    [entry] = evaluate_worker_days(s, [(wid, date)])
    ca_key, jump_key = (f["key"] for f in entry["spoof_flags"])
    url = f"/api/office/workers/{wid}/days/{date}/flags"
    h = world.headers("village_office")
    last = s.scalar(sa.select(sa.func.max(AuditLog.id))) or 0
    r = client.post(url, headers=h, json={"kind": "suspect", "key": jump_key, "decision": "confirm",
                                          "reason": "电话核实：用了模拟定位"})
    assert r.status_code == 200, r.text
    audit = s.scalars(sa.select(AuditLog).where(AuditLog.id > last)).all()
    assert [a.action for a in audit] == ["flag.confirm"]
    assert audit[0].after["flag"]["reasons"] == ["jump"]
    res = _result(world, wid, date)
    assert [f.get("decision") for f in res["spoof_flags"]] == [None, "confirmed"]
    [ded] = _safety(res)
    assert ded["points"] == -0.5 and "位置跳变" in ded["reason"] and "经核实" in ded["reason"]
    assert ded["evidence"]["reasons"] == ["jump"] and ded["evidence"]["at"] == jump_key.split("#")[0]
    # dismiss the constant-accuracy flag with the page form: still one deduction
    r = client.post(f"/office/workers/{wid}/days/{date}/flags", headers=h,
                    data={"kind": "suspect", "key": ca_key, "decision": "dismiss",
                          "reason": "苹果手机，精度固定"}, follow_redirects=False)
    assert r.status_code == 303
    res = _result(world, wid, date)
    assert [f.get("decision") for f in res["spoof_flags"]] == ["dismissed", "confirmed"]
    assert len(_safety(res)) == 1
    # dismissing the jump on second thought removes the deduction
    r = client.post(url, headers=h, json={"kind": "suspect", "key": jump_key, "decision": "dismiss",
                                          "reason": "复核：GPS 故障"})
    assert r.status_code == 200
    res = _result(world, wid, date)
    assert [f.get("decision") for f in res["spoof_flags"]] == ["dismissed", "dismissed"]
    assert _safety(res) == []
    # a key without the reason is not a flag of this day
    r = client.post(url, headers=h, json={"kind": "suspect", "key": jump_key.split("#")[0],
                                          "decision": "confirm", "reason": "试试"})
    assert r.status_code == 404


def _phone(world, side: str, platform: str | None, status: str = "approved") -> None:
    world.session.add(Device(device_uid=f"{world.tag}-p{world.next_id()}",
                             worker_id=world.workers[side], platform=platform, model="t",
                             status=status))
    world.session.flush()


def test_the_registered_platform_reaches_the_engine(world):
    """A worker whose phones are all iPhones: the 10.0 m run is an iPhone's quantised
    accuracy (constant_accuracy_ios_values_m), not flagged; the jump still is. A pending
    phone does not count; an Android phone beside the iPhone makes the platform unknown."""
    s = world.session
    wid, date = _spoofed_track(world, "own")
    _phone(world, "own", "iOS")
    _phone(world, "own", "android", status="pending")
    assert worker_platforms(s, [wid]) == {wid: "ios"}
    [entry] = evaluate_worker_days(s, [(wid, date)])
    assert [f["reasons"] for f in entry["spoof_flags"]] == [["jump"]]
    _phone(world, "own", "android")
    assert worker_platforms(s, [wid]) == {}
    [entry] = evaluate_worker_days(s, [(wid, date)])
    assert [f["reasons"] for f in entry["spoof_flags"]] == [["constant_accuracy"], ["jump"]]
