"""``gridpatrol copy-data``: the demo township moves from SQLite into an empty PostGIS
database with identical rows per table, an intact audit chain and an identical re-judged
day; a non-empty target is refused. Runs in the PostgreSQL pass (its target)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from checkins.db.backup import table_counts
from checkins.db.copy import SKIP_TABLES
from checkins.db.engine import make_engine
from server.cli import app as cli
from server.settings import Settings, get_settings
from tests.conftest import throwaway_pg_database


def test_copy_demo_township_into_postgis(db_backend, tmp_path, monkeypatch):
    if db_backend != "postgresql":
        pytest.skip("copy-data's target is PostgreSQL: this runs in the postgresql pass")
    from server.bootstrap import load_demo, prepare_database

    src_url = f"sqlite:///{tmp_path / 'town.db'}"
    settings = Settings(environment="development", secret_key="copy-" + "x" * 30,  # + accounts
                        database_url=src_url, data_dir=tmp_path, demo_on_empty=False)
    src = prepare_database(settings)
    load_demo(settings, src)
    monkeypatch.setenv("DATABASE_URL", src_url)
    monkeypatch.setenv("GRIDPATROL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRIDPATROL_LOG_JSON", "false")
    with throwaway_pg_database("gridpatrol_test_copy") as pg_url:
        get_settings.cache_clear()
        r = CliRunner().invoke(cli, ["copy-data", "--to", pg_url])
        assert r.exit_code == 0, r.output
        report = json.loads(r.stdout[r.stdout.index("{"):r.stdout.rindex("}") + 1])
        assert report["ok"] and report["audit_chain_broken_at"] is None
        assert report["rejudged"] >= 30 and report["rejudged_differences"] == 0
        assert "position:" in r.stderr  # progress
        dst = make_engine(pg_url)
        a = {k: v for k, v in table_counts(src).items() if k not in SKIP_TABLES}
        b = {k: v for k, v in table_counts(dst).items() if k not in SKIP_TABLES}
        assert a == b and a["position"] > 10_000 and a["day_result"] >= 30
        assert a["audit_log"] > 0 and a["mobile_account"] == a["worker"]
        # new rows on the target get new ids (the sequences moved past the copied ones)
        from sqlmodel import Session

        from checkins.audit.service import verify_chain, write_audit

        with Session(dst) as s:
            write_audit(s, actor="test", action="test.after_copy", entity="x")
            s.commit()
            assert verify_chain(s) is None
        dst.dispose()
        get_settings.cache_clear()
        r = CliRunner().invoke(cli, ["copy-data", "--to", pg_url])
        assert r.exit_code == 2 and "not empty" in r.output
        get_settings.cache_clear()
    src.dispose()
