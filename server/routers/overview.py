"""Landing page and read-only overview endpoints (what the database holds)."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from checkins.overview import grids_geojson, overview
from server.deps import SessionDep

router = APIRouter(tags=["overview"])


@router.get("/api/overview")
def get_overview(session: SessionDep) -> dict[str, Any]:
    """Townships, villages, table counts and the time span of stored positions."""
    return overview(session)


@router.get("/api/grids")
def get_grids(session: SessionDep) -> dict[str, Any]:
    """Grids and village offices as GeoJSON (WGS-84)."""
    return grids_geojson(session)


@router.get("/", response_class=HTMLResponse)
def index(session: SessionDep) -> str:
    """A plain landing page listing the township and links to the API."""
    ov = overview(session)
    town = ", ".join(html.escape(t["name"]) for t in ov["townships"]) or "(no township yet)"
    rows = "".join(
        f"<tr><td>{html.escape(v['village_id'])}</td><td>{html.escape(v['name'])}</td>"
        f"<td>{v['grids']}</td><td>{v['workers']}</td></tr>" for v in ov["villages"])
    counts = "".join(f"<li>{k}: {n}</li>" for k, n in ov["counts"].items())
    return (
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'><title>gridpatrol</title>"
        "</head><body><h1>gridpatrol · " + town + "</h1>"
        "<table border='1' cellpadding='4'><tr><th>village</th><th>name</th><th>grids</th>"
        "<th>workers</th></tr>" + rows + "</table><ul>" + counts + "</ul>"
        f"<p>positions: {ov['positions_from']} … {ov['positions_to']}</p>"
        "<p><a href='/health'>/health</a> · <a href='/api/overview'>/api/overview</a> · "
        "<a href='/api/grids'>/api/grids</a> · <a href='/docs'>/docs</a></p></body></html>")
