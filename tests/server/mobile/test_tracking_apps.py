"""Tracking apps as clients: Traccar Client (OsmAnd protocol) and OwnTracks (HTTP mode).

Payloads replay the shapes the clients' own repositories test with, with this township's
coordinates and a recent time put in (the originals lie outside any grid and years back,
beyond the 180-day storage window):

* traccar/traccar ``src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java``
  (``testDecodeQuery``: ``/?id=902064&lat=..&lon=..&timestamp=2016-01-27T18%3A55%3A47Z&hdop=6.0
  &altitude=224.0&speed=0.0``, epoch-ms ``timestamp=1442068686579``, ``timestamp=2014-06-04+09%3A10%3A11``,
  ``batt=87``, ``location=60.0,30.0``, a message without position ``/?id=123456&timestamp=..``;
  ``testDecodeJson``: the Traccar Client 9 object ``{"location": {"timestamp", "coords":
  {"latitude", "longitude", "accuracy", "speed", "heading", "altitude"}, "is_moving",
  "battery": {"level", "is_charging"}, "uuid", "mock"}, "device_id"}``);
* traccar.org/osmand (the JSON format; "speed in m/s", "battery level 0 to 1");
* traccar/traccar ``OwnTracksProtocolDecoderTest.java`` and owntracks.org/booklet/tech/json
  (``{"_type":"location","acc":15,"alt":440,"batt":46,"conn":"w","lat":..,"lon":..,"t":"u",
  "tid":"5t","tst":1551874878,"vac":2,"vel":0}``; ``vel`` km/h, ``bs`` battery status).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.audit.models import AuditLog
from checkins.auth.ingest_tokens import issue_ingest_token
from checkins.auth.phone import revoke_device
from checkins.positions.models import Position
from tests.server.mobile.conftest import _mobile_settings, _settings

pytestmark = pytest.mark.db


@pytest.fixture
def app_client(migrated_engine, tmp_path):  # type: ignore[no-untyped-def]
    from server.ingest import register
    from server.mobile import build_mobile_app

    app = build_mobile_app(migrated_engine, _settings(tmp_path), _mobile_settings())
    register(app)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def phone(migrated_engine, make_worker):  # type: ignore[no-untyped-def]
    """Factory: a worker's phone approved for an app; (worker, issued token)."""

    def make(app: str = "traccar"):  # type: ignore[no-untyped-def]
        w = make_worker()
        with Session(migrated_engine) as s:
            issued = issue_ingest_token(s, worker_id=w.worker_id, app=app, actor="test")
            s.commit()
        return w, issued

    return make


def _rows(engine, device_id: int) -> list:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(sa.select(Position).where(Position.device_id == device_id)
                         .order_by(Position.recorded_at)).scalars().all()


def _recent(minutes: float = 30) -> dt.datetime:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)).replace(microsecond=0)


def test_query_string_units_and_time_forms(app_client, phone, township, migrated_engine):
    """GET with traccar's query shapes: knots, batt 0-100 and 0-1, accuracy 0, four time forms."""
    w, tok = phone()
    c = township.grid.centroid
    t = _recent()
    url = f"/api/ingest/osmand/{tok.token}"
    iso = quote(t.strftime("%Y-%m-%dT%H:%M:%SZ"))
    shapes = [
        f"?id=902064&lat={c.y}&lon={c.x}&timestamp={iso}&hdop=6.0&altitude=224.0&speed=10.0&accuracy=0",
        f"?id=902064&lat={c.y}&lon={c.x}&timestamp={int(t.timestamp()) * 1000 + 60000}&hdop=6.0&altitude=224.0&speed=0.0",
        f"?lat={c.y}&lon={c.x}&timestamp={quote((t + dt.timedelta(minutes=2)).strftime('%Y-%m-%d %H:%M:%S'))}&altitude=384.7&speed=0.0&id=353861053849681",
        f"?id=861001000719969&lat={c.y}&lon={c.x}&timestamp={int(t.timestamp()) + 180}&altitude=350.059479&speed=0.000000&batt=87&accuracy=12",
        f"?id=123456&timestamp={int(t.timestamp()) + 240}&location={c.y},{c.x}&batt=0.5&charge=true",
    ]
    for q in shapes:
        r = app_client.get(url + q)
        assert r.status_code == 200, r.text
        assert r.json()["accepted"] == 1
    rows = _rows(migrated_engine, tok.device_id)
    assert [r.recorded_at for r in rows] == [t + dt.timedelta(minutes=k) for k in range(5)]
    assert all(r.kind == "fix" and r.grid_id == township.grid_id and r.datum == "wgs84"
               and r.seq is None and r.worker_id == w.worker_id for r in rows)
    assert rows[0].speed_mps == pytest.approx(10 * 1852 / 3600)  # knots
    assert rows[0].accuracy_m is None  # accuracy=0 means unknown
    assert rows[3].accuracy_m == 12 and rows[3].battery_pct == 87
    assert rows[4].battery_pct == 50 and rows[4].charging is True  # 0-1 read as a fraction
    assert rows[4].lat == pytest.approx(c.y) and rows[4].lon == pytest.approx(c.x)


