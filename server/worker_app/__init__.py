"""The worker web app (PWA) at ``/app``: static files served by the same server.

The app is plain files (HTML, one CSS, ES modules; no inline script, so a strict CSP fits):
``/app/`` the shell, ``/app/sw.js`` the service worker (served from ``/app/`` so that its
scope is the app), ``/app/manifest.webmanifest``, ``/app/static/...`` the rest. It talks
only to ``/api/mobile/v1``. docs/worker-app.md.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.mobile.deps import app_settings

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


@lru_cache(maxsize=8)
def _words(profile: str) -> bytes:
    from scoring.profiles import load_profile

    labels = load_profile(profile).labels
    return json.dumps({"cause": labels.get("cause", {})}, ensure_ascii=False).encode()


@router.get("/app/words.json")
def words(request: Request) -> Response:
    """The rule words the app shows, from the word catalogue (scoring/words.zh-CN.yaml, with
    the township profile's own wording): the GEO-PHONEOFF causes of the flags on 我的积分,
    so the worker reads the same words as the office."""
    return Response(_words(app_settings(request).profile), media_type="application/json",
                    headers=_NO_STALE)


def register(app: Any) -> None:
    """Hook for ``server.app``."""
    app.include_router(router)
    app.mount("/app/static", StaticFiles(directory=str(STATIC)), name="worker-app-static")
