"""Landing page and read-only overview endpoints (what the database holds).

The overview and the grids name every village of the township, so they need a township
office login or the administrator token (a village office sees its own village through
the office API); the landing page only redirects to the office login.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from checkins.office.overview import grids_geojson, overview
from server.deps import OfficeActor, SessionDep

router = APIRouter(tags=["overview"])


@router.get("/api/overview")
def get_overview(session: SessionDep, _actor: OfficeActor) -> dict[str, Any]:
    """Townships, villages, table counts and the time span of stored positions."""
    return overview(session)


@router.get("/api/grids")
def get_grids(session: SessionDep, _actor: OfficeActor) -> dict[str, Any]:
    """Grids and village offices as GeoJSON (WGS-84)."""
    return grids_geojson(session)


@router.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    """The landing page is the office login (no data without a login)."""
    return RedirectResponse("/office", status_code=303)
