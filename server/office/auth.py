"""Office request dependencies: the caller's :class:`OfficeScope` from a cookie or a token.

Every office endpoint (API and pages) takes :data:`ScopeDep` (or a stricter alias); nothing
else decides who sees what. Accepted credentials, in order: ``Authorization: Bearer
<GRIDPATROL_ADMIN_TOKEN>`` (administrator), ``Authorization: Bearer <session token>`` from
``POST /api/office/login``, the ``gp_office`` cookie set by the login page or the login API.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from checkins.auth.office import OfficeScope, admin_scope, resolve
from server.deps import SessionDep, SettingsDep

COOKIE = "gp_office"


class LoginRequired(Exception):
    """No valid office credentials: 401 for the API, a redirect to the login page for pages."""


def token_of(request: Request) -> str | None:
    """The bearer token or the session cookie of the request, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.cookies.get(COOKIE) or None


def client_address(request: Request) -> str:
    """The client's address (behind a proxy: as uvicorn's ``--proxy-headers`` gives it), the
    source of the office login throttle."""
    return request.client.host if request.client else "-"


def office_scope(request: Request, session: SessionDep, settings: SettingsDep) -> OfficeScope:
    """The scope of the caller; :class:`LoginRequired` without valid credentials."""
    token = token_of(request)
    if token is None:
        raise LoginRequired()
    admin = settings.resolved_admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.encode()):
        return admin_scope()
    scope = resolve(session, token)
    if scope is None:
        raise LoginRequired()
    return scope


def township_scope(scope: Annotated[OfficeScope, Depends(office_scope)]) -> OfficeScope:
    """A township office user or an administrator, else 403."""
    if not scope.all_villages:
        raise HTTPException(403, "township office or administrator role required")
    return scope


def office_actor(scope: Annotated[OfficeScope, Depends(township_scope)]) -> str:
    """The audit actor of a township office or administrator request (imports)."""
    return scope.actor


ScopeDep = Annotated[OfficeScope, Depends(office_scope)]
TownshipScopeDep = Annotated[OfficeScope, Depends(township_scope)]
OfficeActor = Annotated[str, Depends(office_actor)]
