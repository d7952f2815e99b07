"""Example requests and responses of every mobile endpoint, and their replay.

Each file in ``examples/`` is one exchange, replayed in file-name order against a fresh
example township (:func:`seed_example_township`), traccar decoder-test style:

```
{"name": ..., "description": ...,
 "request": {"method": "POST", "path": "/api/mobile/v1/...", "auth": true,
             "json": {...} | "body": "raw text" | "multipart": {"data": {...}, "files": [...]},
             "headers": {...}},
 "response": {"status": 200, "body": {...}},
 "capture": {"patrol_id": "id"}}
```

Placeholders: ``{{name}}`` in a request is replaced by a captured value (``access_token``,
``refresh_token``, ``patrol_id``, ...); ``{{time:-600}}`` by the current time plus the given
seconds (ISO 8601, +08:00). In a response, ``{{any}}`` matches any value; everything else
must be equal. ``python -m mobile_api_spec.examples --record`` rewrites the files from the
code (check the diff before committing it).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
ANY = "{{any}}"
CST = dt.timezone(dt.timedelta(hours=8))

EXAMPLE_PHONE = "13800000001"
EXAMPLE_PASSWORD = "example-password-1"
EXAMPLE_DEVICE = "ex-phone-0001"
EXAMPLE_PHONE_2 = "13800000002"  # ex-w2: no account yet, an activation code from the office
EXAMPLE_CODE = "7K3M-9QXD-2PHR"
OFFICE_LON, OFFICE_LAT = 121.05, 32.45


def seed_example_township(session: Any) -> None:
    """Township ``ex``, village ``ex-v1`` (office at 121.05 E 32.45 N), grid ``ex-g1``,
    worker ``ex-w1`` (fulltime) with an approved phone, worker ``ex-w2`` (parttime, its own
    tier cohort) with no account yet and the activation code :data:`EXAMPLE_CODE`; idempotent."""
    import shapely

    from checkins.auth import phone as auth
    from checkins.auth.accounts import normalize_code
    from checkins.auth.models import ActivationCode
    from checkins.auth.tokens import hash_password
    from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

    if session.get(Worker, "ex-w1") is not None:
        return
    session.add(Township(township_id="ex", name="示例镇"))
    session.flush()
    session.add(Village(village_id="ex-v1", township_id="ex", name="示例村",
                        office=shapely.Point(OFFICE_LON, OFFICE_LAT), radius_m=150.0))
    session.flush()
    session.add(Grid(grid_id="ex-g1", village_id="ex-v1", name="示例网格",
                     geom=shapely.box(OFFICE_LON - 0.004, OFFICE_LAT - 0.003,
                                      OFFICE_LON + 0.004, OFFICE_LAT + 0.003)))
    session.add(Worker(worker_id="ex-w1", name="张三", phone=EXAMPLE_PHONE, role="fulltime",
                       village_id="ex-v1"))
    session.flush()
    session.add(GridAssignment(worker_id="ex-w1", grid_id="ex-g1", valid_from=dt.date(2020, 1, 1)))
    session.add(Worker(worker_id="ex-w2", name="李四", phone=EXAMPLE_PHONE_2, role="parttime",
                       village_id="ex-v1"))
    session.flush()
    session.add(GridAssignment(worker_id="ex-w2", grid_id="ex-g1", valid_from=dt.date(2020, 1, 1)))
    session.add(ActivationCode(worker_id="ex-w2", code_hash=hash_password(
        normalize_code(EXAMPLE_CODE)), created_by="example",
        expires_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)))
    auth.set_password(session, "ex-w1", EXAMPLE_PASSWORD)
    auth.register_device(session, worker_id="ex-w1", device_uid=EXAMPLE_DEVICE, approved=True,
                         actor="example")
    # an office-entered case dispatched to ex-w1: the instruction examples act on it
    from checkins.cases import service as cases
    from checkins.cases.models import Case

    case = Case(reported_by_office="example", category="矛盾纠纷", text="邻里纠纷，需上门调解",
                lon=OFFICE_LON + 0.001, lat=OFFICE_LAT + 0.001, datum="wgs84",
                geom=shapely.Point(OFFICE_LON + 0.001, OFFICE_LAT + 0.001), grid_id="ex-g1",
                village_id="ex-v1", status="accepted", valid=True,
                reported_at=dt.datetime.now(dt.UTC), accepted_at=dt.datetime.now(dt.UTC))
    session.add(case)
    session.flush()
    cases.dispatch(session, case.id, scope=cases.Scope("ex-v1"), actor="example", worker_id="ex-w1",
                   place_text="示例村3组12号", note="今天上午上门")
    session.commit()


def example_photo() -> bytes:
    """A tiny JPEG with EXIF capture time and GPS position (the example's photo)."""
    from PIL import Image

    img = Image.new("RGB", (16, 12), (90, 140, 60))
    exif = Image.Exif()
    exif[306] = "2026:03:02 09:15:00"
    exif[0x8825] = {1: "N", 2: (32.0, 27.0, 0.0), 3: "E", 4: (121.0, 3.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif, quality=50)
    return buf.getvalue()


_VAR = re.compile(r"\{\{([a-z_]+|time:[-+]?\d+)\}\}")


def _subst(value: Any, env: dict[str, Any], now: dt.datetime) -> Any:
    if isinstance(value, str):
        def rep(m: re.Match[str]) -> str:
            key = m.group(1)
            if key.startswith("time:"):
                t = now + dt.timedelta(seconds=int(key[5:]))
                return t.astimezone(CST).replace(microsecond=0).isoformat()
            return str(env[key])
        return _VAR.sub(rep, value)
    if isinstance(value, dict):
        return {k: _subst(v, env, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_subst(v, env, now) for v in value]
    return value


def match(expected: Any, actual: Any, path: str = "$") -> list[str]:
    """Differences between an example response and a real one (``{{any}}`` matches all)."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        out = []
        for k in expected.keys() | actual.keys():
            if k not in actual:
                out.append(f"{path}.{k}: missing in the answer")
            elif k not in expected:
                out.append(f"{path}.{k}: not in the example (add it: {actual[k]!r})")
            else:
                out += match(expected[k], actual[k], f"{path}.{k}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for d in match(e, a, f"{path}[{i}]")]
    if isinstance(expected, float) and isinstance(actual, int | float):
        return [] if abs(expected - actual) <= 1e-6 * max(1.0, abs(expected)) else [
            f"{path}: expected {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def load_examples() -> list[tuple[str, dict[str, Any]]]:
    """(file name, example) pairs in replay order."""
    return [(p.name, json.loads(p.read_text(encoding="utf-8")))
            for p in sorted(EXAMPLES_DIR.glob("*.json"))]


def send(client: Any, ex: dict[str, Any], env: dict[str, Any], now: dt.datetime) -> Any:
    """Send an example's request through ``client`` (an httpx client or TestClient)."""
    req = _subst(ex["request"], env, now)
    headers = dict(req.get("headers", {}))
    if req.get("auth"):
        headers["Authorization"] = f"Bearer {env['access_token']}"
    kw: dict[str, Any] = {"headers": headers}
    if "json" in req:
        kw["json"] = req["json"]
    elif "body" in req:
        kw["content"] = req["body"]
    elif "multipart" in req:
        mp = req["multipart"]
        kw["data"] = mp.get("data", {})
        kw["files"] = [(f["field"], (f["filename"], base64.b64decode(f["content_base64"]),
                                     f["content_type"])) for f in mp.get("files", [])]
    if "params" in req:
        kw["params"] = req["params"]
    return client.request(req["method"], req["path"], **kw)


def _capture(ex: dict[str, Any], body: Any, env: dict[str, Any]) -> None:
    for var, key in ex.get("capture", {}).items():
        node = body
        for part in key.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        env[var] = node


def replay(client: Any, now: dt.datetime | None = None) -> dict[str, list[str]]:
    """Replay every example in order; return file name -> differences (empty when equal)."""
    now = now or dt.datetime.now(dt.UTC)
    env: dict[str, Any] = {}
    diffs: dict[str, list[str]] = {}
    for name, ex in load_examples():
        r = send(client, ex, env, now)
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else r.text
        d = [] if r.status_code == ex["response"]["status"] else [
            f"status: expected {ex['response']['status']}, got {r.status_code}: {r.text[:300]}"]
        d += match(ex["response"]["body"], body)
        diffs[name] = d
        if r.status_code < 400:
            _capture(ex, body, env)
    return diffs


# ------------------------------------------------------------------ recording
_VOLATILE = {"access_token", "refresh_token", "server_time", "created_at", "date", "month",
             "device_id", "worker_id_any"}


_EXPORT_VOLATILE = {"id", "generated_at", "received_at", "registered_at", "decided_at",
                    "last_seen_at", "requested_at", "at", "signed_at", "started_at",
                    "ended_at", "written_at", "recorded_at", "revoked_at", "evaluated_at",
                    "positions_by_day", "device_id", "session_id", "patrol_session_id",
                    "entity_id", "start_at", "end_at", "photos", "after", "before", "timezone",
                    "count", "items", "worker_id", "worker", "client_id", "case_id", "deadline_at"}


def _scrub(body: Any, ids: set[str]) -> Any:
    if isinstance(body, dict):
        return {k: (ANY if (k in _VOLATILE or (k in ids and v is not None)) else _scrub(v, ids))
                for k, v in body.items()}
    if isinstance(body, list):
        return [_scrub(v, ids) for v in body]
    return body


def _photo_b64() -> str:
    return base64.b64encode(example_photo()).decode()


def scripted_flow() -> list[tuple[str, dict[str, Any], set[str]]]:
    """The examples to record: (file stem, example without response, keys to scrub)."""
    v1 = "/api/mobile/v1"
    login_body = {"phone": EXAMPLE_PHONE, "password": EXAMPLE_PASSWORD, "device_uid": EXAMPLE_DEVICE,
                  "device_model": "Huawei nova 9"}
    c = (OFFICE_LON, OFFICE_LAT)
    fixes = [
        {"client_id": "ex-phone-0001-100", "seq": 100, "kind": "fix", "recorded_at": "{{time:-900}}",
         "lon": c[0] + 0.0011, "lat": c[1] + 0.0004, "datum": "wgs84", "accuracy_m": 6.5,
         "speed_mps": 1.1, "mock": False},
        {"client_id": "ex-phone-0001-101", "seq": 101, "kind": "fix", "recorded_at": "{{time:-870}}",
         "lon": c[0] + 0.0015, "lat": c[1] + 0.0006, "datum": "gcj02", "accuracy_m": 9.0,
         "speed_mps": 1.3, "mock": False},
        {"client_id": "ex-phone-0001-102", "seq": 102, "kind": "heartbeat", "recorded_at": "{{time:-840}}",
         "battery_pct": 41, "charging": False, "network": "4g", "gps_on": True, "app_state": "background"},
        {"client_id": "ex-phone-0001-103", "seq": 103, "kind": "fix", "recorded_at": "{{time:-810}}",
         "lon": 0.0, "lat": 0.0, "datum": "wgs84", "accuracy_m": 5.0, "mock": False},
        {"client_id": "ex-phone-0001-104", "seq": 104, "kind": "fix", "recorded_at": "2026-03-02T08:30:00",
         "lon": c[0], "lat": c[1], "datum": "wgs84", "accuracy_m": 5.0},
        {"client_id": "ex-phone-0001-105", "seq": 105, "kind": "fix", "recorded_at": "{{time:-780}}",
         "lon": c[0], "lat": c[1], "datum": "utm50n", "accuracy_m": 5.0},
        {"client_id": "ex-phone-0001-100", "seq": 100, "kind": "fix", "recorded_at": "{{time:-900}}",
         "lon": c[0] + 0.0011, "lat": c[1] + 0.0004, "datum": "wgs84", "accuracy_m": 6.5,
         "speed_mps": 1.1, "mock": False},
    ]
    signin_fix = {"lon": c[0] + 0.0008, "lat": c[1] + 0.0002, "datum": "wgs84", "accuracy_m": 12.0,
                  "recorded_at": "2026-03-02T08:31:05+08:00", "mock": False}
    return [
        ("01_login_new_phone_pending", {
            "name": "login from a phone not yet approved",
            "description": "A new phone is registered as pending; the village office must approve it.",
            "request": {"method": "POST", "path": f"{v1}/auth/login",
                        "json": dict(login_body, device_uid="ex-phone-new-0002")}}, set()),
        ("02_login", {
            "name": "login", "description": "Phone number + password from the approved phone.",
            "request": {"method": "POST", "path": f"{v1}/auth/login", "json": login_body},
            "capture": {"access_token": "access_token", "refresh_token": "refresh_token"}}, set()),
        ("03_refresh", {
            "name": "refresh", "description": "Each refresh token works once; reuse ends the session.",
            "request": {"method": "POST", "path": f"{v1}/auth/refresh",
                        "json": {"refresh_token": "{{refresh_token}}"}},
            "capture": {"access_token": "access_token", "refresh_token": "refresh_token"}}, set()),
        ("04_me", {"name": "who am I", "description": "The token's worker and phone.",
                   "request": {"method": "GET", "path": f"{v1}/me", "auth": True}}, set()),
        ("05_assignment_gcj02", {
            "name": "today's assignment in GCJ-02",
            "description": "Grid polygon and office geofence in the datum the app's map uses.",
            "request": {"method": "GET", "path": f"{v1}/me/assignment", "auth": True,
                        "params": {"datum": "gcj02"}}}, {"working_day"}),
        ("06_signin", {
            "name": "sign-in (签到)", "description": "Answered at once: counts or why not.",
            "request": {"method": "POST", "path": f"{v1}/signins", "auth": True,
                        "json": {"client_id": "ex-phone-0001-s-20260302", "fix": signin_fix}}},
         {"id"}),
        ("07_patrol_start", {
            "name": "start a patrol", "description": "Idempotent on client_id.",
            "request": {"method": "POST", "path": f"{v1}/patrols", "auth": True,
                        "json": {"client_id": "ex-phone-0001-p-1", "started_at": "2026-03-02T09:00:00+08:00"}},
            "capture": {"patrol_id": "id"}}, {"id"}),
        ("08_positions", {
            "name": "upload positions",
            "description": ("Each item answered on its own: stored (accepted; with a GEO-VALID reason "
                            "when kept but unusable), duplicate, or rejected with reason and field."),
            "request": {"method": "POST", "path": f"{v1}/positions", "auth": True,
                        "json": {"items": fixes}}}, set()),
        ("09_positions_resent", {
            "name": "the same batch again", "description": "A retry: every stored item is a duplicate.",
            "request": {"method": "POST", "path": f"{v1}/positions", "auth": True,
                        "json": {"items": fixes[:4]}}}, set()),
        ("10_patrol_stop", {
            "name": "stop the patrol", "description": "Another worker's patrol id would be 404.",
            "request": {"method": "POST", "path": f"{v1}/patrols/{{{{patrol_id}}}}/stop", "auth": True,
                        "json": {"ended_at": "2026-03-02T11:05:00+08:00"}}}, {"id"}),
        ("11_patrol_log", {
            "name": "patrol log (巡查日志) with a photo",
            "description": "multipart/form-data; photos checked by content; EXIF time and position kept.",
            "request": {"method": "POST", "path": f"{v1}/patrol-logs", "auth": True,
                        "multipart": {"data": {"text": "巡查正常，无安全隐患", "patrol_id": "{{patrol_id}}"},
                                      "files": [{"field": "photos", "filename": "IMG_0001.jpg",
                                                 "content_type": "image/jpeg",
                                                 "content_base64": _photo_b64()}]}}},
         {"id", "patrol_session_id"}),
        ("12_request_field_duty", {
            "name": "ask for field duty (外勤)", "description": "With its place; status starts as requested.",
            "request": {"method": "POST", "path": f"{v1}/requests", "auth": True,
                        "json": {"kind": "field_duty", "start": "2026-03-03T08:00:00+08:00",
                                 "end": "2026-03-03T12:00:00+08:00", "reason": "县里开会",
                                 "place": {"lon": 120.8941, "lat": 32.0127, "datum": "gcj02",
                                           "radius_m": 300}}},
            "capture": {"request_id": "id"}}, {"id"}),
        ("13_requests_list", {
            "name": "my requests", "description": "Newest first.",
            "request": {"method": "GET", "path": f"{v1}/requests", "auth": True}}, {"id"}),
        ("14_request_get", {
            "name": "one request", "description": "Another worker's request id would be 404.",
            "request": {"method": "GET", "path": f"{v1}/requests/{{{{request_id}}}}", "auth": True}},
         {"id"}),
        ("15_my_day", {
            "name": "my day", "description": "Patrol progress so far, flags, month's points.",
            "request": {"method": "GET", "path": f"{v1}/me/day", "auth": True}},
         {"patrols", "signin_status", "flags", "provisional"}),
        ("15a_my_score", {
            "name": "my score sheet of a quarter",
            "description": ("Items, caps, the trail of every point (rule id, worker-day, entered item), "
                            "tier and payouts; frozen once the township closed the period."),
            "request": {"method": "GET", "path": f"{v1}/me/score", "auth": True,
                        "params": {"period": "2026Q1"}}}, set()),
        ("15b_my_export", {
            "name": "download all my data (PIPL)",
            "description": ("Everything held about me: phones, sessions, sign-ins, patrols, logs, "
                            "requests and decisions, results, audit rows about me; positions "
                            "counted per local day (fetch each day with /me/export/positions)."),
            "request": {"method": "GET", "path": f"{v1}/me/export", "auth": True}},
         _EXPORT_VOLATILE),
        ("15c_my_positions", {
            "name": "download my positions of a day (PIPL)",
            "description": "Every stored fix and heartbeat of the day, as received and in WGS-84.",
            "request": {"method": "GET", "path": f"{v1}/me/export/positions", "auth": True}},
         _EXPORT_VOLATILE),
        ("15d_error_password_wrong", {
            "name": "error: change password with a wrong current password",
            "description": "bad_credentials; nothing changes (a right one ends every login).",
            "request": {"method": "POST", "path": f"{v1}/auth/password", "auth": True,
                        "json": {"old_password": "not my password",
                                 "new_password": "a new password 42"}}}, set()),
        ("15e_case_categories", {
            "name": "case categories of my township",
            "description": "The township edits the list; the defaults are shown.",
            "request": {"method": "GET", "path": f"{v1}/cases/categories", "auth": True}}, set()),
        ("15f_case_report", {
            "name": "report a case (事件上报) with a photo",
            "description": ("multipart/form-data; the place in its datum (stored in WGS-84, tagged with "
                            "its grid); idempotent on client_id, like positions."),
            "request": {"method": "POST", "path": f"{v1}/cases", "auth": True,
                        "multipart": {"data": {"client_id": "ex-phone-0001-c-1", "category": "设施损坏",
                                               "text": "路灯不亮", "lon": str(c[0] + 0.0015),
                                               "lat": str(c[1] + 0.0006), "datum": "gcj02",
                                               "reported_at": "{{time:-600}}"},
                                      "files": [{"field": "photos", "filename": "IMG_0002.jpg",
                                                 "content_type": "image/jpeg",
                                                 "content_base64": _photo_b64()}]}}},
         {"case_id", "reported_at"}),
        ("15g_case_report_resent", {
            "name": "the same report again (offline phone retrying)",
            "description": "The stored case, duplicate: true; nothing stored twice.",
            "request": {"method": "POST", "path": f"{v1}/cases", "auth": True,
                        "multipart": {"data": {"client_id": "ex-phone-0001-c-1", "category": "设施损坏",
                                               "text": "路灯不亮", "lon": str(c[0] + 0.0015),
                                               "lat": str(c[1] + 0.0006), "datum": "gcj02",
                                               "reported_at": "{{time:-600}}"}}}},
         {"case_id", "reported_at"}),
        ("15h_my_cases", {
            "name": "my cases", "description": "Only the cases I reported, newest first.",
            "request": {"method": "GET", "path": f"{v1}/cases", "auth": True}},
         {"case_id", "reported_at"}),
        ("15i_my_instructions", {
            "name": "my instructions (指令)", "description": "Where to go and by when; only mine.",
            "request": {"method": "GET", "path": f"{v1}/instructions", "auth": True},
            "capture": {"instruction_id": "items.0.instruction_id"}},
         {"instruction_id", "case_id", "deadline_at"}),
        ("15j_instruction_acknowledge", {
            "name": "acknowledge an instruction (签收)",
            "description": "YK-CASE-SLA's acceptance; another worker's instruction would be 404.",
            "request": {"method": "POST", "path": f"{v1}/instructions/{{{{instruction_id}}}}/acknowledge",
                        "auth": True}},
         {"instruction_id", "case_id", "deadline_at", "acknowledged_at"}),
        ("15k_instruction_arrived", {
            "name": "arrived (到场) with a photo",
            "description": "At least one photo; NB-ARRIVE itself is judged from the fixes.",
            "request": {"method": "POST", "path": f"{v1}/instructions/{{{{instruction_id}}}}/arrived",
                        "auth": True,
                        "multipart": {"data": {"text": "已到现场"},
                                      "files": [{"field": "photos", "filename": "IMG_0003.jpg",
                                                 "content_type": "image/jpeg",
                                                 "content_base64": _photo_b64()}]}}},
         {"instruction_id", "case_id", "deadline_at", "acknowledged_at", "arrived_at"}),
        ("15l_instruction_resolved", {
            "name": "resolved (处置完毕) with a photo",
            "description": "The result; the office then closes the case.",
            "request": {"method": "POST", "path": f"{v1}/instructions/{{{{instruction_id}}}}/resolved",
                        "auth": True,
                        "multipart": {"data": {"text": "双方已和解"},
                                      "files": [{"field": "photos", "filename": "IMG_0004.jpg",
                                                 "content_type": "image/jpeg",
                                                 "content_base64": _photo_b64()}]}}},
         {"instruction_id", "case_id", "deadline_at", "acknowledged_at", "arrived_at", "resolved_at"}),
        ("16_error_no_token", {
            "name": "error: no token", "description": "Every error has a stable code.",
            "request": {"method": "GET", "path": f"{v1}/me"}}, set()),
        ("17_error_wrong_content_type", {
            "name": "error: wrong content type", "description": "Positions must be application/json.",
            "request": {"method": "POST", "path": f"{v1}/positions", "auth": True,
                        "headers": {"Content-Type": "text/plain"}, "body": "lon=121&lat=32"}}, set()),
        ("18_logout", {
            "name": "logout", "description": "Its tokens stop working at once.",
            "request": {"method": "POST", "path": f"{v1}/auth/logout", "auth": True}}, set()),
        ("19_error_after_logout", {
            "name": "error: token of an ended session", "description": "token_revoked.",
            "request": {"method": "GET", "path": f"{v1}/me", "auth": True}}, set()),
    ]


def record(client: Any, now: dt.datetime | None = None) -> list[Path]:
    """Run the scripted flow through ``client`` and write one file per exchange."""
    now = now or dt.datetime.now(dt.UTC)
    EXAMPLES_DIR.mkdir(exist_ok=True)
    for old in EXAMPLES_DIR.glob("*.json"):
        old.unlink()
    env: dict[str, Any] = {}
    written = []
    for stem, ex, scrub in scripted_flow():
        r = send(client, ex, env, now)
        body = r.json()
        if r.status_code < 400:
            _capture(ex, body, env)
        ex = dict(ex, response={"status": r.status_code, "body": _scrub(body, scrub)})
        path = EXAMPLES_DIR / f"{stem}.json"
        path.write_text(json.dumps(ex, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def _local_client(tmp: Path) -> Any:
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade
    from server.mobile import build_mobile_app
    from server.settings import Settings

    engine = make_engine(f"sqlite:///{tmp / 'examples.db'}")
    upgrade(engine)
    with Session(engine) as s:
        seed_example_township(s)
    settings = Settings(environment="test", secret_key="examples-" + "k" * 32, data_dir=tmp / "data")
    return TestClient(build_mobile_app(engine, settings))


def main(argv: list[str] | None = None) -> int:
    """``--record`` rewrites the examples; ``--check`` replays them (SQLite, in-process)."""
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m mobile_api_spec.examples")
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        client = _local_client(Path(tmp))
        if args.record:
            for p in record(client):
                print(f"wrote {p}")
            return 0
        bad = {k: v for k, v in replay(client).items() if v}
        for name, d in bad.items():
            print(name, *d, sep="\n  ")
        return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
