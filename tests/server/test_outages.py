"""The server's own outages through the app lifespan, ``/api/outages`` and ``gridpatrol outage``
(GEO-PHONEOFF: never charged). Clocks are real here but nothing waits: the old beat is
written directly, the start-up beat finds the gap."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from server.cli import app as cli_app
from server.settings import Settings
from tests.conftest import empty_database
from tests.server.test_cli import fresh_db  # noqa: F401  (fixture)

TOKEN = "outage-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def own_db(db_backend, tmp_path):
    """A migrated database of its own (the lifespan commits)."""
    from server.bootstrap import prepare_database

    with empty_database(db_backend, tmp_path) as url:
        settings = Settings(database_url=url, environment="test", secret_key="outage-secret",
                            admin_token=TOKEN, liveness_enabled=True)
        engine = prepare_database(settings)
        try:
            yield settings, engine
        finally:
            engine.dispose()


def _outage_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT cause, recorded_by FROM server_outage ORDER BY start_at")).all()


def test_restarting_the_app_twice_records_the_outage_once(own_db):
    from sqlmodel import Session

    from checkins.outages.service import record_tick
    from server.app import create_app

    settings, engine = own_db
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with Session(engine) as s:
        record_tick(s, long_ago)  # the server's last beat before it went down
        s.commit()
    app = create_app(settings, engine)
    with TestClient(app) as client:
        assert app.state.liveness is not None
        body = client.get("/api/outages", headers=AUTH).json()
    assert body["rule"] == "GEO-PHONEOFF"
    [o] = body["outages"]
    assert o["cause"] == "detected" and o["recorded_by"] == "server"
    assert abs(dt.datetime.fromisoformat(o["start"]) - long_ago) < dt.timedelta(seconds=1)
    assert 59 <= o["minutes"] <= 61
    for _ in range(2):  # restarted twice more: nothing new
        with TestClient(create_app(settings, engine)):
            pass
    assert _outage_rows(engine) == [("detected", "server")]


def test_liveness_is_off_in_the_test_environment_unless_enabled(own_db):
    from server.app import create_app

    settings, engine = own_db
    off = settings.model_copy(update={"liveness_enabled": None})
    app = create_app(off, engine)
    with TestClient(app):
        assert app.state.liveness is None
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM server_tick")) == 0


def test_api_records_a_known_outage_and_names_bad_fields(own_db):
    from server.app import create_app

    settings, engine = own_db
    app = create_app(settings.model_copy(update={"liveness_enabled": False}), engine)
    good = {"from": "2026-11-23T09:00", "to": "2026-11-23T09:40", "reason": "光缆被挖断"}
    with TestClient(app) as client:
        assert client.get("/api/outages").status_code == 401
        assert client.post("/api/outages", json=good).status_code == 401
        r = client.post("/api/outages", json=good, headers=AUTH)
        assert r.status_code == 201, r.text
        out = r.json()
        assert (out["start"], out["end"], out["cause"], out["minutes"]) == (
            "2026-11-23T09:00:00+08:00", "2026-11-23T09:40:00+08:00", "manual", 40.0)
        for bad, field in (({"from": "9 o'clock"}, "from"), ({"to": "2026-11-23T08:00"}, "to"),
                           ({"reason": ""}, "reason"), ({}, "from/to")):
            r = client.post("/api/outages", json={**good, **bad}, headers=AUTH)
            assert r.status_code == 422 and r.json()["detail"].startswith(f"{field}:"), r.text
        listed = client.get("/api/outages?from=2026-11-23&to=2026-11-23", headers=AUTH).json()
        assert [o["id"] for o in listed["outages"]] == [out["id"]]
        assert client.get("/api/outages?from=2026-11-24", headers=AUTH).json()["outages"] == []
        assert client.get("/api/outages?from=soon", headers=AUTH).status_code == 422
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT action, entity, actor FROM audit_log WHERE action = 'server_outage.add'"
        )).all() == [("server_outage.add", "server_outage", "admin-token")]


def test_outage_commands(fresh_db):  # noqa: F811
    runner = CliRunner()
    r = runner.invoke(cli_app, ["outage", "list"])
    assert r.exit_code == 0 and "no outages recorded" in r.output
    r = runner.invoke(cli_app, ["outage", "add", "--from", "2026-11-23T14:00+08:00",
                                "--to", "2026-11-23T15:10", "--reason", "upgrade", "--by",
                                "township:li"])
    assert r.exit_code == 0, r.output
    added = json.loads(r.stdout)
    assert (added["cause"], added["minutes"], added["recorded_by"]) == (
        "manual", 70.0, "township:li")
    r = runner.invoke(cli_app, ["outage", "add", "--from", "2026-11-23T16:00", "--to",
                                "2026-11-23T15:00", "--reason", "x"])
    assert r.exit_code == 2 and "to: must be after from" in r.output
    r = runner.invoke(cli_app, ["outage", "list", "--from", "2026-11-23", "--json"])
    assert r.exit_code == 0
    assert [o["id"] for o in json.loads(r.stdout)] == [added["id"]]
    r = runner.invoke(cli_app, ["outage", "list"])
    assert "manual" in r.output and "upgrade" in r.output
    assert runner.invoke(cli_app, ["outage", "list", "--to", "23/11"]).exit_code == 2
    r = runner.invoke(cli_app, ["outage", "detect"])
    assert r.exit_code == 0 and json.loads(r.stdout) == {"new_outages": []}
    with sa.create_engine(fresh_db).connect() as conn:
        assert conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE action = 'server_outage.add'")).scalar() == 1
