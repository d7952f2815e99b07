"""The worker-day page shows the server's own outages of the day (GEO-PHONEOFF: not charged)."""

from __future__ import annotations

import sqlalchemy as sa

from checkins import tables as m
from server.office.pages import timeline
from tests.server.office.conftest import DAY


def test_worker_day_page_shows_outages_as_not_charged(client, world):
    wid = world.workers["own"]
    row = world.session.scalars(sa.select(m.DayResult).where(
        m.DayResult.worker_id == wid, m.DayResult.work_date == DAY)).one()
    iso = f"{DAY.isoformat()}T"
    result = dict(row.result)
    result["phone_off"] = [{**result["phone_off"][0], "cut_by_outage": 7}]
    result["server_outages"] = [
        {"rule": "GEO-PHONEOFF", "id": 7, "start": iso + "14:10:00+08:00",
         "end": iso + "15:00:00+08:00", "cause": "manual", "reason": "机房断电",
         "charged": False}]
    row.result = result
    world.session.flush()
    page = client.get(f"/office/workers/{wid}/days/{DAY}", headers=world.headers("admin_token"))
    assert page.status_code == 200
    assert 'id="server-outages"' in page.text
    assert "14:10–15:00 · 人工登记：机房断电" in page.text
    assert "已扣除服务器故障时段" in page.text
    segs = timeline(result, f"{iso}00:00:00+08:00")
    outage = [s for s in segs if s["cls"] == "outage"]
    assert len(outage) == 1 and "不计关机" in outage[0]["title"]
    assert outage[0]["left"] == round((14 * 3600 + 600) / 864, 3)


def test_a_day_without_outages_shows_none(client, world):
    wid = world.workers["own"]
    page = client.get(f"/office/workers/{wid}/days/{DAY}", headers=world.headers("admin_token"))
    assert page.status_code == 200 and 'id="server-outages"' not in page.text
