"""Settings from the environment (``GRIDPATROL_*``, plus plain ``DATABASE_URL``)."""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from scoring.profiles import list_profiles, profile_path

DEFAULT_SECRET = "change-me"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# the admin token older versions derived from the default secret: anyone could compute it
KNOWN_ADMIN_TOKENS = frozenset({hashlib.sha256(f"admin:{DEFAULT_SECRET}".encode()).hexdigest()[:32]})
MIN_ADMIN_TOKEN_CHARS = 24
# with the default secret the derived admin token is random per process: never computable
_PROCESS_ADMIN_TOKEN = secrets.token_urlsafe(24)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address) is reachable from this machine only."""
    return host.strip("[]").lower() in LOOPBACK_HOSTS or host.startswith("127.")


def check_exposure(host: str, secret_key: str, admin_token: str | None) -> None:
    """Refuse (ValueError) a server reachable from other hosts with a known secret or a
    guessable admin token, whatever ``environment`` says (issue 15, finding 6)."""
    if is_loopback(host):
        return
    if secret_key == DEFAULT_SECRET or len(secret_key) < 16:
        raise ValueError(
            f"bound to {host!r} (reachable from other hosts) with the default or a short "
            "GRIDPATROL_SECRET_KEY: set a random secret of at least 16 characters "
            "(the demo's default secret works on 127.0.0.1 only)")
    if admin_token is not None and (admin_token in KNOWN_ADMIN_TOKENS
                                    or len(admin_token) < MIN_ADMIN_TOKEN_CHARS):
        raise ValueError(
            f"bound to {host!r} with a known or short GRIDPATROL_ADMIN_TOKEN: set a random "
            f"token of at least {MIN_ADMIN_TOKEN_CHARS} characters, or none")


class Settings(BaseSettings):
    """Typed, documented configuration; every field has a default (see README)."""

    model_config = SettingsConfigDict(env_prefix="GRIDPATROL_", extra="ignore")

    environment: str = Field("development", description="development | test | production")
    data_dir: Path = Field(Path("data"), description="folder of the SQLite file, uploads, logs")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "GRIDPATROL_DATABASE_URL"),
        description="SQLAlchemy URL; default sqlite:///<data_dir>/gridpatrol.db")
    secret_key: str = Field(DEFAULT_SECRET, description="signs tokens; must be set in production")
    admin_token: str | None = Field(
        None, description="administrator bearer token of the office endpoints (>= 24 "
        "characters off 127.0.0.1); unset: none off 127.0.0.1, on 127.0.0.1 derived from "
        "secret_key (random per process with the default secret)")
    timezone: str = Field("Asia/Shanghai", description="local time of the township")
    profile: str = Field("yangkou-2022", description="default rule profile")
    township_id: str = Field("yangkou", description="township id used by imports")
    township_name: str = Field("洋口镇", description="township name used on first import")
    host: str = Field("127.0.0.1", description="serve: bind address")
    port: int = Field(8000, description="serve: port")
    demo_on_empty: bool = Field(True, description="serve loads the demo township into an empty DB")
    demo_seed: int = Field(2022, description="seed of the demo township")
    demo_password: str = Field(
        "gridpatrol-demo", description="demo township only, development environment only: "
        "password of the demo office users and of every demo worker's app account")
    log_json: bool = Field(True, description="JSON log lines (False: console renderer)")
    log_level: str = Field("INFO")
    partition_days_ahead: int = Field(7, description="position day partitions created ahead (PG)")
    scheduler_enabled: bool | None = Field(
        None, description="run the scheduled jobs in the server (None: on unless "
        "environment is test)")
    live_check_minutes: float = Field(5, description="jobs: live alert checks every N minutes")
    webhook_url: str | None = Field(
        None, description="group robot webhook (WeCom/DingTalk) for open alerts; unset: off")
    webhook_kind: Literal["wecom", "dingtalk"] = Field(
        "wecom", description="format of the webhook's messages")
    webhook_secret: SecretStr | None = Field(
        None, description="DingTalk robot with 加签: its secret (signs every post: timestamp "
        "and sign added to the URL); unset: unsigned")
    notify_minutes: float = Field(5, description="jobs: push new alerts every N minutes")
    webhook_attempts: int = Field(4, ge=1, le=10, description="posts tried per message")
    webhook_backoff_s: float = Field(2.0, ge=0, description="first retry delay, doubled each time")
    reevaluate_minutes: float = Field(10, description="jobs: re-evaluate marked days every N min")
    nightly_at: str = Field("01:30", description="jobs: local time of the nightly evaluation")
    result_grace_hours: float = Field(
        72, description="a day result stays provisional this long after its day ended")
    position_retention_days: int = Field(
        180, description="PIPL: raw positions kept this many local days (purge job)")
    offduty_keep_days: int = Field(
        7, description="PIPL: positions outside every rule window kept this many days")
    retention_at: str = Field("03:10", description="jobs: local time of the retention purge")
    backup_dir: Path | None = Field(
        None, description="nightly backups: folder (default <data_dir>/backups)")
    backup_keep: int = Field(7, ge=1, description="nightly backups: copies kept")
    backup_at: str | None = Field(
        "02:30", description="nightly backups: local time (empty: no nightly backup)")
    activation_code_days: float = Field(
        7, gt=0, description="accounts: an activation code is valid this many days")
    liveness_enabled: bool | None = Field(
        None, description="write liveness ticks and detect the server's own outages "
        "(GEO-PHONEOFF; None: on unless environment is test)")
    liveness_tick_seconds: float = Field(
        20, gt=0, description="outages: each server process beats this often")
    outage_gap_minutes: float = Field(
        3, gt=0, description="outages: a gap in the beats longer than this is an outage")
    outage_detect_minutes: float = Field(
        10, gt=0, description="outages: look for new gaps this often (and at start-up)")

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "GRIDPATROL_SECRET_KEY is still the default: set a secret outside development")
        check_exposure(self.host, self.secret_key, self.admin_token)
        if self.outage_gap_minutes * 60 < 3 * self.liveness_tick_seconds:
            raise ValueError(
                "GRIDPATROL_OUTAGE_GAP_MINUTES must be at least 3 beats "
                "(GRIDPATROL_LIVENESS_TICK_SECONDS): a late beat is not an outage")
        if not profile_path(self.profile).is_file():
            # a township would be created with a profile no score view can load (500s)
            raise ValueError(
                f"GRIDPATROL_PROFILE {self.profile!r} is neither a packaged rule profile "
                f"({', '.join(list_profiles())}) nor a profile file")
        return self

    @property
    def liveness_on(self) -> bool:
        """Whether this process beats and detects outages (``liveness_enabled``, default
        on except in the test environment)."""
        if self.liveness_enabled is None:
            return self.environment != "test"
        return self.liveness_enabled

    @property
    def scheduler_on(self) -> bool:
        """Whether the server runs the scheduled jobs (``scheduler_enabled``, default on
        except in the test environment)."""
        if self.scheduler_enabled is None:
            return self.environment != "test"
        return self.scheduler_enabled

    @property
    def resolved_database_url(self) -> str:
        """``database_url`` or the SQLite file under ``data_dir`` (the folder is created)."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'gridpatrol.db').resolve()}"

    @property
    def resolved_backup_dir(self) -> Path:
        """``backup_dir`` or ``<data_dir>/backups``."""
        return self.backup_dir or self.data_dir / "backups"

    @property
    def resolved_admin_token(self) -> str | None:
        """The administrator bearer token: explicit; else on 127.0.0.1 only, derived from the
        secret key (an HMAC: not computable without it), or random per process while the
        secret is the default; else none (the office logs in)."""
        if self.admin_token:
            return self.admin_token
        if not is_loopback(self.host):
            return None
        if self.secret_key == DEFAULT_SECRET:
            return _PROCESS_ADMIN_TOKEN
        import hmac

        return hmac.new(self.secret_key.encode(), b"gridpatrol admin token",
                        hashlib.sha256).hexdigest()[:32]


@lru_cache
def get_settings() -> Settings:
    """The process's settings (cached; tests build their own ``Settings``)."""
    return Settings()
