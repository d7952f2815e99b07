"""Authorization matrix over EVERY route of the full app x role x own/other.

The routes are enumerated from ``server.app.create_app``: each one must be public (a short
explicit list), an office route (covered by ``tests/server/office/test_scoping.py``'s matrix, which
must hold a case for it), or a mobile route with a case in :data:`MOBILE_CASES` here; a new
route in none of these fails :func:`test_every_route_is_classified`.

Mobile routes are tried by worker A with A's own ids and with worker B's ids (same village)
in the path, the query and the body, and by every other role (anonymous, village office,
township office, administrator token), which must get 401: an office login is not a worker
token. Office routes are tried with a worker's token: 401 (or the login redirect). Rule: 0
cross-worker or cross-village 2xx; B's rows never change through A's requests.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.auth.office_users import create_office_user
from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
from checkins.positions.models import Position
from checkins.township.models import Worker
from tests.server.mobile.conftest import PREFIX, SECRET, _mobile_settings, bearer, login
from tests.server.office.test_scoping import ALL_CASES, _walk, office_routes

ADMIN = "security-matrix-admin-token"
OFFICE_PW = "office pass 42"
PUBLIC = {
    ("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"), ("GET", "/health"), ("GET", "/"),
    ("GET", "/office/login"), ("POST", "/office/login"), ("POST", "/api/office/login"),
    ("POST", f"{PREFIX}/auth/login"), ("POST", f"{PREFIX}/auth/refresh"),
    # first login with a one-time code (throttled; tests/server/mobile/test_activation.py)
    ("POST", f"{PREFIX}/auth/activate"),
    # the worker web app's static shell (it holds no data; the API it calls is the mobile one)
    ("GET", "/app"), ("GET", "/app/"), ("GET", "/app/manifest.webmanifest"), ("GET", "/app/sw.js"),
    ("GET", "/app/words.json"),  # the word catalogue's cause labels: words, no data
    # tracking apps authenticate with their own per-phone secret, neither an office login nor a
    # mobile token: wrong, foreign-app and revoked secrets in tests/server/mobile/test_tracking_apps.py
    ("GET", "/api/ingest/osmand/{device_token}"), ("POST", "/api/ingest/osmand/{device_token}"),
    ("POST", "/api/ingest/owntracks"),
}
OTHER_ROLES = ("anonymous", "village_office", "township_office", "admin")

Probe = tuple[str, str, dict[str, Any], str]  # method, url, request kwargs, where the id is


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _fix(dt_s: int = -60) -> dict[str, Any]:
    return {"lon": 121.05, "lat": 32.45, "datum": "wgs84", "accuracy_m": 5.0,
            "recorded_at": (_now() + dt.timedelta(seconds=dt_s)).isoformat()}


class Ctx:
    """Workers A (the caller) and B (the victim) and B's objects."""

    def __init__(self, a: Any, b: Any, b_patrol: str, b_request: str, a_patrol: str,
                 a_request: str, b_village: str):
        self.a, self.b = a, b
        self.b_patrol, self.b_request = b_patrol, b_request
        self.a_patrol, self.a_request = a_patrol, a_request
        self.b_village = b_village

    def foreign(self) -> dict[str, Any]:
        """Body fields naming B (must be ignored or refused)."""
        return {"worker_id": self.b.worker_id, "village_id": self.b_village,
                "device_id": self.b.device_id, "device_uid": self.b.device_uid}


def _q(c: Ctx) -> str:
    return f"worker_id={c.b.worker_id}&village_id={c.b_village}&device_id={c.b.device_id}"


def _get(path: str, query: str = "") -> Callable[[Ctx, str], list[Probe]]:
    def build(c: Ctx, side: str) -> list[Probe]:
        sep = "&" if query else ""
        if side == "own":
            return [("GET", f"{PREFIX}{path}?{query}", {}, "none")]
        return [("GET", f"{PREFIX}{path}?{query}{sep}{_q(c)}", {}, "query")]
    return build


