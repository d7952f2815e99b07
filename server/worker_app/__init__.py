"""The worker web app (PWA) at ``/app``: static files served by the same server.

The app is plain files (HTML, one CSS, ES modules; no inline script, so a strict CSP fits):
``/app/`` the shell, ``/app/sw.js`` the service worker (served from ``/app/`` so that its
scope is the app), ``/app/manifest.webmanifest``, ``/app/static/...`` the rest. It talks
only to ``/api/mobile/v1``. docs/worker-app.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
# the shell and the service worker must be revalidated, or a phone keeps an old app forever
_NO_STALE = {"Cache-Control": "no-cache"}


@router.get("/app")
def app_root() -> RedirectResponse:
    """``/app`` -> ``/app/`` (relative URLs of the shell resolve under ``/app/``)."""
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/")
def shell() -> FileResponse:
    """The app shell."""
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8",
                        headers=_NO_STALE)


@router.get("/app/sw.js")
def service_worker() -> FileResponse:
    """The service worker (an ES module), scope ``/app/``."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript; charset=utf-8",
                        headers=_NO_STALE)


@router.get("/app/manifest.webmanifest")
def manifest() -> FileResponse:
    """The web app manifest (installable)."""
    return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json",
                        headers=_NO_STALE)


def register(app: Any) -> None:
    """Hook for ``server.app``."""
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=str(STATIC)), name="worker-app-static")
