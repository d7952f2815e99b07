"""Request dependencies shared by the routers: database session, settings, office token."""

from __future__ import annotations

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


def require_office(settings: Annotated[Settings, Depends(get_settings_dep)],
                   authorization: Annotated[str | None, Header()] = None) -> str:
    """Check ``Authorization: Bearer <admin token>``; returns the actor name for audit rows.

    Temporary guard until office-user login exists (issue on office auth).
    """
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not token or not hmac.compare_digest(token, settings.resolved_admin_token):
        raise HTTPException(401, "office token required", headers={"WWW-Authenticate": "Bearer"})
    return "admin-token"


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
OfficeActor = Annotated[str, Depends(require_office)]
