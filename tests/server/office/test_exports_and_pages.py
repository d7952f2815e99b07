"""Exports parse back; the day table filters and sorts; login, logout, expiry, throttling."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
import sqlalchemy as sa

from checkins.auth import office as office_auth
from checkins.auth.models import OfficeSession
from checkins.evaluation.models import DayResult
from tests.server.office.conftest import DAY, PASSWORD, day_entry


def _add_second_worker(world):
    """A second worker of the own village with a worse day (two deductions)."""
    from checkins import tables as m

    s = world.session
    wid = f"{world.tag}W9"
    s.add(m.Worker(worker_id=wid, name="钱七", role="parttime", village_id=world.villages["own"]))
    s.flush()
    entry = day_entry(wid, world.grids["own"], DAY, points=-1.0,
                      offpost_start=f"{DAY}T10:00:00+08:00")
    entry["deductions"].append({"rule": "GEO-OFFPOST", "points": -0.5, "reason": "off post"})
    entry["patrols"]["am"] = {"rule": "YK-PATROL", "status": "missing", "in_grid_s": 0}
    s.add(DayResult(worker_id=wid, work_date=DAY, result=entry, provisional=False))
    s.flush()
    return wid


def test_day_table_csv_parses_back_with_chinese_headers(client, world):
    wid2 = _add_second_worker(world)
    r = client.get(f"/api/office/villages/{world.villages['own']}/days/{DAY}/export.csv",
                   headers=world.headers("village_office"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [row["工号"] for row in rows] == [world.workers["own"], wid2]
    first, second = rows
    assert first["姓名"] == "工0" and first["角色"] == "专职网格员"
    assert first["签到状态"] == "迟到" and first["上午巡查"] == "合格"
    assert first["上午网格内(分钟)"] == "121.0" and first["下午巡查"] == "不足"
    assert first["关机次数"] == "1" and first["关机(分钟)"] == "40.0"
    assert first["扣分"] == "-0.5" and second["扣分"] == "-1.5"
    assert second["脱岗次数"] == "1" and second["脱岗(分钟)"] == "25.0"
    assert second["规则"] == "GEO-OFFPOST YK-PATROL"
    assert world.workers["other"] not in text


def test_day_table_xlsx_parses_back(client, world):
    _add_second_worker(world)
    r = client.get(f"/api/office/villages/{world.villages['own']}/days/{DAY}/export.xlsx",
                   headers=world.headers("township_office"))
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb["日考核"]
    values = list(ws.values)
    assert "日考核表" in values[0][0]
    header = list(values[1])
    assert header[:4] == ["工号", "姓名", "角色", "网格"] and "扣分" in header
    body = values[2:]
    assert len(body) == 2
    points = {row[0]: row[header.index("扣分")] for row in body}
    assert points == {world.workers["own"]: -0.5, f"{world.tag}W9": -1.5}


def test_week_exports_parse_back(client, world):
    monday = DAY - dt.timedelta(days=DAY.weekday())
    base = f"/api/office/villages/{world.villages['own']}/weeks/{monday}"
    h = world.headers("village_office")
    week = client.get(base, headers=h).json()
    assert week["dates"][0] == monday.isoformat() and len(week["dates"]) == 7
    r = client.get(base + "/export.csv", headers=h)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8").lstrip("\ufeff"))))
    header, line = rows[0], rows[1]
    assert header[:3] == ["工号", "姓名", "角色"] and header[-1] == "合计扣分"
    assert len(header) == 3 + 2 * 7 + 1
    col = header.index(f"{DAY} 扣分")
    assert line[0] == world.workers["own"] and line[col] == "-0.5"
    assert line[col + 1] == "合格/不足" and line[-1] == "-0.5"
    x = client.get(base + "/export.xlsx", headers=h)
    ws = openpyxl.load_workbook(io.BytesIO(x.content))["周考核"]
    values = list(ws.values)
    assert values[1][-1] == "合计扣分" and values[2][-1] == -0.5


def test_audit_csv_export(client, world):
    ex = world.exemption("own")
    client.post(f"/api/office/exemptions/{ex}/decision", headers=world.headers("village_office"),
                json={"decision": "approve", "reason": "病假条已收"})
    r = client.get("/api/office/audit.csv?action=exemption.", headers=world.headers("admin"))
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8").lstrip("\ufeff"))))
    mine = [x for x in rows if x["对象编号"] == str(ex)]
    assert len(mine) == 1 and mine[0]["操作"] == "exemption.approve"
    assert mine[0]["理由"] == "病假条已收" and '"approved"' in mine[0]["之后"]


def test_day_table_filters_and_sorting(client, world):
    wid2 = _add_second_worker(world)
    base = f"/api/office/villages/{world.villages['own']}/days/{DAY}"
    h = world.headers("village_office")

    def ids(**params):
        return [r["worker_id"] for r in client.get(base, headers=h, params=params).json()["rows"]]

    own = world.workers["own"]
    assert ids() == [own, wid2]
    assert ids(sort="points") == [wid2, own]
    assert ids(sort="points", desc=True) == [own, wid2]
    assert ids(status="missing") == [wid2]
    assert ids(role="fulltime") == [own]
    assert ids(q="钱") == [wid2]
    assert ids(status="unevaluated") == []
    page = client.get(f"/office/villages/{world.villages['own']}/days/{DAY}?sort=points", headers=h)
    assert page.status_code == 200
    assert page.text.index(wid2) < page.text.index(f'data-worker="{own}"')


def test_provisional_until_the_grace_period_has_passed(world):
    from checkins.office.queries import is_provisional

    row = DayResult(worker_id="x", work_date=dt.date(2026, 11, 18), result={}, provisional=True)
    end = dt.datetime(2026, 11, 19, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert is_provisional(row, "Asia/Shanghai", end + dt.timedelta(hours=71))
    assert not is_provisional(row, "Asia/Shanghai", end + dt.timedelta(hours=73))


def test_login_logout_and_the_cookie(client, world):
    user = f"{world.tag}-village_office"
    assert client.post("/api/office/login", json={"username": user, "password": "wrong"}
                       ).status_code == 401
    r = client.post("/api/office/login", json={"username": user, "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    assert r.json()["village_id"] == world.villages["own"]
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    me = client.get("/api/office/me")  # the cookie alone
    assert me.status_code == 200 and me.json()["role"] == "village_office"
    client.cookies.clear()
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/office/me", headers=h).status_code == 200
    assert client.post("/api/office/logout", headers=h).json() == {"logged_out": True}
    assert client.get("/api/office/me", headers=h).status_code == 401
    stored = world.session.scalars(sa.select(OfficeSession.token_hash)).all()
    assert token not in stored  # only the hash is kept


def test_page_login_form_and_redirects(client, world):
    r = client.get(f"/office/villages/{world.villages['own']}/days/{DAY}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/office/login?next=")
    form = client.get(r.headers["location"]).text  # sets the pre-session CSRF cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/office/login", data={"username": f"{world.tag}-township_office",
                                           "password": PASSWORD, "next": "https://evil.example/",
                                           "csrf_token": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/office"
    r = client.get(f"/office/villages/{world.villages['other']}/days/{DAY}")
    assert r.status_code == 200 and world.workers["other"] in r.text


def test_expired_and_revoked_sessions_are_refused(client, world):
    s = world.session
    for row in s.scalars(sa.select(OfficeSession)):
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    s.flush()
    assert client.get("/api/office/me", headers=world.headers("township_office")).status_code == 401
    user = s.scalars(sa.select(office_auth.OfficeUser).where(
        office_auth.OfficeUser.username == f"{world.tag}-admin")).one()
    token, _ = office_auth.login(s, user.username, PASSWORD)
    assert office_auth.resolve(s, token) is not None
    assert office_auth.logout_all(s, user.id) >= 1
    assert office_auth.resolve(s, token) is None


def test_brute_force_is_throttled_per_username(app, world):
    import secrets

    from fastapi.testclient import TestClient

    # an address of its own: the per-address bucket lives in the run's database
    client = TestClient(app, client=(f"198.51.100.{secrets.randbelow(250) + 1}", 1))
    user = f"{world.tag}-admin"
    codes = [client.post("/api/office/login", json={"username": user, "password": f"bad{i}"}
                         ).status_code for i in range(office_auth.MAX_FAILURES + 3)]
    assert codes[:office_auth.MAX_FAILURES] == [401] * office_auth.MAX_FAILURES
    assert set(codes[office_auth.MAX_FAILURES:]) == {429}
    # even the right password waits; another user is unaffected
    assert client.post("/api/office/login", json={"username": user, "password": PASSWORD}
                       ).status_code == 429
    assert client.post("/api/office/login", json={"username": f"{world.tag}-township_office",
                                                  "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize("path", ["/office/static/vendor/leaflet/leaflet.js",
                                  "/office/static/vendor/leaflet/leaflet.css",
                                  "/office/static/worker_day.js"])
def test_static_assets_are_served_locally(client, path):
    r = client.get(path)
    assert r.status_code == 200 and len(r.content) > 500


def test_the_grace_period_setting_decides_provisional(settings, migrated_engine, session, world):
    from fastapi.testclient import TestClient

    from server.app import create_app
    from server.deps import get_session

    url = f"/api/office/villages/{world.villages['own']}/days/{DAY}"
    for hours, expected in ((0, False), (24 * 365 * 20, True)):
        app = create_app(settings.model_copy(update={"result_grace_hours": hours}),
                         migrated_engine)
        app.dependency_overrides[get_session] = lambda: session
        with TestClient(app) as c:
            rows = c.get(url, headers=world.headers("village_office")).json()["rows"]
            assert rows[0]["provisional"] is expected
            page = c.get(f"/office/villages/{world.villages['own']}/days/{DAY}",
                         headers=world.headers("village_office"))
            assert f"结束后 {hours} 小时" in page.text


def test_day_table_tells_a_lost_upload_from_a_silent_phone(client, world):
    """Per-device sequence numbers (issue 7): the own worker's phone sent seq 1-10 and 16-20
    (11-15 were created and never received: 5 missing); the other village's worker sent nothing."""
    from checkins.positions.models import DeviceSeqRun

    dev = world.device("own", status="approved")
    for a, b in ((1, 10), (16, 20)):
        world.session.add(DeviceSeqRun(worker_id=world.workers["own"], device_id=dev,
                                       seq_from=a, seq_to=b,
                                       received_at=dt.datetime.now(dt.UTC)))
    world.session.flush()
    h = world.headers("township_office")
    own = client.get(f"/api/office/villages/{world.villages['own']}/days/{DAY}", headers=h)
    row = next(r for r in own.json()["rows"] if r["worker_id"] == world.workers["own"])
    assert (row["uploads"], row["missing_items"]) == ("missing_uploads", 5)
    other = client.get(f"/api/office/villages/{world.villages['other']}/days/{DAY}", headers=h)
    row = next(r for r in other.json()["rows"] if r["worker_id"] == world.workers["other"])
    assert (row["uploads"], row["missing_items"]) == ("no_uploads", 0)
    page = client.get(f"/office/villages/{world.villages['own']}/days/{DAY}", headers=h)
    assert page.status_code == 200 and "缺失 5 条" in page.text
