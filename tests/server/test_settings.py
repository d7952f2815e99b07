"""Settings: env prefix, plain DATABASE_URL, default SQLite file, secret refused in production."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from server.settings import Settings


def test_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("GRIDPATROL_DATA_DIR", str(tmp_path / "d"))
    s = Settings()
    assert s.timezone == "Asia/Shanghai" and s.profile == "yangkou-2022"
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'd' / 'gridpatrol.db'}"
    assert (tmp_path / "d").is_dir()  # created on first use


def test_plain_database_url_is_honoured(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert Settings().resolved_database_url == "postgresql://u@h/db"


def test_default_secret_is_refused_outside_development(monkeypatch):
    monkeypatch.setenv("GRIDPATROL_ENVIRONMENT", "production")
    monkeypatch.delenv("GRIDPATROL_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings()
    monkeypatch.setenv("GRIDPATROL_SECRET_KEY", "a-real-secret")
    assert Settings().secret_key == "a-real-secret"


def test_admin_token_derives_from_the_secret():
    a = Settings(secret_key="one").resolved_admin_token
    assert a == Settings(secret_key="one").resolved_admin_token
    assert a != Settings(secret_key="two").resolved_admin_token
    assert Settings(admin_token="given").resolved_admin_token == "given"


def test_unknown_profile_is_refused_at_start(monkeypatch, tmp_path):
    # a township created with a profile nobody can load would answer 500 on every score view
    with pytest.raises(ValidationError, match="GRIDPATROL_PROFILE 'yangkou-2033'.*yangkou-2022"):
        Settings(profile="yangkou-2033")
    own = tmp_path / "own.yaml"
    own.write_text("name: own\n", encoding="utf-8")
    assert Settings(profile=str(own)).profile == str(own)  # a profile file is accepted
    assert Settings(profile="quanshan-positioning").profile == "quanshan-positioning"


# issue 15, finding 6: sha256("admin:change-me")[:32] read the audit log of every village
COMPUTABLE = hashlib.sha256(b"admin:change-me").hexdigest()[:32]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "gridpatrol.example"])
@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_a_reachable_server_refuses_the_default_secret(host, environment):
    with pytest.raises(ValueError, match="GRIDPATROL_SECRET_KEY"):
        Settings(host=host, environment=environment)
    with pytest.raises(ValueError, match="GRIDPATROL_ADMIN_TOKEN"):
        Settings(host=host, environment=environment, secret_key="s" * 32,
                 admin_token=COMPUTABLE)
    with pytest.raises(ValueError, match="GRIDPATROL_ADMIN_TOKEN"):
        Settings(host=host, environment=environment, secret_key="s" * 32, admin_token="short")
    # a reachable server derives no admin token: only an explicit one works
    assert Settings(host=host, environment=environment, secret_key="s" * 32
                    ).resolved_admin_token is None
    given = "t" * 32
    assert Settings(host=host, secret_key="s" * 32, admin_token=given
                    ).resolved_admin_token == given


def test_the_demo_admin_token_is_not_computable_from_the_default_secret():
    for host in ("127.0.0.1", "localhost", "::1"):
        token = Settings(host=host).resolved_admin_token
        assert token and token != COMPUTABLE
        assert token == Settings(host=host).resolved_admin_token  # stable within the process
    derived = Settings(secret_key="one").resolved_admin_token
    assert derived != hashlib.sha256(b"admin:one").hexdigest()[:32]  # keyed, not a plain hash


def test_serve_refuses_to_bind_another_host_with_the_default_secret(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from server.cli import app as cli
    from server.settings import get_settings

    monkeypatch.delenv("GRIDPATROL_SECRET_KEY", raising=False)
    monkeypatch.setenv("GRIDPATROL_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        got = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--no-demo"])
    finally:
        get_settings.cache_clear()
    assert got.exit_code == 2
    assert "refusing to start" in got.output and not (tmp_path / "gridpatrol.db").exists()


@pytest.mark.db
def test_the_computable_token_opens_nothing(tmp_path, migrated_engine):
    from fastapi.testclient import TestClient

    from server.app import create_app

    app = create_app(Settings(environment="development", data_dir=tmp_path, demo_on_empty=False,
                              scheduler_enabled=False, liveness_enabled=False), migrated_engine)
    with TestClient(app) as c:
        r = c.get("/api/office/audit", headers={"Authorization": f"Bearer {COMPUTABLE}"})
        assert r.status_code == 401
