"""Credentials of the mobile app: argon2 password hashes, access JWTs, opaque refresh tokens.

Pure helpers (no database): the stateful parts (sessions, token families, revocation)
live in :mod:`checkins.auth.phone`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

JWT_ALGORITHM = "HS256"
# Only this list is accepted when decoding: "none" and every asymmetric algorithm are refused.
JWT_ALGORITHMS = [JWT_ALGORITHM]
JWT_AUDIENCE = "gridpatrol-mobile"

_hasher = PasswordHasher()
# a valid hash of a random password, verified against when the phone is unknown, so that
# "unknown phone" and "wrong password" take the same time
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def use_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Swap the argon2 parameters (tests use argon2's cheapest profile); returns the old one.

    Verification always uses the parameters stored in each hash, so hashes made with other
    parameters keep verifying.
    """
    global _hasher, _DUMMY_HASH
    old, _hasher = _hasher, hasher
    _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    return old


def hash_password(password: str) -> str:
    """Argon2id hash of a password (argon2-cffi defaults, RFC 9106 low-memory profile)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; constant work for a missing hash."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """SHA-256 hex of a refresh token: only this is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_id() -> str:
    """A random identifier (UUID4 hex) for sessions, tokens and uploads."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class AccessClaims:
    """What an access token proves: worker, device, session (token family) and versions."""

    worker_id: str
    device_id: str
    session_id: str
    token_version: int
    expires_at: dt.datetime
    jti: str


class TokenError(Exception):
    """An access token that cannot be used; ``code`` is ``token_invalid`` or ``token_expired``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode_access_token(
    *,
    secret: str,
    worker_id: str,
    device_id: str,
    session_id: str,
    token_version: int,
    ttl_s: int,
    now: dt.datetime | None = None,
) -> tuple[str, dt.datetime]:
    """Sign a short-lived access JWT (HS256); return it with its expiry time (UTC)."""
    now = now or dt.datetime.now(dt.UTC)
    exp = now + dt.timedelta(seconds=ttl_s)
    payload = {
        "sub": worker_id,
        "did": device_id,
        "sid": session_id,
        "ver": token_version,
        "typ": "access",
        "aud": JWT_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "jti": new_id(),
    }
    return jwt.encode(payload, secret, algorithm=JWT_ALGORITHM), exp


def decode_access_token(token: str, *, secret: str, leeway_s: int = 0) -> AccessClaims:
    """Verify signature, algorithm (HS256 only), audience and expiry; raise :class:`TokenError`."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=JWT_ALGORITHMS,
            audience=JWT_AUDIENCE,
            leeway=leeway_s,
            options={"require": ["exp", "iat", "sub", "aud", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token_expired", "access token expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("token_invalid", f"access token refused: {exc}") from exc
    try:
        if payload.get("typ") != "access":
            raise ValueError("not an access token")
        return AccessClaims(
            worker_id=str(payload["sub"]),
            device_id=str(payload["did"]),
            session_id=str(payload["sid"]),
            token_version=int(payload["ver"]),
            expires_at=dt.datetime.fromtimestamp(int(payload["exp"]), dt.UTC),
            jti=str(payload["jti"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError("token_invalid", "access token refused: bad claims") from exc
