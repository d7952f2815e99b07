"""Request dependencies shared by the routers: database session, settings, office token."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.settings import Settings


def get_engine(request: Request) -> Engine:
    """The app's engine (``app.state.engine``)."""
    return request.app.state.engine


def get_settings_dep(request: Request) -> Settings:
    """The app's settings (``app.state.settings``)."""
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """A session for one request; the handler commits what it means to keep."""
    with Session(request.app.state.engine, expire_on_commit=False) as s:
        yield s


def require_office(session: Annotated[Session, Depends(get_session)],
                   settings: Annotated[Settings, Depends(get_settings_dep)],
                   authorization: Annotated[str | None, Header()] = None) -> str:
    """A township office user (HTTP Basic) or the admin bearer token; the actor for audit.

    Temporary guard until the office login issue: ``Authorization: Basic`` with an office
    user of role ``township_office`` or ``admin``, or ``Authorization: Bearer <admin token>``.
    """
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip() and hmac.compare_digest(
            value.strip().encode(), settings.resolved_admin_token.encode()):
        return "admin-token"
    if scheme.lower() == "basic" and value:
        try:
            username, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            username, password = "", ""
        from checkins.offices import authenticate

        user = authenticate(session, username, password) if username else None
        if user is not None:
            if user.role not in ("township_office", "admin"):
                raise HTTPException(403, "township office or admin role required")
            return f"office:{username}"
    raise HTTPException(401, "office credentials required",
                        headers={"WWW-Authenticate": 'Basic realm="gridpatrol office"'})


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
OfficeActor = Annotated[str, Depends(require_office)]
