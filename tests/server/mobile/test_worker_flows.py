"""Assignment, sign-in, patrols, patrol logs with photos, requests, the worker's own view,
and that a worker never reaches another worker's data (token, path id, body id)."""

from __future__ import annotations

import datetime as dt
import io
import json

import sqlalchemy as sa
from PIL import Image
from sqlmodel import Session

from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
from tests.server.mobile.conftest import PREFIX, bearer, login

CST = dt.timezone(dt.timedelta(hours=8))


def _jpeg_with_exif(lon: float, lat: float) -> bytes:
    img = Image.new("RGB", (64, 48), (90, 140, 60))
    exif = Image.Exif()
    exif[306] = "2026:03:02 09:15:00"
    gps = {1: "N", 2: (32.0, 27.0, 0.0), 3: "E", 4: (121.0, 3.0, 0.0)}
    exif[0x8825] = gps
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def test_assignment_in_each_datum(client, make_worker, township):
    from geo import crs

    w = make_worker(role="parttime")
    tok = login(client, w)
    wgs = client.get(f"{PREFIX}/me/assignment", headers=bearer(tok)).json()
    assert wgs["grid_id"] == township.grid_id and wgs["role"] == "parttime"
    assert wgs["required_patrol_s"] == 3600  # YK-PATROL-DURATION, parttime
    assert {p["name"] for p in wgs["patrol_windows"]} == {"am", "pm"}
    assert wgs["signin_required"] is True and wgs["signin_deadline"] == "09:00"
    assert wgs["office"]["radius_m"] == 150.0
    ring = wgs["grid"]["coordinates"][0]
    for datum in ("gcj02", "bd09"):
        a = client.get(f"{PREFIX}/me/assignment", params={"datum": datum}, headers=bearer(tok)).json()
        assert a["datum"] == datum and a["office"]["datum"] == datum
        lon, lat = crs.from_wgs84(ring[0][0], ring[0][1], datum)
        assert abs(a["grid"]["coordinates"][0][0][0] - float(lon)) < 1e-6
        assert abs(a["grid"]["coordinates"][0][0][1] - float(lat)) < 1e-6
        # the offset is real: hundreds of metres, not a rounding difference
        assert abs(a["grid"]["coordinates"][0][0][0] - ring[0][0]) > 1e-3
    r = client.get(f"{PREFIX}/me/assignment", params={"datum": "utm"}, headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"]["field"] == "datum"


MONDAY = dt.datetime(2026, 3, 2, 8, 30, tzinfo=CST)  # a working day (YK-DAYS)


def _signin(client, tok, cid, lon, lat, t, **kw):  # type: ignore[no-untyped-def]
    fix = {"lon": lon, "lat": lat, "datum": "wgs84", "accuracy_m": 10, "recorded_at": t.isoformat()}
    fix.update(kw)
    r = client.post(f"{PREFIX}/signins", json={"client_id": cid, "fix": fix}, headers=bearer(tok))
    assert r.status_code == 200, r.text
    return r.json()


def test_signin_is_judged_at_once_with_the_reason(client, make_worker, township, migrated_engine):
    full, part = make_worker(role="fulltime"), make_worker(role="parttime")
    tf, tp = login(client, full), login(client, part)
    c = township.grid.centroid  # the office is at the grid centre, radius 150 m
    ok = _signin(client, tf, "s1", c.x + 0.0010, c.y, MONDAY)  # ~94 m east
    assert (ok["status"], ok["counts"], ok["reason"]) == ("ok", True, None)
    assert 80 < ok["distance_m"] < 110 and ok["radius_m"] == 150.0
    again = _signin(client, tf, "s1", c.x + 0.0010, c.y, MONDAY)
    assert again["duplicate"] is True and again["id"] == ok["id"]
    out = _signin(client, tf, "s2", c.x + 0.0100, c.y, MONDAY)  # ~940 m east
    assert (out["status"], out["counts"]) == ("outside", False)
    assert out["distance_m"] > 900 and "geofence" in out["reason"]
    # ~141 m: inside 150 m; ~188 m with 30 m accuracy: 150 + 30 < 188, outside
    assert _signin(client, tf, "s3", c.x + 0.0015, c.y, MONDAY, accuracy_m=30)["status"] == "ok"
    assert _signin(client, tf, "s4", c.x + 0.0020, c.y, MONDAY, accuracy_m=30)["status"] == "outside"
    # parttime: deadline 09:00 (YK-LOG)
    late = _signin(client, tp, "p1", c.x, c.y, MONDAY.replace(hour=9, minute=30))
    assert (late["status"], late["counts"], late["deadline"]) == ("late", False, "09:00")
    assert _signin(client, tp, "p2", c.x, c.y, MONDAY.replace(hour=8, minute=59))["status"] == "ok"
    # Saturday: no sign-in needed
    sat = _signin(client, tf, "s5", c.x, c.y, dt.datetime(2026, 3, 7, 8, 30, tzinfo=CST))
    assert (sat["status"], sat["counts"]) == ("not_required", False)
    # the phone's mock-location flag: never counts
    mock = _signin(client, tf, "s6", c.x, c.y, MONDAY, mock=True)
    assert (mock["status"], mock["reason"]) == ("rejected", "mock_location")
    with Session(migrated_engine) as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(Signin).where(Signin.worker_id == full.worker_id))
        assert n == 6