def _post_json(path: str, body: Callable[[], dict[str, Any]]) -> Callable[[Ctx, str], list[Probe]]:
    def build(c: Ctx, side: str) -> list[Probe]:
        b = body()
        if side == "own":
            return [("POST", f"{PREFIX}{path}", {"json": b}, "none")]
        return [("POST", f"{PREFIX}{path}?{_q(c)}", {"json": {**b, **c.foreign()}}, "query+body")]
    return build


def _positions(c: Ctx, side: str) -> list[Probe]:
    item = {"client_id": f"m-{secrets.token_hex(4)}", "seq": 1, "kind": "fix", **_fix()}
    if side == "own":
        return [("POST", f"{PREFIX}/positions", {"json": {"items": [item]}}, "none")]
    item.update(c.foreign())
    return [("POST", f"{PREFIX}/positions?{_q(c)}",
             {"json": {"items": [item], **c.foreign()}}, "query+body")]


def _stop(c: Ctx, side: str) -> list[Probe]:
    pid = c.a_patrol if side == "own" else c.b_patrol
    return [("POST", f"{PREFIX}/patrols/{pid}/stop", {"json": {"ended_at": _now().isoformat()}},
             "none" if side == "own" else "path")]


def _patrol_log(c: Ctx, side: str) -> list[Probe]:
    if side == "own":
        return [("POST", f"{PREFIX}/patrol-logs", {"data": {"text": "巡查正常"}}, "none")]
    return [("POST", f"{PREFIX}/patrol-logs", {"data": {"text": "x", "patrol_id": c.b_patrol,
                                                        "worker_id": c.b.worker_id}}, "body-ref")]


def _request_get(c: Ctx, side: str) -> list[Probe]:
    rid = c.a_request if side == "own" else c.b_request
    return [("GET", f"{PREFIX}/requests/{rid}", {}, "none" if side == "own" else "path")]


def _request_body() -> dict[str, Any]:
    start = _now() + dt.timedelta(days=1)
    return {"kind": "personal_leave", "start": start.isoformat(),
            "end": (start + dt.timedelta(hours=4)).isoformat(), "reason": "家事",
            "status": "approved", "decided_by": "office:me"}


def _signin_body() -> dict[str, Any]:
    return {"client_id": f"s-{secrets.token_hex(4)}", "fix": _fix(), "counts": True}


def _patrol_body() -> dict[str, Any]:
    return {"client_id": f"p-{secrets.token_hex(4)}", "started_at": _now().isoformat(),
            "grid_id": "someone-elses"}


def _logout(c: Ctx, side: str) -> list[Probe]:
    if side == "own":
        return [("POST", f"{PREFIX}/auth/logout", {}, "none")]
    return [("POST", f"{PREFIX}/auth/logout?{_q(c)}", {"json": c.foreign()}, "query+body")]


def _password(c: Ctx, side: str) -> list[Probe]:
    body = {"old_password": c.a.password, "new_password": c.a.password}  # same: stays usable
    if side == "own":
        return [("POST", f"{PREFIX}/auth/password", {"json": body}, "none")]
    return [("POST", f"{PREFIX}/auth/password?{_q(c)}", {"json": {**body, **c.foreign()}},
             "query+body")]


def _case_form() -> dict[str, Any]:
    return {"client_id": f"c-{secrets.token_hex(4)}", "category": "其他", "text": "x", "lon": "121.05",
            "lat": "32.45", "datum": "wgs84", "reported_at": (_now() - dt.timedelta(minutes=1)).isoformat()}


def _case_post(c: Ctx, side: str) -> list[Probe]:
    if side == "own":
        return [("POST", f"{PREFIX}/cases", {"data": _case_form()}, "none")]
    return [("POST", f"{PREFIX}/cases?{_q(c)}", {"data": {**_case_form(), **{k: str(v) for k, v in
                                                                              c.foreign().items()}}},
             "query+body")]


def _instruction(action: str, photo: bool = False) -> Callable[[Ctx, str], list[Probe]]:
    def build(c: Ctx, side: str) -> list[Probe]:
        iid = c.a_ins if side == "own" else c.b_ins  # type: ignore[attr-defined]
        kw: dict[str, Any] = {}
        if photo:
            from mobile_api_spec.examples import example_photo

            kw["files"] = [("photos", ("a.jpg", example_photo(), "image/jpeg"))]
        return [("POST", f"{PREFIX}/instructions/{iid}/{action}", kw, "none" if side == "own" else "path")]
    return build