def test_form_body_resend_is_duplicate(app_client, phone, township, migrated_engine):
    """POST form body (older Traccar Client); the same fix again is a duplicate, stored once."""
    _, tok = phone()
    c = township.grid.centroid
    body = f"id=1&lat={c.y}&lon={c.x}&timestamp={int(_recent().timestamp())}&speed=1.0"
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    r1 = app_client.post(f"/api/ingest/osmand/{tok.token}", content=body, headers=h)
    r2 = app_client.post(f"/api/ingest/osmand/{tok.token}", content=body, headers=h)
    assert (r1.status_code, r2.status_code) == (200, 200)
    assert (r1.json()["accepted"], r2.json()["duplicates"]) == (1, 1)
    assert len(_rows(migrated_engine, tok.device_id)) == 1


def _tc9(t: dt.datetime, lat: float, lon: float, **loc) -> dict:  # type: ignore[no-untyped-def]
    """Traccar Client 9's message (testDecodeJson's shape)."""
    body = {"timestamp": t.isoformat().replace("+00:00", ".000Z"),
            "coords": {"latitude": lat, "longitude": lon, "accuracy": 3.8, "speed": 18.67,
                       "speed_accuracy": 0.26, "heading": 63, "heading_accuracy": 0.28,
                       "altitude": 35.7, "altitude_accuracy": 3.8},
            "is_moving": False, "odometer": 0, "event": "motionchange",
            "activity": {"type": "still", "confidence": 100},
            "battery": {"is_charging": False, "level": 0.79}, "extras": {}}
    body.update(loc)
    return {"location": body, "device_id": "8737767034"}


def test_json_object_and_array_with_uuid(app_client, phone, township, migrated_engine):
    """The JSON object (m/s, level 0-1, uuid, mock) and an array of them; a resend of the array."""
    _, tok = phone()
    c = township.grid.centroid
    t = _recent()
    one = _tc9(t, c.y, c.x, uuid="0e9a2473-a9a7-4c00-997b-fb97d2154e75", mock=True)
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", json=one)
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    batch = [_tc9(t + dt.timedelta(seconds=30 * k), c.y, c.x + 1e-5 * k,
                  uuid=f"2FB04C65-99CF-42AB-8DD3-EBCB4B108B{k:02d}") for k in range(1, 4)]
    batch[1]["location"]["battery"] = {"level": -1, "is_charging": False}  # unknown
    batch[2]["location"]["coords"]["accuracy"] = 0  # unknown
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", json=batch)
    assert r.json()["accepted"] == 3
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", json=batch)
    assert (r.status_code, r.json()["accepted"], r.json()["duplicates"]) == (200, 0, 3)
    rows = _rows(migrated_engine, tok.device_id)
    assert len(rows) == 4
    assert rows[0].client_id == "j:0e9a2473-a9a7-4c00-997b-fb97d2154e75"
    assert rows[0].suspect and rows[0].suspect_reason == "mock_location"
    assert rows[0].speed_mps == pytest.approx(18.67) and rows[0].battery_pct == 79
    assert rows[2].battery_pct is None and rows[3].accuracy_m is None
    assert [r.recorded_at for r in rows] == [t + dt.timedelta(seconds=30 * k) for k in range(4)]


def test_message_without_position_is_a_heartbeat(app_client, phone, migrated_engine):
    """``/?id=123456&timestamp=..`` (traccar's verifyNotNull case) and a JSON without coords."""
    _, tok = phone()
    t = _recent()
    r = app_client.get(f"/api/ingest/osmand/{tok.token}?id=123456&timestamp={int(t.timestamp())}&batt=41")
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", json={
        "location": {"timestamp": (t + dt.timedelta(minutes=5)).isoformat(),
                     "battery": {"level": 0.4, "is_charging": True}, "uuid": "hb-1"},
        "device_id": "1"})
    assert r.json()["accepted"] == 1
    rows = _rows(migrated_engine, tok.device_id)
    assert [(r.kind, r.battery_pct, r.charging, r.geom) for r in rows] == [
        ("heartbeat", 41, None, None), ("heartbeat", 40, True, None)]