def test_signin_on_approved_leave_is_not_required(client, make_worker, township, migrated_engine):
    w = make_worker(role="parttime")
    tok = login(client, w)
    with Session(migrated_engine) as s:
        s.add(Exemption(worker_id=w.worker_id, kind="sick_leave", status="approved",
                        start_at=MONDAY.replace(hour=0, minute=0),
                        end_at=MONDAY.replace(hour=23, minute=59)))
        s.commit()
    c = township.grid.centroid
    assert _signin(client, tok, "l1", c.x, c.y, MONDAY)["status"] == "not_required"


def test_patrol_start_stop_and_log_with_photos(client, make_worker, township, migrated_engine, tmp_path):
    w = make_worker()
    tok = login(client, w)
    t0 = dt.datetime.now(CST) - dt.timedelta(hours=1)
    p = client.post(f"{PREFIX}/patrols", json={"client_id": "p1", "started_at": t0.isoformat()},
                    headers=bearer(tok)).json()
    again = client.post(f"{PREFIX}/patrols", json={"client_id": "p1", "started_at": t0.isoformat()},
                        headers=bearer(tok)).json()
    assert again["id"] == p["id"] and again["duplicate"] is True
    bad = client.post(f"{PREFIX}/patrols/{p['id']}/stop",
                      json={"ended_at": (t0 - dt.timedelta(minutes=5)).isoformat()}, headers=bearer(tok))
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "ended_at"
    stop = client.post(f"{PREFIX}/patrols/{p['id']}/stop",
                       json={"ended_at": (t0 + dt.timedelta(minutes=70)).isoformat()}, headers=bearer(tok))
    assert stop.status_code == 200 and stop.json()["ended_at"] is not None
    photo = _jpeg_with_exif(121.05, 32.45)
    files = [("photos", ("a.jpg", photo, "image/jpeg")), ("photos", ("b.jpg", photo, "image/jpeg"))]
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "巡查正常，无隐患", "patrol_id": p["id"]},
                    files=files, headers=bearer(tok))
    assert r.status_code == 200, r.text
    log = r.json()
    assert log["patrol_session_id"] == p["id"] and len(log["photos"]) == 2
    ph = log["photos"][0]
    assert ph["content_type"] == "image/jpeg" and ph["exif_taken_at"] == "2026:03:02 09:15:00"
    assert abs(ph["exif_lat"] - 32.45) < 1e-6 and abs(ph["exif_lon"] - 121.05) < 1e-6
    with Session(migrated_engine) as s:
        row = s.get(PatrolLog, (w.worker_id, int(log["id"])))
        path = tmp_path / "data" / row.photos[0]["path"]
        assert path.read_bytes() == photo


