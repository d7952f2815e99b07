"""The village/township office: JSON API (``/api/office``), browser pages (``/office``),
static assets (``/office/static``: Leaflet 1.9.4 vendored, the pages' CSS and JS).

Errors are answered the same way everywhere: no or bad credentials -> 401 (API) or a
redirect to the login page (pages); an object outside the caller's village scope -> 404;
a role that may not use an endpoint -> 403; a decision that cannot be taken -> its status.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from checkins.auth.office import NotVisible
from checkins.office.decisions import DecisionError
from server.office.auth import LoginRequired
from server.office.errors import error_response

STATIC = Path(__file__).parent / "static"


def _is_page(request: Request) -> bool:
    return request.url.path.startswith("/office")


def register(app: FastAPI) -> None:
    """Include the office API and pages, mount the static files, add the error handlers."""
    from urllib.parse import quote

    from server.office import api, cases, pages

    app.include_router(api.router)
    app.include_router(pages.router)
    from server.office import accounts  # workers' app accounts: codes, resets

    app.include_router(accounts.router)
    app.include_router(cases.router)
    app.mount("/office/static", StaticFiles(directory=str(STATIC)), name="office-static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        if _is_page(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/office/login?next={quote(target)}", status_code=303)
        return JSONResponse({"error": "login_required", "message": "请先登录"}, 401,
                            headers={"WWW-Authenticate": 'Bearer realm="gridpatrol office"'})

    @app.exception_handler(NotVisible)
    async def _not_visible(request: Request, exc: NotVisible) -> Response:
        return error_response(request, 404)

    @app.exception_handler(DecisionError)
    async def _decision_error(request: Request, exc: DecisionError) -> Response:
        return error_response(request, exc.status, message=str(exc), code=exc.code,
                              field=exc.field)
