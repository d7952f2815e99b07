"""The dashboard's SQL aggregates and the live map's states (duty hours, exemptions, zones)."""

from __future__ import annotations

import datetime as dt
import re

import shapely
import sqlalchemy as sa

from checkins import tables as m
from checkins.auth.office import admin_scope
from checkins.office import dashboard as dash
from checkins.office import queries as oq
from checkins.office.live import live_map
from tests.server.office.conftest import DAY, LAT0, LON0, day_entry

Z = dt.timezone(dt.timedelta(hours=8))


def _second_worker(world, *, date=DAY, offpost=True, suspect=True) -> str:
    """Another worker of the own village with a day result with off-post and a suspect fix."""
    s = world.session
    wid = f"{world.tag}X{world.next_id()}"
    s.add(m.Worker(worker_id=wid, name="李四", role="parttime", village_id=world.villages["own"]))
    s.flush()
    s.add(m.GridAssignment(worker_id=wid, grid_id=world.grids["own"],
                           valid_from=DAY - dt.timedelta(days=30)))
    key = f"{date.isoformat()}T10:00:00+08:00"
    entry = day_entry(wid, world.grids["own"], date, suspect_at=key if suspect else None,
                      offpost_start=key if offpost else None)
    entry["patrols"]["pm"]["status"] = "exempt"  # an exempt patrol is not required
    entry["signin"]["status"] = "missing"
    s.add(m.DayResult(worker_id=wid, work_date=date, result=entry, provisional=False))
    s.flush()
    return wid


def test_numbers_are_summed_in_sql_and_agree_with_the_day_table(world):
    s = world.session
    own, other = world.villages["own"], world.villages["other"]
    _second_worker(world)
    # the Tuesday before: same week, not the same day; a result of another week is left out
    _second_worker(world, date=DAY - dt.timedelta(days=1), suspect=False)
    _second_worker(world, date=DAY - dt.timedelta(days=7))
    n = dash.numbers(s, [own, other], DAY, DAY)
    assert n[own] == {"worker_days": 2, "patrols_done": 2, "patrols_required": 3,
                      "signins_done": 1, "signins_required": 2, "offpost": 1, "phone_off": 2,
                      "suspect": 1, "problem_days": 2}
    assert n[other]["worker_days"] == 1 and n[other]["offpost"] == 0
    # the same things counted from the rows the numbers link to
    rows = oq.day_table(s, admin_scope(), own, DAY)["rows"]
    assert n[own]["offpost"] == sum(r["offpost_count"] for r in rows)
    assert n[own]["phone_off"] == sum(r["phone_off_count"] for r in rows)
    assert n[own]["suspect"] == sum(r["suspect_fixes"] + r["spoof_flags"] for r in rows)
    assert n[own]["problem_days"] == len(
        oq.day_table(s, admin_scope(), own, DAY, status="deducted")["rows"])
    for status, key in (("offpost", "offpost"), ("suspect", "suspect"),
                        ("phoneoff", "phone_off")):
        linked = oq.day_table(s, admin_scope(), own, DAY, status=status)["rows"]
        assert len(linked) == sum(1 for r in rows if (
            r["offpost_count"] if key == "offpost" else r["phone_off_count"] if key == "phone_off"
            else r["suspect_fixes"] + r["spoof_flags"])), status
    week = dash.numbers(s, [own], DAY - dt.timedelta(days=DAY.weekday()), DAY)[own]
    assert week["worker_days"] == 3 and week["offpost"] == 2 and week["suspect"] == 1
    assert dash.numbers(s, [], DAY, DAY) == {}


