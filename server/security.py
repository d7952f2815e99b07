"""Browser-facing protections of the whole app: security headers and CSRF (issue 15).

**Headers** (every response): a Content-Security-Policy (scripts and styles from this server
only, Leaflet is vendored; map tiles from the configured tile server; no framing), the same
``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
same-origin``, and ``Cache-Control: no-store`` on everything but the static files (pages and
API answers carry tracks and names).

**CSRF** (the office side, whose login is an ambient cookie): every state-changing request
(POST/PUT/PATCH/DELETE outside the mobile API) that a browser could send by itself is checked
by :func:`csrf_protect`, an app-wide dependency, so a new route is covered without doing
anything:

* ``Origin`` (else ``Referer``), when sent, must be this server (scheme-less host:port of the
  ``Host`` header): a page on another port or a sibling subdomain is refused;
* with the session cookie, the request must carry the token of that session (form field
  ``csrf_token`` or header ``X-CSRF-Token``): an HMAC of the session cookie under the
  server's secret, so it changes with every login and cannot be made without the secret;
* the login form (``POST /office/login``) carries a pre-session token, bound to a random
  ``gp_csrf`` cookie set when the form is shown (login CSRF: a foreign form cannot log the
  browser in as someone else).

Requests with an ``Authorization`` header (the admin token, scripts, the phone app) carry no
ambient credential and are not checked. In templates: ``{{ csrf_field() }}`` inside every
``<form method="post">``; ``{{ csrf_token() }}`` for JavaScript (``X-CSRF-Token``); both are
Jinja globals added by :func:`install_template_globals` (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import pass_context
from markupsafe import Markup, escape

FIELD = "csrf_token"
HEADER = "x-csrf-token"
PRE_COOKIE = "gp_csrf"  # pre-session token of the login form
SESSION_COOKIE = "gp_office"  # server.office.auth.COOKIE (not imported: no import cycle)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
LOGIN_FORMS = frozenset({"/office/login"})
STATIC_PREFIXES = ("/office/static/",)


class CsrfRefused(Exception):
    """A state-changing browser request without a valid token or from another origin."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _secret(request: Request) -> bytes:
    return str(request.app.state.settings.secret_key).encode()


def _mac(request: Request, purpose: str, value: str) -> str:
    return hmac.new(_secret(request), f"csrf:{purpose}:{value}".encode(),
                    hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    """The CSRF token of this browser: of its office session, or of its pre-session cookie
    (one is created, and set on the response, if the browser has none)."""
    session_cookie = request.cookies.get(SESSION_COOKIE)
    if session_cookie:
        return _mac(request, "session", session_cookie)
    pre = request.cookies.get(PRE_COOKIE) or getattr(request.state, "csrf_pre_new", None)
    if not pre:
        pre = request.state.csrf_pre_new = secrets.token_urlsafe(24)
    return _mac(request, "pre", pre)


@pass_context
def _csrf_token(ctx: Any) -> str:
    return token_for(ctx["request"])


@pass_context
def _csrf_field(ctx: Any) -> Markup:
    value = escape(token_for(ctx["request"]))
    return Markup(f'<input type="hidden" name="{FIELD}" value="{value}">')


def install_template_globals(env: Any) -> None:
    """Add ``csrf_field()`` and ``csrf_token()`` to a Jinja environment (templates need
    ``request`` in their context, as ``TemplateResponse`` gives them)."""
    env.globals.update(csrf_field=_csrf_field, csrf_token=_csrf_token)


def _same_origin(request: Request) -> bool:
    """False when Origin (else Referer) names another host:port than this request's Host."""
    host = request.headers.get("host", "").lower()
    origin = request.headers.get("origin")
    if origin is not None:
        if origin == "null":  # sandboxed frames, data: URLs, some redirects
            return False
        return urlsplit(origin).netloc.lower() == host
    referer = request.headers.get("referer")
    if referer:
        return urlsplit(referer).netloc.lower() == host
    return True  # neither sent (curl, privacy proxies): the token decides


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: refuse cross-origin or token-less state changes by a browser."""
    if request.method in SAFE_METHODS:
        return
    path = request.url.path
    if path.startswith("/api/mobile/"):  # bearer tokens only, no cookie is ever read there
        return
    if request.headers.get("authorization"):  # not ambient: a script or the admin token
        return
    if not _same_origin(request):
        raise CsrfRefused("cross-origin request")
    session_cookie = request.cookies.get(SESSION_COOKIE)
    if session_cookie:
        expected = _mac(request, "session", session_cookie)
    elif path in LOGIN_FORMS:
        pre = request.cookies.get(PRE_COOKIE)
        if not pre:
            raise CsrfRefused("login form without its cookie")
        expected = _mac(request, "pre", pre)
    else:
        return  # no ambient credential: the route's own authentication answers
    given = request.headers.get(HEADER)
    if given is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(FIELD)
            given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused("missing or wrong CSRF token")


# ---------------------------------------------------------------- headers
def content_security_policy(tile_url: str | None) -> str:
    """The pages' policy: everything from this server, map tiles from the tile server."""
    img = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "x"))
        host = parts.netloc
        if "{s}" in tile_url.split("/")[2]:  # Leaflet's subdomains a/b/c
            host = "*." + host.split(".", 1)[1]
        img.append(f"{parts.scheme}://{host}")
    return ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            f"img-src {' '.join(img)}; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


# FastAPI's /docs and /redoc load Swagger UI / ReDoc from jsdelivr with an inline script
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
            "font-src 'self' https://fonts.gstatic.com; worker-src blob:; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = ("/docs", "/redoc")


def install(app: FastAPI) -> None:
    """The CSRF error handler and the headers middleware (``server.app.create_app``)."""
    from server.office.config import get_office_settings

    csp = content_security_policy(get_office_settings().tile_url)

    @app.exception_handler(CsrfRefused)
    async def _refused(request: Request, exc: CsrfRefused) -> Response:
        if request.url.path.startswith("/office"):
            return HTMLResponse(
                "<!doctype html><meta charset='utf-8'><h1>403</h1><p>页面已过期或来源不明，"
                "请返回后刷新页面再提交 (CSRF check failed).</p><a href='/office'>返回</a>", 403)
        return JSONResponse({"error": f"forbidden: {exc.why} (send the X-CSRF-Token header "
                                      "of your session, from this site)"}, 403)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        h = response.headers
        path = request.url.path
        h.setdefault("Content-Security-Policy",
                     DOCS_CSP if path.startswith(DOCS_PATHS) else csp)
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        if not path.startswith(STATIC_PREFIXES):
            h["Cache-Control"] = "no-store"
        pre = getattr(request.state, "csrf_pre_new", None)
        if pre:  # a form was shown to a browser without a pre-session cookie
            secure = request.app.state.settings.environment == "production"
            response.set_cookie(PRE_COOKIE, pre, httponly=True, samesite="strict",
                                secure=secure, path="/", max_age=12 * 3600)
        return response