def test_wrong_and_revoked_tokens(app_client, phone, township, migrated_engine):
    """A wrong secret or unknown key is 401, a revoked phone 403; nothing is stored."""
    _, tok = phone()
    c = township.grid.centroid
    q = f"?lat={c.y}&lon={c.x}&timestamp={int(_recent().timestamp())}"
    assert app_client.get(f"/api/ingest/osmand/{tok.key}.wrong{q}").status_code == 401
    assert app_client.get(f"/api/ingest/osmand/nosuchkey.{tok.secret}{q}").status_code == 401
    assert app_client.get(f"/api/ingest/osmand/{tok.secret}{q}").status_code == 401
    assert app_client.get(f"/api/ingest/osmand/{tok.token}{q}").status_code == 200
    with Session(migrated_engine) as s:
        revoke_device(s, device_id=tok.device_id, actor="test", reason="lost phone")
        s.commit()
    r = app_client.get(f"/api/ingest/osmand/{tok.token}{q}&timestamp=1")
    assert r.status_code == 403 and r.json()["error"]["code"] == "ingest_token_revoked"
    assert len(_rows(migrated_engine, tok.device_id)) == 1
    # another app's token does not open this one
    _, ot = phone("owntracks")
    assert app_client.get(f"/api/ingest/osmand/{ot.token}{q}").status_code == 401


