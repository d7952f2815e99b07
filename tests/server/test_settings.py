"""Settings: env prefix, plain DATABASE_URL, default SQLite file, secret refused in production."""

from __future__ import annotations

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