def test_photo_that_is_not_an_image_and_too_many_photos(client, make_worker, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    fake = b"%PDF-1.4 this is not a picture" * 10
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"},
                    files=[("photos", ("looks.jpg", fake, "image/jpeg"))], headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"] == {
        "code": "photo_not_image", "message": "照片无法识别，请重新拍摄", "field": "photos.0",
        "detail": r.json()["error"]["detail"]}
    img = io.BytesIO()
    Image.new("RGB", (8, 8)).save(img, format="PNG")
    ten = [("photos", (f"{i}.png", img.getvalue(), "image/png")) for i in range(10)]
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"}, files=ten, headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_photos"
    truncated = _jpeg_with_exif(121.0, 32.0)[:200]
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"},
                    files=[("photos", ("t.jpg", truncated, "image/jpeg"))], headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"]["code"] == "photo_not_image"
    with Session(migrated_engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PatrolLog)
                        .where(PatrolLog.worker_id == w.worker_id)) == 0


def test_requests_leave_and_field_duty(client, make_worker, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    start = dt.datetime(2026, 3, 5, 8, 0, tzinfo=CST)
    leave = {"kind": "sick_leave", "start": start.isoformat(),
             "end": (start + dt.timedelta(hours=10)).isoformat(), "reason": "发烧"}
    r = client.post(f"{PREFIX}/requests", json=leave, headers=bearer(tok))
    assert r.status_code == 200 and r.json()["status"] == "requested"
    duty = {"kind": "field_duty", "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=4)).isoformat()}
    r = client.post(f"{PREFIX}/requests", json=duty, headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"]["field"] == "place"
    duty["place"] = {"lon": 121.06, "lat": 32.46, "datum": "gcj02", "radius_m": 300}
    r = client.post(f"{PREFIX}/requests", json=duty, headers=bearer(tok))
    assert r.status_code == 200 and r.json()["place"]["radius_m"] == 300
    backwards = dict(leave, end=(start - dt.timedelta(hours=1)).isoformat())
    assert client.post(f"{PREFIX}/requests", json=backwards, headers=bearer(tok)).status_code == 422
    mine = client.get(f"{PREFIX}/requests", headers=bearer(tok)).json()["items"]
    assert {m["kind"] for m in mine} == {"sick_leave", "field_duty"}
    one = client.get(f"{PREFIX}/requests/{mine[0]['id']}", headers=bearer(tok))
    assert one.status_code == 200
    with Session(migrated_engine) as s:
        e = s.scalars(sa.select(Exemption).where(Exemption.worker_id == w.worker_id,
                                                 Exemption.kind == "field_duty")).one()
        # stored in WGS-84: the GCJ-02 input was converted (hundreds of metres apart)
        assert abs(e.place.x - 121.06) > 1e-3


def test_my_day_reports_progress_against_requirement(client, make_worker, township):
    w = make_worker(role="fulltime")
    tok = login(client, w)
    c = township.grid.centroid
    now = dt.datetime.now(dt.UTC)
    items = [{"client_id": f"d-{i}", "seq": i, "recorded_at": (now - dt.timedelta(seconds=30 * (40 - i))).isoformat(),
              "lon": c.x + (i % 5) * 1e-4, "lat": c.y, "datum": "wgs84", "accuracy_m": 8.0}
             for i in range(40)]
    r = client.post(f"{PREFIX}/positions", content=json.dumps({"items": items}),
                    headers={**bearer(tok), "Content-Type": "application/json"})
    assert r.json()["accepted"] == 40
    day = client.get(f"{PREFIX}/me/day", headers=bearer(tok))
    assert day.status_code == 200, day.text
    d = day.json()
    assert d["worker_id"] == w.worker_id and d["month"] == d["date"][:7]
    assert {p["window"] for p in d["patrols"]} == {"am", "pm"}
    assert all(p["required_s"] in (0, 7200) for p in d["patrols"])
    total = sum(p["in_grid_s"] for p in d["patrols"])
    # 39 segments of 30 s inside the grid, but only the part inside the patrol windows counts
    assert 0 <= total <= 39 * 30


def test_worker_cannot_reach_another_workers_data(client, make_worker, township, migrated_engine):
    a, b = make_worker(), make_worker()
    ta, tb = login(client, a), login(client, b)
    t0 = dt.datetime.now(CST)
    pb = client.post(f"{PREFIX}/patrols", json={"client_id": "pb", "started_at": t0.isoformat()},
                     headers=bearer(tb)).json()
    rb = client.post(f"{PREFIX}/requests", json={"kind": "special", "start": t0.isoformat(),
                                                 "end": (t0 + dt.timedelta(hours=1)).isoformat()},
                     headers=bearer(tb)).json()
    # path ids of B with A's token: not found, nothing changed
    r = client.post(f"{PREFIX}/patrols/{pb['id']}/stop", json={"ended_at": t0.isoformat()}, headers=bearer(ta))
    assert r.status_code == 404
    assert client.get(f"{PREFIX}/requests/{rb['id']}", headers=bearer(ta)).status_code == 404
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x", "patrol_id": pb["id"]}, headers=bearer(ta))
    assert r.status_code == 404
    # body ids naming B are ignored: rows land on A (the token's worker) or nowhere
    c = township.grid.centroid
    item = {"client_id": "x1", "seq": 0, "recorded_at": t0.isoformat(), "lon": c.x, "lat": c.y,
            "datum": "wgs84", "worker_id": b.worker_id, "device_id": b.device_id}
    r = client.post(f"{PREFIX}/positions", content=json.dumps({"items": [item], "worker_id": b.worker_id}),
                    headers={**bearer(ta), "Content-Type": "application/json"})
    assert r.json()["accepted"] == 1
    r = client.post(f"{PREFIX}/requests", json={"kind": "special", "start": t0.isoformat(),
                                                "end": (t0 + dt.timedelta(hours=1)).isoformat(),
                                                "worker_id": b.worker_id, "status": "approved"},
                    headers=bearer(ta))
    assert r.json()["status"] == "requested"
    with Session(migrated_engine) as s:
        from checkins.positions.models import Position

        assert s.scalar(sa.select(sa.func.count()).select_from(Position).where(
            Position.worker_id == b.worker_id)) == 0
        p = s.get(PatrolSession, (b.worker_id, int(pb["id"])))
        assert p.ended_at is None and p.worker_id == b.worker_id
        assert s.scalar(sa.select(sa.func.count()).select_from(Exemption).where(
            Exemption.worker_id == b.worker_id)) == 1
    # lists only ever show the caller's own rows
    assert [x["id"] for x in client.get(f"{PREFIX}/requests", headers=bearer(ta)).json()["items"]] != [rb["id"]]
    assert rb["id"] not in {x["id"] for x in client.get(f"{PREFIX}/requests", headers=bearer(ta)).json()["items"]}


def test_my_day_without_any_fix_yet(client, make_worker):
    w = make_worker(role="parttime")
    tok = login(client, w)
    d = client.get(f"{PREFIX}/me/day", headers=bearer(tok))
    assert d.status_code == 200, d.text
    assert all(p["in_grid_s"] == 0 for p in d.json()["patrols"])
    assert d.json()["month_points"] == 0


def test_photo_bomb_is_refused_by_its_pixel_count(client, make_worker):
    w = make_worker()
    tok = login(client, w)
    img = io.BytesIO()
    Image.new("1", (7000, 7000)).save(img, format="PNG")  # 49 Mpx, a few kB on the wire
    assert len(img.getvalue()) < 200_000
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"},
                    files=[("photos", ("bomb.png", img.getvalue(), "image/png"))], headers=bearer(tok))
    assert r.status_code == 413 and r.json()["error"]["code"] == "photo_too_large"


def test_uploads_are_rate_limited_per_device(migrated_engine, tmp_path, make_worker, township):
    from fastapi.testclient import TestClient

    from server.mobile import build_mobile_app
    from tests.server.mobile.conftest import _mobile_settings, _settings

    app = build_mobile_app(migrated_engine, _settings(tmp_path),
                           _mobile_settings(upload_burst=3, upload_per_s=0.01))
    a, b = make_worker(), make_worker()
    body = json.dumps({"items": []})
    with TestClient(app) as c:
        ta, tb = login(c, a), login(c, b)
        h = {"Content-Type": "application/json"}
        codes = [c.post(f"{PREFIX}/positions", content=body, headers={**bearer(ta), **h}).status_code
                 for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        assert c.post(f"{PREFIX}/positions", content=body, headers={**bearer(tb), **h}).status_code == 200


def test_contract_edges_found_by_fuzzing(client, make_worker, township):
    """Inputs a schema fuzzer sends: each answered with a documented 4xx, never a 500."""
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    # a sign-in on a date the PRC calendar does not cover (and the profile does not either)
    r = client.post(f"{PREFIX}/signins", headers=bearer(tok), json={"client_id": "old", "fix": {
        "lon": c.x, "lat": c.y, "datum": "wgs84", "recorded_at": "2000-01-03T08:00:00+08:00"}})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["field"]) == \
        (422, "date_not_covered", "fix.recorded_at")
    # coordinates outside the earth in a sign-in: schema-invalid
    r = client.post(f"{PREFIX}/signins", headers=bearer(tok), json={"client_id": "far", "fix": {
        "lon": 1e191, "lat": 4e16, "datum": "wgs84", "recorded_at": MONDAY.isoformat()}})
    assert r.status_code == 422 and r.json()["error"]["field"] == "fix.lon"
    # a time as a number is not ISO 8601 with an offset
    r = client.post(f"{PREFIX}/patrols", headers=bearer(tok), json={"client_id": "n", "started_at": 0})
    assert r.status_code == 422 and r.json()["error"]["field"] == "started_at"
    # no token on a multipart request: 401 before the form is looked at
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": ""})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_missing"
    # a log with photos only (no text) is fine
    img = io.BytesIO()
    Image.new("RGB", (8, 8)).save(img, format="PNG")
    r = client.post(f"{PREFIX}/patrol-logs", files=[("photos", ("p.png", img.getvalue(), "image/png"))],
                    headers=bearer(tok))
    assert r.status_code == 200 and r.json()["text"] == ""
    # a body that is not UTF-8
    r = client.post(f"{PREFIX}/auth/login", content=b"\xff\xfe\x00garbage",
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["error"]["code"] in ("malformed_json", "validation_failed")


def test_method_not_allowed_lists_every_method_of_the_path(client, make_worker):
    tok = login(client, make_worker())
    r = client.request("OPTIONS", f"{PREFIX}/requests", headers=bearer(tok))
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_resent_patrol_log_and_request_are_stored_once(client, make_worker, migrated_engine):
    """Idempotent uploads: a phone that never got the answer sends the same patrol log (with
    its photo) and the same leave request again under the same client id → one row each,
    one photo file; without a client id every post is a new entry (old apps keep working)."""
    w = make_worker()
    tok = login(client, w)
    photo = _jpeg_with_exif(121.05, 32.45)
    sent = []
    for _ in range(3):
        r = client.post(f"{PREFIX}/patrol-logs", data={"text": "走访3户", "client_id": "log-1"},
                        files=[("photos", ("a.jpg", photo, "image/jpeg"))], headers=bearer(tok))
        assert r.status_code == 200, r.text
        sent.append(r.json())
    assert len({x["id"] for x in sent}) == 1
    assert [x["duplicate"] for x in sent] == [False, True, True]
    start = dt.datetime(2026, 3, 5, 8, 0, tzinfo=CST)
    leave = {"kind": "personal_leave", "start": start.isoformat(),
             "end": (start + dt.timedelta(hours=4)).isoformat(), "client_id": "req-1"}
    ids = {client.post(f"{PREFIX}/requests", json=leave, headers=bearer(tok)).json()["id"]
           for _ in range(3)}
    assert len(ids) == 1
    other = client.post(f"{PREFIX}/requests", json=leave | {"client_id": "req-2"},
                        headers=bearer(tok)).json()
    no_id = {k: v for k, v in leave.items() if k != "client_id"}
    twice = [client.post(f"{PREFIX}/requests", json=no_id, headers=bearer(tok)).json()["id"]
             for _ in range(2)]
    with Session(migrated_engine) as s:
        logs = list(s.scalars(sa.select(PatrolLog).where(PatrolLog.worker_id == w.worker_id)))
        reqs = list(s.scalars(sa.select(Exemption).where(Exemption.worker_id == w.worker_id)))
    assert len(logs) == 1 and len(logs[0].photos) == 1
    assert len(reqs) == 4 and other["id"] not in ids and len(set(twice)) == 2


def test_my_day_lists_geo_spoof_review_flags(client, make_worker, township, monkeypatch):
    """25 fixes 30 s apart, ~19 m apart, all at 10.0 m accuracy (an emulator; the phone's
    platform is unknown), then 5 fixes ~51 km east: today's flags show one
    ``constant_accuracy`` and one ``jump`` (GEO-SPOOF, kind suspect_fix), nothing left out.
    "Today" is yesterday at 10:00 in China, so the 15 minutes of fixes before it never
    straddle midnight (whenever the test runs)."""
    import server.mobile.routes as routes

    now = dt.datetime.combine(dt.datetime.now(CST).date() - dt.timedelta(days=1), dt.time(10), CST)
    monkeypatch.setattr(routes, "_now", lambda: now.astimezone(dt.UTC))
    w = make_worker(role="fulltime")
    tok = login(client, w)
    c = township.grid.centroid
    lons = [c.x + 2e-4 * i for i in range(25)] + [c.x + 0.55 + 2e-4 * k for k in range(5)]
    accs = [10.0] * 25 + [7.3 + 0.6 * k for k in range(5)]
    items = [{"client_id": f"s-{i}", "seq": i,
              "recorded_at": (now - dt.timedelta(seconds=30 * (30 - i))).isoformat(),
              "lon": lon, "lat": c.y, "datum": "wgs84", "accuracy_m": acc}
             for i, (lon, acc) in enumerate(zip(lons, accs, strict=True))]
    r = client.post(f"{PREFIX}/positions", content=json.dumps({"items": items}),
                    headers={**bearer(tok), "Content-Type": "application/json"})
    assert r.json()["accepted"] == 30
    d = client.get(f"{PREFIX}/me/day", headers=bearer(tok))
    assert d.status_code == 200, d.text
    spoof = [f for f in d.json()["flags"] if f["rule"] == "GEO-SPOOF"]
    assert [(f["kind"], f["detail"]) for f in spoof] == [
        ("suspect_fix", "constant_accuracy"), ("suspect_fix", "jump")]


def test_my_day_labels_an_earlier_days_crosspost_as_geo_crosspost(client, make_worker, migrated_engine,
                                                                   monkeypatch):
    """Earlier days' off-post intervals come from the stored day entries: each keeps the rule
    of its kind (it used to read GEO-OFFPOST for a 串岗 too)."""
    import server.mobile.routes as routes
    from checkins.evaluation.models import DayResult

    now = dt.datetime(2026, 3, 20, 10, 0, tzinfo=CST)
    monkeypatch.setattr(routes, "_now", lambda: now.astimezone(dt.UTC))
    w = make_worker(role="fulltime")
    tok = login(client, w)
    entry = {"offpost": [
        {"rule": "GEO-CROSSPOST", "kind": "crosspost", "start": "2026-03-03T09:00:00+08:00",
         "end": "2026-03-03T10:00:00+08:00", "other_grid_id": "g2"},
        {"rule": "GEO-OFFPOST", "kind": "offpost", "start": "2026-03-04T09:00:00+08:00",
         "end": "2026-03-04T10:00:00+08:00", "other_grid_id": None}], "deductions": []}
    with Session(migrated_engine) as s:
        for d in (dt.date(2026, 3, 3), dt.date(2026, 3, 4)):
            s.add(DayResult(worker_id=w.worker_id, work_date=d, result=entry, provisional=False,
                            evaluated_at=now, needs_reevaluation=False))
        s.commit()
    d = client.get(f"{PREFIX}/me/day", headers=bearer(tok))
    assert d.status_code == 200, d.text
    off = [(f["kind"], f["rule"]) for f in d.json()["flags"] if f["kind"] in ("offpost", "crosspost")]
    assert ("crosspost", "GEO-CROSSPOST") in off and ("offpost", "GEO-OFFPOST") in off
    assert all(rule == {"crosspost": "GEO-CROSSPOST", "offpost": "GEO-OFFPOST"}[k] for k, rule in off)
