"""Settings of the mobile API (``GRIDPATROL_MOBILE_*``); the secret comes from the core settings."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class MobileSettings(BaseSettings):
    """Limits and lifetimes of the mobile API; every field has a default."""

    model_config = SettingsConfigDict(env_prefix="GRIDPATROL_MOBILE_", extra="ignore")

    access_ttl_s: int = Field(900, description="access token lifetime")
    refresh_ttl_s: int = Field(30 * 86400, description="refresh token lifetime")
    max_body_bytes: int = Field(1_048_576, description="largest JSON body (413 above)")
    max_photo_bytes: int = Field(8 * 1_048_576, description="largest photo of a patrol log")
    max_photo_pixels: int = Field(40_000_000, description="largest photo in pixels (bombs)")
    login_burst: float = Field(
        5, description="logins per phone number + device, and per phone number from "
        "devices not approved for it, without waiting")
    login_per_min: float = Field(5, description="login refill rate of those buckets")
    login_ip_burst: float = Field(
        30, description="logins per source address without waiting (generous: a village's "
        "phones may share one carrier NAT address)")
    login_ip_per_min: float = Field(30, description="login refill rate per source address")
    upload_burst: float = Field(120, description="position uploads per device without waiting")
    upload_per_s: float = Field(2.0, description="upload refill rate per device")
    max_age_days: float = Field(180, description="fixes older than this are refused (retention)")
    max_ahead_days: float = Field(2, description="fixes further ahead are refused, not stored")
    limit_store: Literal["database", "process"] = Field(
        "database", description="where the login and password-check buckets live: the "
        "database (shared by every API process) or this process")
    upload_limit_store: Literal["database", "process"] = Field(
        "process", description="where the per-device upload buckets live (database: shared, "
        "one more short write per upload)")
    grid_cache_s: float = Field(
        5.0, description="seconds a loaded grid index is used before checking the grid table")


@lru_cache
def get_mobile_settings() -> MobileSettings:
    """The process's mobile settings (cached)."""
    return MobileSettings()
