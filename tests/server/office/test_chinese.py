"""One language (issue 16, backend side): Chinese error pages and JSON messages, flags and
evidence in Chinese, times in the township's zone."""

from __future__ import annotations

import datetime as dt

from checkins import tables as m
from server import messages
from tests.server.office.conftest import DAY, LAT0, LON0, day_entry


def test_a_404_page_is_a_styled_chinese_page_and_the_api_says_it_in_chinese(client, world):
    h = world.headers("village_office")
    r = client.get(f"/office/workers/{world.workers['other']}/days/{DAY}", headers=h)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'id="error"' in r.text and "未找到" in r.text and "not found" not in r.text
    r = client.get(f"/api/office/workers/{world.workers['other']}/days/{DAY}", headers=h)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert "未找到" in r.json()["message"]


def test_403_and_422_pages_are_chinese(client, world):
    h = world.headers("village_office")
    r = client.get("/office/audit", headers=h)
    assert r.status_code == 403 and "没有权限" in r.text and "<html" in r.text
    r = client.get(f"/office/workers/{world.workers['own']}/days/not-a-date", headers=h)
    assert r.status_code == 422 and "填写有误" in r.text and "date" not in r.text.split("<main")[1]
    r = client.get(f"/api/office/workers/{world.workers['own']}/days/not-a-date", headers=h)
    assert r.status_code == 422 and r.json()["error"] == "invalid" and r.json()["field"]
    assert r.json()["message"] == "填写的内容有误"


def test_evidence_and_labels_in_chinese():
    assert messages.evidence({"lost_s": {"gap": 14138}}) == "未计入：信号中断 3 小时 55 分"
    assert messages.label("spoof", "mock_location") == "模拟定位"
    assert messages.label("flag_kind", "crosspost") == "串岗"
    assert messages.value(None) == "–" and messages.value(False) == "否"
    assert messages.local_time("2026-11-18T01:02:00+00:00") == "2026-11-18 09:02"


def test_worker_day_page_shows_flags_and_times_in_chinese(client, world):
    wid = world.workers["own"]
    date = DAY - dt.timedelta(days=91)
    key = f"{date}T09:00:00+08:00"
    entry = day_entry(wid, world.grids["own"], date)
    entry |= {"suspect_fixes": 2, "suspect_fix_details": [
        {"rule": "GEO-SPOOF", "at": key, "lon": LON0, "lat": LAT0, "reasons": ["mock_location"]},
        {"rule": "GEO-SPOOF", "at": f"{date}T09:00:30+08:00", "lon": LON0, "lat": LAT0,
         "reasons": ["speed_spike"]}]}
    world.session.add(m.DayResult(worker_id=wid, work_date=date, result=entry, provisional=True,
                                  evaluated_at=dt.datetime(2026, 8, 19, 1, 30, tzinfo=dt.UTC)))
    world.session.flush()
    r = client.get(f"/office/workers/{wid}/days/{date}", headers=world.headers("village_office"))
    assert r.status_code == 200
    page = r.text
    assert "模拟定位" in page and "速度异常" in page and "mock_location</td>" not in page
    assert "评估于 2026-08-19 09:30" in page and " UTC" not in page
    assert "(provisional)" not in page
    assert 'id="bulk-suspect"' in page


def test_export_links_follow_the_page_filters(client, world):
    h = world.headers("village_office")
    v = world.villages["own"]
    page = client.get(f"/office/villages/{v}/days/{DAY}?status=problem&role=fulltime&sort=points"
                      "&desc=true", headers=h).text
    for fmt in ("csv", "xlsx"):
        assert (f"/days/{DAY}/export.{fmt}?status=problem&amp;role=fulltime&amp;sort=points"
                "&amp;desc=true") in page
    plain = client.get(f"/office/villages/{v}/days/{DAY}", headers=h).text
    assert f'/days/{DAY}/export.csv" id="export-csv"' in plain