def test_refused_items_answer_2xx_and_are_kept_for_the_office(app_client, phone, township,
                                                              migrated_engine):
    """Unreadable values and data older than retention: 200 (resending would not help),
    the reason in the audit log; the readable items of the same array are stored."""
    _, tok = phone()
    c = township.grid.centroid
    r = app_client.get(f"/api/ingest/osmand/{tok.token}?lat=abc&lon={c.x}&timestamp=1")
    assert r.status_code == 200 and r.json()["rejected"][0]["reason"] == "invalid_format"
    old = _tc9(dt.datetime(2016, 1, 27, 18, 55, 47, tzinfo=dt.UTC), c.y, c.x, uuid="old")
    new = _tc9(_recent(), c.y, c.x, uuid="new")
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", json=[old, "junk", new])
    assert r.status_code == 200
    assert r.json()["accepted"] == 1
    assert sorted(x["reason"] for x in r.json()["rejected"]) == ["invalid_type", "older_than_retention"]
    r = app_client.post(f"/api/ingest/osmand/{tok.token}", content=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["rejected"][0]["reason"] == "malformed_json"
    with Session(migrated_engine) as s:
        kept = s.scalars(sa.select(AuditLog).where(AuditLog.action == "ingest.rejected",
                                                   AuditLog.entity_id == str(tok.device_id))).all()
    reasons = [it["reason"] for a in kept for it in a.after["items"]]
    assert sorted(reasons) == ["invalid_format", "invalid_type", "malformed_json",
                               "older_than_retention"]
    assert [r.client_id for r in _rows(migrated_engine, tok.device_id)] == ["j:new"]


def test_transient_failure_is_503_with_retry_after(app_client, phone, township, migrated_engine,
                                                   monkeypatch):
    """A database failure answers 503 + Retry-After (the app keeps the fix); the retry stores it."""
    from checkins.positions import ingest

    _, tok = phone()
    c = township.grid.centroid
    url = f"/api/ingest/osmand/{tok.token}?lat={c.y}&lon={c.x}&timestamp={int(_recent().timestamp())}"
    real = ingest.ingest_batch

    def down(*a, **k):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(ingest, "ingest_batch", down)
    r = app_client.get(url)
    assert r.status_code == 503 and r.headers["retry-after"] == "30"
    assert _rows(migrated_engine, tok.device_id) == []
    monkeypatch.setattr(ingest, "ingest_batch", real)
    assert app_client.get(url).json()["accepted"] == 1


def _basic(user: str, pw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode(),
            "X-Limit-U": user, "X-Limit-D": "phone", "Content-Type": "application/json"}


def test_owntracks_location_transition_and_others(app_client, phone, township, migrated_engine):
    """vel km/h, tst, batt, bs 2 = charging, conn; transition stored as a fix; waypoint and
    card acknowledged; the answer is always []; a resend (same _id) is a duplicate."""
    _, tok = phone("owntracks")
    h = _basic(tok.key, tok.secret)
    c = township.grid.centroid
    tst = int(_recent().timestamp())
    loc = {"_type": "location", "acc": 15, "alt": 440, "batt": 46, "bs": 2, "conn": "w",
           "lat": c.y, "lon": c.x, "t": "u", "tid": "5t", "tst": tst, "vac": 2, "vel": 36}
    r = app_client.post("/api/ingest/owntracks", content=json.dumps(loc), headers=h)
    assert (r.status_code, r.json()) == (200, [])
    tr = {"_type": "transition", "wtst": tst - 100, "lat": c.y, "lon": c.x + 1e-4,
          "tst": tst + 60, "acc": 20, "tid": "JP", "event": "enter", "desc": "村委会", "t": "c"}
    assert app_client.post("/api/ingest/owntracks", content=json.dumps(tr), headers=h).json() == []
    for other in ({"_type": "waypoint", "desc": "家", "lat": 1, "lon": 2, "rad": 50, "tst": tst},
                  {"_type": "card", "name": "x"}):
        r = app_client.post("/api/ingest/owntracks", content=json.dumps(other), headers=h)
        assert (r.status_code, r.json()) == (200, [])
    assert app_client.post("/api/ingest/owntracks", content=b"", headers=h).status_code == 200
    with_id = dict(loc, tst=tst + 120, _id="a1b2c3d4", bs=1, conn="m")
    for _ in range(2):
        assert app_client.post("/api/ingest/owntracks", content=json.dumps(with_id),
                               headers=h).status_code == 200
    rows = _rows(migrated_engine, tok.device_id)
    assert [r.client_id for r in rows] == [f"wt:{tst * 1000}", f"wt:{(tst + 60) * 1000}", "w:a1b2c3d4"]
    first = rows[0]
    assert first.speed_mps == pytest.approx(10.0) and first.accuracy_m == 15
    assert (first.battery_pct, first.charging, first.network) == (46, True, "wifi")
    assert (rows[2].charging, rows[2].network) == (False, "cellular")
    assert all(r.grid_id == township.grid_id for r in rows)


def test_owntracks_auth(app_client, phone, township):
    """Wrong password: 401 with a Basic challenge; a traccar secret is not an OwnTracks one."""
    _, tok = phone("owntracks")
    body = json.dumps({"_type": "location", "lat": 1.0, "lon": 2.0, "tst": 1})
    r = app_client.post("/api/ingest/owntracks", content=body, headers=_basic(tok.key, "nope"))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    assert app_client.post("/api/ingest/owntracks", content=body,
                           headers={"Content-Type": "application/json"}).status_code == 401
    _, tt = phone("traccar")
    assert app_client.post("/api/ingest/owntracks", content=body,
                           headers=_basic(tt.key, tt.secret)).status_code == 401


def test_cli_ingest_token(app_client, make_worker, township, migrated_engine, database_url,
                          monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``gridpatrol device ingest-token`` prints a working secret; a bad app or worker is refused."""
    from typer.testing import CliRunner

    from server.cli import app
    from server.settings import get_settings

    w = make_worker()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("GRIDPATROL_DEMO_ON_EMPTY", "false")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(app, ["device", "ingest-token", "--worker", w.worker_id, "--app",
                                "owntracks", "--base-url", "https://gp.example"])
        assert r.exit_code == 0, r.output
        assert "https://gp.example/api/ingest/owntracks" in r.output
        user = next(x.split(": ")[1] for x in r.output.splitlines() if x.startswith("user: "))
        pw = next(x.split(": ")[1] for x in r.output.splitlines() if x.startswith("password: "))
        c = township.grid.centroid
        body = json.dumps({"_type": "location", "lat": c.y, "lon": c.x,
                           "tst": int(_recent().timestamp())})
        assert app_client.post("/api/ingest/owntracks", content=body,
                               headers=_basic(user, pw)).status_code == 200
        assert runner.invoke(app, ["device", "ingest-token", "--worker", w.worker_id, "--app",
                                   "whatsapp"]).exit_code == 2
        assert runner.invoke(app, ["device", "ingest-token", "--worker", "nobody"]).exit_code == 2
    finally:
        get_settings.cache_clear()