MOBILE_CASES: dict[tuple[str, str], Callable[[Ctx, str], list[Probe]]] = {
    ("GET", f"{PREFIX}/cases/categories"): _get("/cases/categories"),
    ("GET", f"{PREFIX}/cases"): _get("/cases", "limit=200"),
    ("POST", f"{PREFIX}/cases"): _case_post,
    ("GET", f"{PREFIX}/instructions"): _get("/instructions", "limit=200"),
    ("POST", f"{PREFIX}/instructions/{{instruction_id}}/acknowledge"): _instruction("acknowledge"),
    ("POST", f"{PREFIX}/instructions/{{instruction_id}}/arrived"): _instruction("arrived", photo=True),
    ("POST", f"{PREFIX}/instructions/{{instruction_id}}/resolved"): _instruction("resolved", photo=True),
    ("POST", f"{PREFIX}/auth/logout"): _logout,
    ("POST", f"{PREFIX}/auth/password"): _password,
    ("GET", f"{PREFIX}/me"): _get("/me"),
    ("GET", f"{PREFIX}/me/assignment"): _get("/me/assignment", "datum=gcj02"),
    ("GET", f"{PREFIX}/me/day"): _get("/me/day"),
    ("GET", f"{PREFIX}/me/score"): _get("/me/score", f"period={_now():%Y-%m}"),
    ("GET", f"{PREFIX}/me/export"): _get("/me/export"),
    ("GET", f"{PREFIX}/me/export/positions"): _get("/me/export/positions", f"date={_now():%Y-%m-%d}"),
    ("POST", f"{PREFIX}/signins"): _post_json("/signins", _signin_body),
    ("POST", f"{PREFIX}/patrols"): _post_json("/patrols", _patrol_body),
    ("POST", f"{PREFIX}/patrols/{{patrol_id}}/stop"): _stop,
    ("POST", f"{PREFIX}/patrol-logs"): _patrol_log,
    ("POST", f"{PREFIX}/positions"): _positions,
    ("POST", f"{PREFIX}/requests"): _post_json("/requests", _request_body),
    ("GET", f"{PREFIX}/requests"): _get("/requests", "limit=200"),
    ("GET", f"{PREFIX}/requests/{{request_id}}"): _request_get,
}


