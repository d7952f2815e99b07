"""The console command on the selected backend: import, demo, and serve as a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from server.cli import app
from server.settings import get_settings
from tests.checkins.factories import ROSTER, as_bytes, modified, township_doc
from tests.conftest import empty_database


@pytest.fixture
def fresh_db(db_backend, tmp_path, monkeypatch):
    """An empty database of the run's backend, selected through DATABASE_URL."""
    with empty_database(db_backend, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        monkeypatch.setenv("GRIDPATROL_LOG_JSON", "false")
        get_settings.cache_clear()
        yield url
        get_settings.cache_clear()
        from checkins.db.engine import make_engine

        make_engine(url).dispose()


def _count(url: str, table: str) -> int:
    from checkins.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))
    finally:
        engine.dispose()


def test_import_commands(fresh_db, tmp_path):
    grids = tmp_path / "town.geojson"
    grids.write_bytes(as_bytes(township_doc()))
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(app, ["import", "grids", str(grids)])
    assert r.exit_code == 0, r.output
    assert "grid: 3 created, 0 updated, 0 unchanged" in r.output
    r = runner.invoke(app, ["import", "roster", str(roster), "--valid-from", "2026-03-02",
                            "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["created"] == {"worker": 4, "grid_assignment": 3}
    r = runner.invoke(app, ["import", "grids", str(grids)])
    assert "grid: 0 created, 0 updated, 3 unchanged" in r.output
    assert _count(fresh_db, "grid") == 3


def test_import_command_refuses_a_bad_file(fresh_db, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(as_bytes(modified(township_doc(), 3, properties={"crs": "mars"})))
    r = CliRunner().invoke(app, ["import", "grids", str(bad)])
    assert r.exit_code == 2
    assert f"{bad}, feature 3, field 'crs': unknown crs 'mars'" in r.output
    assert "nothing was imported" in r.output
    assert _count(fresh_db, "village") == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_loads_the_demo_and_answers(fresh_db, tmp_path, db_backend):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": fresh_db, "GRIDPATROL_DATA_DIR": str(tmp_path),
           "GRIDPATROL_LOG_JSON": "true", "GRIDPATROL_ADMIN_TOKEN": "cli-test-admin-token"}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        body = None
        # migrate, the demo through ingest, its day judged: minutes on a loaded shared machine
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                body = r.json()
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert body["backend"] == db_backend and body["reachable"] and body["status"] == "ok"
        ov = httpx.get(f"http://127.0.0.1:{port}/api/overview", timeout=5,
                       headers={"Authorization": "Bearer cli-test-admin-token"}).json()
        assert ov["counts"]["worker"] == 40 and ov["counts"]["grid"] == 30
        assert ov["counts"]["position"] > 10_000 and ov["counts"]["signin"] > 20
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"running at http://127.0.0.1:{port}/" in out
    assert any(line.startswith("{") and '"event": "request"' in line
               for line in out.splitlines())  # structured JSON logs
    # a second demo into the now non-empty database is refused
    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["demo"])
    assert r.exit_code == 1 and "already holds a township" in r.output


def test_office_user_add(fresh_db):
    runner = CliRunner()
    r = runner.invoke(app, ["office-user", "add", "town1", "--password", "long enough"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["office-user", "add", "town1", "--password", "long enough"])
    assert r.exit_code == 2 and "already exists" in r.output
    r = runner.invoke(app, ["office-user", "add", "v", "--role", "village_office",
                            "--password", "long enough"])
    assert r.exit_code == 2 and "needs a village" in r.output
    assert _count(fresh_db, "office_user") == 1


def test_import_from_a_long_path_is_audited_by_base_name(fresh_db, tmp_path):
    """A file deep in a folder tree (path far over the audit id's 64 characters) imports; the
    audit row names the file by its base name and keeps the full path in ``after``."""
    from checkins.township.importer import import_entity_id

    deep = tmp_path / ("村网格办导出" * 4) / ("2026年第一季度" * 4)
    deep.mkdir(parents=True)
    grids = deep / "town.geojson"
    grids.write_bytes(as_bytes(township_doc()))
    assert len(str(grids)) > 64
    r = CliRunner().invoke(app, ["import", "grids", str(grids)])
    assert r.exit_code == 0, r.output
    from checkins.db.engine import make_engine

    engine = make_engine(fresh_db)
    try:
        with engine.connect() as conn:
            entity_id, after = conn.execute(sa.text(
                "SELECT entity_id, after FROM audit_log WHERE action = 'import.grids'")).one()
    finally:
        engine.dispose()
    assert entity_id == "town.geojson"
    after = after if isinstance(after, dict) else json.loads(after)
    assert after["file"] == str(grids)
    long_name = "x" * 100 + ".geojson"
    short = import_entity_id(long_name)
    assert len(short) == 64 and short != import_entity_id("y" * 100 + ".geojson")
