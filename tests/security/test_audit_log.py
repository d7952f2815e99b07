"""Audit log: the app's PostgreSQL role cannot UPDATE/DELETE/TRUNCATE audit rows; an edit made
behind the triggers' back (superuser, triggers disabled) is found by ``gridpatrol audit verify``."""

from __future__ import annotations

import json
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from checkins.audit.service import write_audit
from checkins.db.engine import make_engine, session
from checkins.db.migrate import upgrade
from server.commands.audit import app_role_sql
from tests.conftest import empty_database


@pytest.fixture
def audit_db(db_backend, tmp_path):  # type: ignore[no-untyped-def]
    """A fresh migrated database (of the run's backend) with three audit rows."""
    with empty_database(db_backend, tmp_path) as url:
        engine = make_engine(url)
        upgrade(engine)
        with session(engine) as s:
            for i in range(3):
                write_audit(s, actor="office:t", action="test", entity="thing",
                            entity_id=str(i), reason="why", after={"n": i})
            s.commit()
        yield url, engine
        engine.dispose()


def _verify(url: str, monkeypatch) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    from server.cli import app
    from server.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("GRIDPATROL_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(app, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    return r.exit_code, json.loads(r.stdout.strip().splitlines()[-1])


def test_audit_verify_detects_an_edit_made_behind_the_triggers(audit_db, monkeypatch):
    url, engine = audit_db
    code, out = _verify(url, monkeypatch)
    assert (code, out["rows"], out["broken_at_id"]) == (0, 3, None)
    with engine.begin() as conn:
        target = conn.scalar(sa.text("SELECT id FROM audit_log ORDER BY id LIMIT 1 OFFSET 1"))
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # superuser
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("UPDATE audit_log SET reason = 'rewritten' WHERE id = :i"),
                     {"i": target})
    code, out = _verify(url, monkeypatch)
    assert code == 1 and out["broken_at_id"] == target and out["status"] == "broken"


def test_app_role_cannot_update_or_delete_audit_rows(audit_db, db_backend):
    url, engine = audit_db
    if db_backend != "postgresql":  # no roles on SQLite: its triggers refuse every writer
        for st in ("UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log"):
            with engine.connect() as conn, pytest.raises(DBAPIError) as err:
                conn.execute(sa.text(st))
            assert "append-only" in str(err.value) or "audit" in str(err.value)
        return
    role = f"gp_app_{secrets.token_hex(3)}"
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN NOSUPERUSER"))
        for st in app_role_sql(role):
            conn.execute(sa.text(st))
    app_engine = make_engine(sa.make_url(url).set(username=role).render_as_string(False))
    try:
        with session(app_engine) as s:  # the app role appends normally
            write_audit(s, actor="office:t", action="test", entity="thing", entity_id="9")
            s.commit()
        refused = []
        for st in ("UPDATE audit_log SET reason = 'x'", "DELETE FROM audit_log",
                   "TRUNCATE audit_log"):
            with app_engine.connect() as conn:
                with pytest.raises(DBAPIError) as err:
                    conn.execute(sa.text(st))
                assert "permission denied" in str(err.value)
                refused.append(st.split()[0])
                conn.rollback()
        assert refused == ["UPDATE", "DELETE", "TRUNCATE"]
        with app_engine.connect() as conn:  # nor can it switch the triggers off
            with pytest.raises(DBAPIError):
                conn.execute(sa.text("SET session_replication_role = replica"))
        with session(engine) as s:
            from checkins.audit.service import verify_chain

            assert verify_chain(s) is None
            assert s.scalar(sa.text("SELECT count(*) FROM audit_log")) == 4
    finally:
        app_engine.dispose()
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {role}"))
            conn.execute(sa.text(f"DROP ROLE {role}"))
