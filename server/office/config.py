"""Settings of the office pages (``GRIDPATROL_OFFICE_*``); every field has a default."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OfficeSettings(BaseSettings):
    """Map tiles of the worker-day page and the login session lifetime."""

    model_config = SettingsConfigDict(env_prefix="GRIDPATROL_OFFICE_", extra="ignore")

    tile_url: str | None = Field(
        None, description="base map tile URL template ({z}/{x}/{y}), e.g. a local tile "
        "server; None: a plain background (no internet needed)")
    tile_attribution: str = Field("", description="attribution text shown with the tiles")
    tile_max_zoom: int = Field(19, description="largest zoom of the tile source")


@lru_cache
def get_office_settings() -> OfficeSettings:
    """The process's office settings (cached)."""
    return OfficeSettings()