def test_pending_and_trends_per_village(world):
    s = world.session
    own, other = world.villages["own"], world.villages["other"]
    world.exemption("own")
    world.exemption("own", status="approved")
    world.device("own")
    world.device("other", status="approved")
    assert dash.pending(s, [own, other]) == {own: 2, other: 0}
    _second_worker(world, date=DAY - dt.timedelta(days=7))
    t = dash.trends(s, [own, other], DAY, "week")
    assert t["buckets"][-1] == "2026-11-16" and t["buckets"][-2] == "2026-11-09"
    assert len(t["buckets"]) == dash.TREND_WEEKS
    own_s = t["series"][own]
    assert own_s["patrol_rate"][-1] == 50.0  # am ok, pm short
    assert own_s["patrol_rate"][-2] == 100.0  # am ok, pm exempt
    assert own_s["offpost"][-2] == 1.0 and own_s["offpost"][-1] == 0.0
    assert own_s["patrol_rate"][0] is None  # nothing stored: a gap, not a zero
    mo = dash.trends(s, [own], DAY, "month")
    assert mo["buckets"][-1] == "2026-11-01" and len(mo["buckets"]) == dash.TREND_MONTHS
    assert mo["series"][own]["patrol_rate"][-1] == round(100 * 2 / 3, 1)


def test_dashboard_page_links_to_the_rows_and_keeps_to_the_scope(client, world):
    own, other = world.villages["own"], world.villages["other"]
    wid = _second_worker(world)
    h = world.headers("village_office")
    r = client.get(f"/office/dashboard?date={DAY}", headers=h)
    assert r.status_code == 200
    assert other not in r.text and world.workers["other"] not in r.text
    link = f"/office/villages/{own}/days/{DAY}?status=offpost"
    assert re.search(rf'href="{re.escape(link)}" data-num="offpost"><span class="num">1<', r.text)
    assert 'id="chart-data"' in r.text and "echarts.min.js" in r.text
    day = client.get(link, headers=h)
    assert day.status_code == 200
    assert f'data-worker="{wid}"' in day.text
    assert f'data-worker="{world.workers["own"]}"' not in day.text
    town = client.get(f"/office/dashboard?date={DAY}", headers=world.headers("township_office"))
    assert f'data-village="{own}"' in town.text and f'data-village="{other}"' in town.text
    assert client.get(f"/office/dashboard?village_id={other}", headers=h).status_code == 404


def _fix(world, worker_id, at, lon, lat, grid_id):
    world.session.add(m.Position(recorded_at=at, worker_id=worker_id, kind="fix", lon=lon,
                                 lat=lat, geom=shapely.Point(lon, lat), accuracy_m=8.0,
                                 grid_id=grid_id, client_id=f"c{world.next_id()}"))


def _live_world(world):
    s = world.session
    vid, grid = world.villages["own"], world.grids["own"]
    now = dt.datetime.combine(DAY, dt.time(10, 30), tzinfo=Z)
    names = ("patrolling", "away", "silent", "leave", "idle", "office", "nothing")
    ids = {n: f"{world.tag}L{i}" for i, n in enumerate(names)}
    for wid in ids.values():
        s.add(m.Worker(worker_id=wid, name="某", role="parttime", village_id=vid))
    s.flush()
    for wid in ids.values():
        s.add(m.GridAssignment(worker_id=wid, grid_id=grid, valid_from=DAY - dt.timedelta(days=30)))
    inside = (LON0 + 0.004, LAT0 + 0.004)
    s.add(m.PatrolSession(worker_id=ids["patrolling"], client_id="p1", grid_id=grid,
                          started_at=now - dt.timedelta(hours=1)))
    _fix(world, ids["patrolling"], now - dt.timedelta(minutes=1), *inside, grid)
    _fix(world, ids["away"], now - dt.timedelta(minutes=20), *inside, grid)
    _fix(world, ids["away"], now - dt.timedelta(minutes=1), LON0 + 0.05, LAT0 + 0.05, None)
    _fix(world, ids["silent"], now - dt.timedelta(minutes=45), *inside, grid)
    _fix(world, ids["leave"], now - dt.timedelta(minutes=2), *inside, grid)
    _fix(world, ids["idle"], now - dt.timedelta(minutes=2), *inside, grid)
    # the village office (radius 150 m) is an allowed zone: moved outside the grid square,
    # and a fix about 100 m east of it
    s.get(m.Village, vid).office = shapely.Point(LON0 + 0.015, LAT0 + 0.005)
    _fix(world, ids["office"], now - dt.timedelta(minutes=2), LON0 + 0.01607, LAT0 + 0.005, None)
    ex = world.exemption("own", status="approved")
    s.execute(sa.update(m.Exemption).where(m.Exemption.id == ex).values(worker_id=ids["leave"]))
    s.flush()
    return ids, now


