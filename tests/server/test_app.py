"""The HTTP app on the selected backend: /health, the overview, the office import endpoint."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from checkins import tables as m
from server.app import create_app
from server.deps import get_session
from server.settings import Settings
from tests.checkins.factories import ROSTER, as_bytes, modified, township_doc

TOKEN = "test-office-token"


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(environment="test", secret_key="s3cret-for-tests", admin_token=TOKEN,
                    database_url=database_url)


@pytest.fixture
def client(settings, migrated_engine, session):
    app = create_app(settings, migrated_engine)
    app.dependency_overrides[get_session] = lambda: session
    with TestClient(app) as c:
        yield c


def test_health_reports_backend_reachability_and_revision(client, db_backend):
    from checkins.db.migrate import head_revision

    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["backend"] == db_backend
    assert body["reachable"] is True
    assert body["revision"] == head_revision() and body["status"] == "ok"
    if db_backend == "postgresql":
        assert body["postgis"].startswith("3.")
    else:
        assert body["postgis"] is None
    assert r.headers["x-request-id"]


def test_health_when_the_database_is_unreachable(settings):
    from checkins.db.engine import make_engine

    bad = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none",
                      connect_args={"connect_timeout": 2})
    with TestClient(create_app(settings, bad)) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["reachable"] is False and "error" in r.json()


def _post(client, kind, data, name, token=TOKEN, **form):
    return client.post(f"/api/office/import/{kind}", files={"file": (name, data)}, data=form,
                       headers={"Authorization": f"Bearer {token}"} if token else {})


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


def test_overview_and_grids_need_an_office_login(client):
    for url in ("/api/overview", "/api/grids"):
        assert client.get(url).status_code == 401
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get(url, headers=_auth()).status_code == 200
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/office"


def _n(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_endpoint_requires_the_office_token(client, session):
    before = _n(session, m.Grid)
    assert _post(client, "grids", as_bytes(township_doc()), "t.geojson", token=None) \
        .status_code == 401
    assert _post(client, "grids", as_bytes(township_doc()), "t.geojson", token="wrong") \
        .status_code == 401
    assert _n(session, m.Grid) == before


def test_import_endpoint_applies_and_reports(client, session):
    # (other suites may have committed rows of their own: compare with what was there)
    grids0, workers0, features0 = _n(session, m.Grid), _n(session, m.Worker), \
        len(client.get("/api/grids", headers=_auth()).json()["features"])
    r = _post(client, "grids", as_bytes(township_doc()), "town.geojson")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == {"township": 1, "village": 2, "grid": 3}
    r = _post(client, "roster", ROSTER.encode(), "roster.csv", valid_from="2026-03-02")
    assert r.status_code == 200, r.text
    assert r.json()["created"] == {"worker": 4, "grid_assignment": 3}
    assert any("has no grid" in w for w in r.json()["warnings"])
    again = _post(client, "grids", as_bytes(township_doc()), "town.geojson").json()
    assert again["created"] == {} and again["updated"] == {}
    ov = client.get("/api/overview", headers=_auth()).json()
    assert ov["counts"]["grid"] == grids0 + 3 and ov["counts"]["worker"] == workers0 + 4
    assert "东村" in str(ov["villages"])
    geo = client.get("/api/grids", headers=_auth()).json()
    assert len(geo["features"]) == features0 + 5


def test_import_endpoint_rejects_a_bad_file_whole(client, session):
    villages0 = _n(session, m.Village)
    bad = modified(township_doc(), 4, properties={"grid_id": "G1"})
    r = _post(client, "grids", as_bytes(bad), "bad.geojson")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail == {"file": "bad.geojson", "where": "feature 4 (grid_id=G1)",
                      "field": "grid_id", "message": detail["message"]}
    assert "duplicate" in detail["message"]
    assert _n(session, m.Village) == villages0


def test_import_endpoint_accepts_a_township_office_user(client, session):
    from checkins.auth.office_users import create_office_user

    import_file_first = _post(client, "grids", as_bytes(township_doc()), "town.geojson")
    assert import_file_first.status_code == 200
    create_office_user(session, username="town1", password="correct horse", role="township_office")
    create_office_user(session, username="v1", password="correct horse", role="village_office",
                       village_id="V1")

    def bearer(user, pw):
        r = client.post("/api/office/login", json={"username": user, "password": pw})
        client.cookies.clear()
        token = r.json()["token"] if r.status_code == 200 else "not-a-token"
        return {"Authorization": f"Bearer {token}"}

    def post(headers):
        return client.post("/api/office/import/roster", headers=headers,
                           files={"file": ("roster.csv", ROSTER.encode())})

    assert post(bearer("town1", "wrong password")).status_code == 401
    assert post(bearer("nobody", "correct horse")).status_code == 401
    assert post({}).status_code == 401
    assert post(bearer("v1", "correct horse")).status_code == 403
    r = post(bearer("town1", "correct horse"))
    assert r.status_code == 200, r.text
    row = session.scalars(sa.select(m.AuditLog).order_by(m.AuditLog.id.desc()).limit(1)).one()
    assert (row.actor, row.action) == ("office:town1", "import.roster")


def test_the_app_lists_every_part_by_import(client):
    # each part answers (not 404): the app includes it by import, not by name
    for path in ("/health", "/office/login", "/api/jobs", "/api/outages",
                 "/api/township/periods/2026Q1", "/api/mobile/v1/me/assignment"):
        assert client.get(path).status_code != 404, path
    assert client.get("/api/no-such-part").status_code == 404
    import server.app

    assert not hasattr(server.app, "OPTIONAL_ROUTERS")  # no wiring by name, skipped silently


def test_worker_app_words_are_the_catalogues(client):
    """/app/words.json: the GEO-PHONEOFF cause words the worker app shows are the word
    catalogue's (scoring/words.zh-CN.yaml via the township profile), Chinese for every cause."""
    from geo.phoneoff import CAUSES
    from scoring.profiles import load_profile

    r = client.get("/app/words.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    cause = r.json()["cause"]
    assert cause == load_profile(client.app.state.settings.profile).labels["cause"]
    assert set(CAUSES) <= set(cause)
    assert cause["app_background"].startswith("App 页面被隐藏") and "关机" not in cause["app_background"]
