"""PIPL access right: a worker downloads all data held about them, and nothing of others'."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from tests.server.mobile.conftest import PREFIX, bearer, login

TZ = ZoneInfo("Asia/Shanghai")


def _upload(client, tokens, tag: str, n: int, lon: float, lat: float) -> dt.datetime:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=30)
    items = [{"client_id": f"{tag}-{i}", "seq": i, "kind": "fix",
              "recorded_at": (now + dt.timedelta(seconds=10 * i)).isoformat(),
              "lon": lon, "lat": lat + i * 1e-5, "datum": "wgs84", "accuracy_m": 5.0}
             for i in range(n)]
    items.append({"client_id": f"{tag}-hb", "seq": n, "kind": "heartbeat",
                  "recorded_at": now.isoformat(), "battery_pct": 50, "charging": False,
                  "network": "4g", "gps_on": True, "app_state": "foreground"})
    r = client.post(f"{PREFIX}/positions", json={"items": items}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    return now


def test_worker_downloads_own_data_only(client, make_worker, township):  # type: ignore[no-untyped-def]
    a, b = make_worker(), make_worker()
    ta, tb = login(client, a), login(client, b)
    c = township.grid.centroid
    at = _upload(client, ta, "a", 7, c.x, c.y)
    _upload(client, tb, "b", 5, c.x, c.y)
    start = (at + dt.timedelta(hours=1)).isoformat()
    r = client.post(f"{PREFIX}/requests", headers=bearer(ta), json={
        "kind": "sick_leave", "start": start,
        "end": (at + dt.timedelta(hours=3)).isoformat(), "reason": "发烧"})
    assert r.status_code in (200, 201), r.text

    r = client.get(f"{PREFIX}/me/export", headers=bearer(ta))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["worker"]["worker_id"] == a.worker_id
    assert [d["device_uid"] for d in doc["devices"]] == [a.device_uid]
    assert len(doc["requests"]) == 1 and "发烧" in str(doc["requests"][0])
    assert len(doc["sessions"]) == 1
    assert sum(doc["positions_by_day"].values()) == 8  # 7 fixes + 1 heartbeat
    text = r.text
    assert b.worker_id not in text and b.device_uid not in text
    assert "password" not in text and "token_hash" not in text

    got = []
    for day in doc["positions_by_day"]:
        r = client.get(f"{PREFIX}/me/export/positions", params={"date": day},
                       headers=bearer(ta))
        assert r.status_code == 200, r.text
        got += r.json()["items"]
    assert sorted(p["client_id"] for p in got) == sorted([f"a-{i}" for i in range(7)] + ["a-hb"])
    assert {p["worker_id"] for p in got} == {a.worker_id}
    fix = next(p for p in got if p["kind"] == "fix")
    assert fix["lon_wgs84"] == c.x and fix["datum"] == "wgs84"
    r = client.get(f"{PREFIX}/me/export/positions", headers=bearer(ta))  # default: today
    assert r.status_code == 200 and {p["worker_id"] for p in r.json()["items"]} <= {a.worker_id}


def test_export_needs_a_token_and_ignores_worker_ids(client, make_worker):  # type: ignore[no-untyped-def]
    a, b = make_worker(), make_worker()
    ta = login(client, a)
    assert client.get(f"{PREFIX}/me/export").status_code == 401
    r = client.get(f"{PREFIX}/me/export", params={"worker_id": b.worker_id},
                   headers=bearer(ta))
    assert r.status_code == 200 and r.json()["worker"]["worker_id"] == a.worker_id
    r = client.get(f"{PREFIX}/me/export/positions", params={"date": "not-a-date"},
                   headers=bearer(ta))
    assert r.status_code == 422
