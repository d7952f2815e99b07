"""Request dependencies shared by the routers: database session, settings.

Office credentials and scope: :mod:`server.office.auth`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
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
    """A session for one request; the handler commits what it means to keep.

    A handler that reads then writes on SQLite calls :func:`checkins.db.engine.write_here`
    first (in its own body, not here: the write lock must not be held across the hops
    between the threadpool and the event loop, where lock waiters can starve its holder).
    """
    with Session(request.app.state.engine, expire_on_commit=False) as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def require_office(request: Request, session: SessionDep, settings: SettingsDep) -> str:
    """A township office user or the administrator (token or login session); the audit actor.

    401 without valid credentials, 403 for a village office; see :mod:`server.office.auth`.
    """
    from server.office.auth import office_scope, township_scope

    return township_scope(office_scope(request, session, settings)).actor


OfficeActor = Annotated[str, Depends(require_office)]