def test_live_states_respect_duty_hours_exemptions_and_allowed_zones(world):
    s = world.session
    ids, now = _live_world(world)
    vid = world.villages["own"]
    data = live_map(s, admin_scope(), vid, now)
    state = {r["worker_id"]: r["state"] for r in data["rows"]}
    assert {state[ids[k]] for k in ids} and {k: state[w] for k, w in ids.items()} == {
        "patrolling": "on_patrol", "away": "off_post", "silent": "unreachable",
        "leave": "off_duty", "idle": "in_grid", "office": "in_grid", "nothing": "unreachable"}
    rows = {r["worker_id"]: r for r in data["rows"]}
    assert rows[ids["leave"]]["reason"] == "病假"
    assert rows[ids["office"]]["reason"] == "村部"
    assert rows[ids["away"]]["reason"] == "不在网格，尚无脱岗告警"
    assert rows[ids["away"]]["lon"] == round(LON0 + 0.05, 6)  # the latest usable fix
    assert rows[ids["nothing"]]["lat"] is None
    assert data["counts"]["on_patrol"] == 1 and sum(data["counts"].values()) == len(rows)
    # at night and on a Saturday nobody is unreachable or off post: off duty
    for at, why in ((now.replace(hour=22), "工作时间外"), (now.replace(hour=12, minute=30),
                                                        "工作时间外"),
                    (now + dt.timedelta(days=3), "休息日")):
        night = live_map(s, admin_scope(), vid, at)
        assert {r["state"] for r in night["rows"]} == {"off_duty"}, at
        assert night["off_hours"] == why


def test_live_alerts_win_and_are_listed_beside_the_map(world):
    from checkins.jobs.models import Alert

    s = world.session
    ids, now = _live_world(world)
    vid = world.villages["own"]
    s.add(Alert(worker_id=ids["idle"], village_id=vid, work_date=DAY, kind="crosspost",
                rule="GEO-CROSSPOST", start_at=now - dt.timedelta(minutes=40),
                end_at=now - dt.timedelta(minutes=2), other_grid_id=world.grids["other"]))
    s.add(Alert(worker_id=ids["patrolling"], village_id=vid, work_date=DAY, kind="phone_off",
                rule="GEO-PHONEOFF", start_at=now + dt.timedelta(minutes=5),
                end_at=now + dt.timedelta(minutes=30)))  # later than "at": not yet
    s.flush()
    data = live_map(s, admin_scope(), vid, now)
    rows = {r["worker_id"]: r for r in data["rows"]}
    assert rows[ids["idle"]]["state"] == "off_post" and rows[ids["idle"]]["reason"] is None
    assert rows[ids["patrolling"]]["state"] == "on_patrol"
    assert [(a["worker_id"], a["kind_zh"], a["start"], a["minutes"]) for a in data["alerts"]] \
        == [(ids["idle"], "串岗", "09:50", 38)]


def test_live_json_and_page_keep_to_the_scope_and_audit_the_view(client, world):
    from checkins.audit.models import AuditLog

    ids, now = _live_world(world)
    own, other = world.villages["own"], world.villages["other"]
    h = world.headers("village_office")
    r = client.get("/office/live.json", params={"at": now.isoformat()}, headers=h)
    assert r.status_code == 200
    assert {row["village_id"] for row in r.json()["rows"]} == {own}
    assert r.headers["cache-control"] == "no-store"
    naive = client.get("/office/live.json", params={"at": f"{DAY}T10:30"}, headers=h).json()
    assert naive["at"] == f"{DAY} 10:30:00"  # a naive time is the township's local time
    g = client.get("/office/live/grids.json", headers=h).json()
    assert [f["properties"]["grid_id"] for f in g["features"]] == [world.grids["own"]]
    n0 = world.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "live.view"))
    page = client.get(f"/office/villages/{own}/live", params={"at": now.isoformat()}, headers=h)
    assert page.status_code == 200 and 'id="live-data"' in page.text
    assert other not in page.text
    n1 = world.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "live.view"))
    assert n1 == n0 + 1
    assert client.get("/office/live.json", params={"village_id": other},
                      headers=h).status_code == 404