def all_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of the app (static mounts excluded)."""
    out = set()
    for r in _walk(app.routes):
        methods = getattr(r, "methods", None)
        if methods:
            out |= {(m, r.path) for m in methods - {"HEAD"}}
    return out


@pytest.fixture
def full_app(migrated_engine, tmp_path):  # type: ignore[no-untyped-def]
    from server.app import create_app
    from server.settings import Settings

    settings = Settings(environment="test", secret_key=SECRET, admin_token=ADMIN,
                        data_dir=tmp_path / "data", database_url="unused",
                        demo_on_empty=False, scheduler_enabled=False)
    app = create_app(settings, migrated_engine)
    app.state.mobile_settings = _mobile_settings()
    return app


def test_every_route_is_classified(full_app):
    routes = all_routes(full_app)
    office = office_routes(full_app)
    mobile = {r for r in routes if r[1].startswith(PREFIX)}
    unclassified = sorted(routes - office - mobile - PUBLIC)
    assert not unclassified, f"routes in no authorization matrix: {unclassified}"
    assert not sorted(office - set(ALL_CASES) - PUBLIC), "office route without a scope case"
    missing = sorted(mobile - set(MOBILE_CASES) - PUBLIC)
    assert not missing, f"mobile routes without a case: {missing}"


def _office_token(client: TestClient, engine: Any, role: str, village: str | None) -> str:
    name = f"sec-{role}-{secrets.token_hex(4)}"
    with Session(engine) as s:
        create_office_user(s, username=name, password=OFFICE_PW, role=role,
                           village_id=village, actor="test")
        s.commit()
    client.cookies.clear()  # a second login must not carry the first one's session cookie (CSRF)
    r = client.post("/api/office/login", json={"username": name, "password": OFFICE_PW})
    assert r.status_code == 200, r.text
    return r.json()["token"]


def _b_rows(engine: Any, wid: str) -> dict[str, int]:
    with Session(engine) as s:
        return {m.__tablename__: int(s.scalar(sa.select(sa.func.count()).select_from(m).where(
            m.worker_id == wid))) for m in (Position, Signin, PatrolSession, PatrolLog, Exemption)}


def _fill(path: str, c: Ctx) -> str:
    for name, val in {"village_id": c.a.village_id, "worker_id": c.a.worker_id,
                      "date": f"{_now():%Y-%m-%d}", "start": f"{_now():%Y-%m-%d}",
                      "fmt": "csv", "kind": "grids", "period": f"{_now():%Y-%m}"}.items():
        path = path.replace("{" + name + "}", val)
    while "{" in path:
        i, j = path.index("{"), path.index("}")
        path = path[:i] + "1" + path[j + 1:]
    return path


def test_authorization_matrix(full_app, migrated_engine, make_worker, township, record_property):
    from checkins.township.models import Village

    with TestClient(full_app, raise_server_exceptions=False) as client:
        a, b = make_worker(), make_worker()
        ta, tb = login(client, a), login(client, b)
        made = {}
        for who, tok in (("a", ta), ("b", tb)):
            p = client.post(f"{PREFIX}/patrols", headers=bearer(tok), json=_patrol_body())
            q = client.post(f"{PREFIX}/requests", headers=bearer(tok), json=_request_body())
            assert p.status_code == 200 and q.status_code == 200, (p.text, q.text)
            made[who] = (p.json()["id"], q.json()["id"])
        with Session(migrated_engine) as s:  # a second village for B-village ids
            tag = secrets.token_hex(3)
            s.add(Village(village_id=f"vb{tag}", township_id=township.township_id, name="乙村"))
            s.commit()
        c = Ctx(a, b, made["b"][0], made["b"][1], made["a"][0], made["a"][1], f"vb{tag}")
        # an instruction each (cases, issue 18): A's own and B's, which A must not reach
        from checkins.cases import service as cases_svc

        case_id = client.post(f"{PREFIX}/cases", headers=bearer(ta), data=_case_form()).json()["case_id"]
        with Session(migrated_engine, expire_on_commit=False) as s:
            ins = {w.worker_id: cases_svc.dispatch(s, int(case_id), scope=cases_svc.Scope(), actor="office:sec",
                                                   worker_id=w.worker_id) for w in (a, b)}
            s.commit()
        c.a_ins, c.b_ins = ins[a.worker_id].id, ins[b.worker_id].id  # type: ignore[attr-defined]
        office_tokens = {
            "village_office": _office_token(client, migrated_engine, "village_office",
                                            a.village_id),
            "township_office": _office_token(client, migrated_engine, "township_office", None),
            "admin": ADMIN,
        }
        before_b = _b_rows(migrated_engine, b.worker_id)
        stats: Counter[str] = Counter()
        failures = []
        served = all_routes(full_app)
        for route, build in sorted(MOBILE_CASES.items()):
            if route not in served:  # a case kept for a router not installed in this tree
                continue
            for side in ("own", "other"):
                for method, url, kw, where in build(c, side):
                    tok = login(client, a)  # fresh: logout must not spoil the next probe
                    r = client.request(method, url, headers=bearer(tok), **kw)
                    stats["requests"] += 1
                    ok2 = 200 <= r.status_code < 300
                    if side == "own":
                        stats["own_2xx"] += ok2
                        if not ok2:
                            failures.append(("worker own", method, url, r.status_code, r.text[:150]))
                    else:
                        stats[f"other_id_in_{where}"] += 1
                        leaked = b.worker_id in r.text or b.device_uid in r.text or (
                            where in ("path", "body-ref") and ok2)
                        if route == ("GET", f"{PREFIX}/requests") and ok2:
                            leaked |= c.b_request in {str(x["id"]) for x in r.json()["items"]}
                        if route == ("GET", f"{PREFIX}/instructions") and ok2:
                            leaked |= str(c.b_ins) in {x["instruction_id"] for x in r.json()["items"]}
                        if r.status_code >= 500 or leaked:
                            stats["cross_scope_2xx"] += ok2
                            failures.append(("worker other", method, url, r.status_code,
                                             r.text[:150]))
                    # the other roles: no office login or admin token opens a worker route
                    for role in OTHER_ROLES:
                        h = {} if role == "anonymous" else {
                            "Authorization": f"Bearer {office_tokens[role]}"}
                        r2 = client.request(method, url, headers=h, **kw)
                        stats["requests"] += 1
                        if r2.status_code != 401:
                            stats["cross_scope_2xx"] += 200 <= r2.status_code < 300
                            failures.append((role, method, url, r2.status_code, r2.text[:150]))
        # a worker's token opens no office route (own ids filled into the path)
        for method, path in sorted(office_routes(full_app) - PUBLIC):
            url = _fill(path, c)
            r = client.request(method, url, headers=bearer(login(client, a)),
                               follow_redirects=False)
            stats["requests"] += 1
            stats["worker_on_office_routes"] += 1
            to_login = r.status_code == 303 and "/office/login" in r.headers.get("location", "")
            if not (r.status_code == 401 or to_login):
                stats["cross_scope_2xx"] += 200 <= r.status_code < 300
                failures.append(("worker->office", method, url, r.status_code, r.text[:150]))
        after_b = _b_rows(migrated_engine, b.worker_id)
        assert client.get(f"{PREFIX}/me", headers=bearer(tb)).status_code == 200  # B untouched
    record_property("authz_matrix", json.dumps(dict(stats)))
    print("AUTHZ-MATRIX", json.dumps(dict(sorted(stats.items()))))
    assert not failures, "\n".join(map(str, failures))
    assert after_b == before_b, (before_b, after_b)
    assert stats["cross_scope_2xx"] == 0
    assert stats["requests"] > 200


def test_mass_assignment_changes_nothing(full_app, migrated_engine, make_worker):
    """A worker's body naming a score, an approval, a village or another worker changes nothing."""
    with TestClient(full_app, raise_server_exceptions=False) as client:
        a, b = make_worker(), make_worker()
        h = bearer(login(client, a))
        r = client.post(f"{PREFIX}/requests", headers=h, json={
            **_request_body(), "worker_id": b.worker_id, "status": "approved",
            "decided_by": "office:x", "decision_reason": "ok", "id": 1})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "requested"
        far = {**_fix(), "lon": 100.0, "lat": 30.0}
        r = client.post(f"{PREFIX}/signins", headers=h, json={
            "client_id": "sig-far", "fix": far, "counts": True, "status": "ok",
            "worker_id": b.worker_id, "village_id": "elsewhere"})
        assert r.status_code == 200 and r.json()["counts"] is False, r.text
        item = {"client_id": "pos-1", "seq": 1, "kind": "fix", **_fix(), "mock": True,
                "suspect": False, "reject_reason": None, "grid_id": a.grid_id,
                "worker_id": b.worker_id, "score": 100, "points": 0}
        r = client.post(f"{PREFIX}/positions", headers=h, json={"items": [item]})
        assert r.status_code == 200, r.text
        for path in ("/me", "/me/score", "/requests/1", "/me/day"):
            for meth in ("PATCH", "PUT", "DELETE"):
                r = client.request(meth, f"{PREFIX}{path}", headers=h,
                                   json={"role": "head", "village_id": "x", "score": 100,
                                         "total": 100, "status": "approved"})
                assert r.status_code == 405, (meth, path, r.status_code)
    with Session(migrated_engine) as s:
        w = s.get(Worker, a.worker_id)
        assert (w.role, w.village_id) == (a.role, a.village_id)
        ex = s.scalars(sa.select(Exemption).where(Exemption.worker_id == a.worker_id)).one()
        assert ex.status == "requested" and ex.decided_by is None
        pos = s.scalars(sa.select(Position).where(Position.client_id == "pos-1",
                                                  Position.device_id == a.device_id)).one()
        assert pos.worker_id == a.worker_id and pos.suspect is True  # the mock flag stands
        assert _b_rows(migrated_engine, b.worker_id) == dict.fromkeys(
            ("position", "signin", "patrol_session", "patrol_log", "exemption"), 0)
