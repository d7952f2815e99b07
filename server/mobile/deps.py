"""Dependencies of the mobile API: settings, rate limits, the authenticated worker (the session: server.deps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session

from checkins.auth import phone as auth
from checkins.auth.tokens import TokenError, decode_access_token
from server.deps import SessionDep
from server.mobile import errors as E
from server.mobile.config import MobileSettings, get_mobile_settings
from server.mobile.errors import ApiError
from server.mobile.ratelimit import TokenBucket


def app_engine(request: Request) -> Engine:
    """The app's database engine (``app.state.engine``)."""
    return request.app.state.engine


def app_settings(request: Request):  # type: ignore[no-untyped-def]
    """The app's core settings (``app.state.settings`` or the process settings)."""
    s = getattr(request.app.state, "settings", None)
    if s is None:
        from server.settings import get_settings

        s = get_settings()
    return s


def mobile_settings(request: Request) -> MobileSettings:
    """The mobile API's settings (``app.state.mobile_settings`` or from the environment)."""
    return getattr(request.app.state, "mobile_settings", None) or get_mobile_settings()


class Bucket(Protocol):
    """A table of token buckets: ``take`` answers 0 when allowed, else seconds to wait."""

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float: ...


@dataclass
class Limiters:
    """The app's rate limit tables (shared through the database, or this process's)."""

    login_phone: Bucket  # per phone number, for logins from devices not approved for it
    login_device: Bucket  # per phone number + device id
    login_ip: Bucket  # per source address
    upload: Bucket


def make_limiters(engine: Engine, ms: MobileSettings) -> Limiters:
    """The limit tables the settings ask for (``limit_store``, ``upload_limit_store``)."""
    from checkins.auth.throttle import SharedBuckets

    def table(name: str, store: str, capacity: float, rate_per_s: float) -> Bucket:
        if store == "database":
            return SharedBuckets(engine, name, capacity, rate_per_s)
        return TokenBucket(capacity, rate_per_s)

    return Limiters(
        login_phone=table("login_phone", ms.limit_store, ms.login_burst, ms.login_per_min / 60.0),
        login_device=table("login_device", ms.limit_store, ms.login_burst,
                           ms.login_per_min / 60.0),
        login_ip=table("login_ip", ms.limit_store, ms.login_ip_burst, ms.login_ip_per_min / 60.0),
        upload=table("upload", ms.upload_limit_store, ms.upload_burst, ms.upload_per_s),
    )


def limiters(request: Request) -> Limiters:
    """Rate limiters of this app (created on first use from the mobile settings)."""
    lim = getattr(request.app.state, "mobile_limiters", None)
    if lim is None:
        lim = make_limiters(app_engine(request), mobile_settings(request))
        request.app.state.mobile_limiters = lim
    return lim


def rate_limit(bucket: Bucket, key: str, what: str) -> None:
    """Raise 429 ``rate_limited`` with Retry-After when ``key`` has no token left."""
    wait_s = bucket.take(key)
    if wait_s > 0:
        raise ApiError(429, E.RATE_LIMITED, f"too many {what}; retry in {wait_s:.0f} s",
                       headers={"Retry-After": str(max(1, int(wait_s + 0.999)))})


def token_settings(request: Request) -> auth.TokenSettings:
    """Secret and lifetimes for issuing and checking tokens."""
    ms = mobile_settings(request)
    return auth.TokenSettings(secret=app_settings(request).secret_key,
                              access_ttl_s=ms.access_ttl_s, refresh_ttl_s=ms.refresh_ttl_s)


def bearer_claims(request: Request):  # type: ignore[no-untyped-def]
    """Decode the ``Authorization: Bearer`` access token (signature, HS256 only, expiry)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, E.TOKEN_MISSING, "an access token is required",
                       headers={"WWW-Authenticate": "Bearer"})
    try:
        return decode_access_token(token.strip(), secret=app_settings(request).secret_key)
    except TokenError as exc:
        raise ApiError(401, exc.code, exc.message, headers={"WWW-Authenticate": "Bearer"}) from exc


def authenticate(session: Session, claims) -> auth.Principal:  # type: ignore[no-untyped-def]
    """Check the token against the live session/account/device; raise ApiError if refused."""
    try:
        return auth.authenticate(session, claims)
    except auth.AuthError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from exc


def current_worker(request: Request, session: SessionDep) -> auth.Principal:
    """The authenticated worker of this request (every request re-checks revocation)."""
    return authenticate(session, bearer_claims(request))


WorkerDep = Annotated[auth.Principal, Depends(current_worker)]
