"""Logins of the phone app: devices bound to workers, token families, revocation.

Every new phone is ``pending`` until a village office approves it (:func:`approve_device`,
one audit row per decision). A login yields an access JWT (short-lived) and a refresh token
(opaque, stored hashed, usable once). Using a refresh token twice revokes its whole family
(the login session): one of the two holders is a thief. Logout, a password reset and a device
revocation take effect on the next request, because every request checks the session,
the worker's token version and the device status (:func:`authenticate`).
"""

from __future__ import annotations

import datetime as dt
from collections import namedtuple
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.auth.models import Device, MobileAccount, MobileSession, RefreshToken
from checkins.auth.tokens import (
    AccessClaims,
    encode_access_token,
    hash_password,
    hash_refresh_token,
    new_id,
    new_refresh_token,
    verify_password,
)
from checkins.db.engine import begin_write, end_read_only
from checkins.township.models import Worker


class AuthError(Exception):
    """A refused login or token; ``status`` is the HTTP status, ``code`` the stable code."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class TokenSettings:
    """Token lifetimes and the signing secret."""

    secret: str
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 86400


@dataclass(frozen=True)
class IssuedTokens:
    """What a login or refresh hands to the phone."""

    access_token: str
    access_expires_in_s: int
    refresh_token: str
    refresh_expires_in_s: int
    worker_id: str
    device_id: int
    session_id: str


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a mobile request: one worker on one approved device."""

    worker_id: str
    device_id: int
    device_uid: str
    session_id: str
    role: str
    village_id: str


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def change_password(session: Session, *, worker_id: str, device_id: int | None,
                    old_password: str, new_password: str) -> bool:
    """Set a new password if ``old_password`` is the current one (every token of the worker
    is revoked by :func:`set_password`; audited); False, nothing changed, if it is not.
    The caller commits."""
    account = session.get(MobileAccount, worker_id)
    end_read_only(session)  # no snapshot held across the hash (SQLite)
    if account is None or not verify_password(account.password_hash, old_password):
        return False
    begin_write(session)
    set_password(session, worker_id, new_password)
    write_audit(session, actor=f"worker:{worker_id}", action="account.password_change",
                entity="worker", entity_id=worker_id, reason="changed in the app",
                after={"device_id": device_id})
    return True


def set_password(session: Session, worker_id: str, password: str) -> MobileAccount:
    """Set a worker's app password; bumps the token version, so every token dies at once."""
    account = session.get(MobileAccount, worker_id)
    if account is None:
        account = MobileAccount(worker_id=worker_id, password_hash=hash_password(password), token_version=1)
        session.add(account)
    else:
        account.password_hash = hash_password(password)
        account.token_version += 1
        account.password_changed_at = _now()
    session.flush()
    return account


def provision_accounts(session: Session, password: str, worker_ids: list[str] | None = None) -> int:
    """Give every active worker without an app account (or those listed) ``password``.

    For the demo township and first roll-outs; returns how many accounts were created.
    """
    q = sa.select(Worker.worker_id).where(Worker.active.is_(True)).where(
        ~sa.exists().where(MobileAccount.worker_id == Worker.worker_id))
    if worker_ids is not None:
        q = q.where(Worker.worker_id.in_(worker_ids))
    ids = list(session.scalars(q))
    pw_hash = hash_password(password)  # one hash for all: argon2 salts it, and it is slow
    for wid in ids:
        session.add(MobileAccount(worker_id=wid, password_hash=pw_hash, token_version=1))
    session.flush()
    return len(ids)


def register_device(
    session: Session, *, worker_id: str, device_uid: str, approved: bool = False,
    actor: str = "system", model: str | None = None,
) -> Device:
    """Register a phone for a worker (pending, or approved at once with an audit row)."""
    device = session.scalars(sa.select(Device).where(Device.device_uid == device_uid)).first()
    if device is None:
        device = Device(device_uid=device_uid, worker_id=worker_id, status="pending", model=model)
        session.add(device)
        session.flush()
    if approved and device.status != "approved":
        approve_device(session, device_id=device.id, actor=actor, reason="registered")
    return device


def _decide_device(session: Session, device_id: int, status: str, actor: str,
                   reason: str | None) -> Device:
    """Set a phone's status (approve / revoke), with who and when; one audit row."""
    device = session.get(Device, device_id)
    if device is None:
        raise LookupError(f"no device {device_id}")
    before = {"status": device.status, "worker_id": device.worker_id}
    device.status = status
    device.decided_at = _now()
    device.decided_by = actor
    after = {"status": status, "worker_id": device.worker_id}
    if status == "revoked":  # its sessions end at once
        session.execute(
            sa.update(MobileSession)
            .where(MobileSession.device_id == device_id, MobileSession.revoked_at.is_(None))
            .values(revoked_at=_now(), revoked_reason="device_revoked")
        )
    else:
        after["device_uid"] = device.device_uid
    session.flush()
    write_audit(session, actor=actor, action="device.approve" if status == "approved"
                else "device.revoke", entity="device", entity_id=str(device.id), reason=reason,
                before=before, after=after)
    return device


def approve_device(session: Session, *, device_id: int, actor: str, reason: str | None = None) -> Device:
    """Approve (bind) a pending or revoked phone for its worker; writes one audit row."""
    return _decide_device(session, device_id, "approved", actor, reason)


def revoke_device(session: Session, *, device_id: int, actor: str, reason: str | None = None) -> Device:
    """Revoke a phone: its sessions end at once; writes one audit row."""
    return _decide_device(session, device_id, "revoked", actor, reason)


def _issue(session: Session, s: MobileSession, settings: TokenSettings, now: dt.datetime) -> IssuedTokens:
    access, _exp = encode_access_token(
        secret=settings.secret, worker_id=s.worker_id, device_id=str(s.device_id),
        session_id=s.id, token_version=s.token_version, ttl_s=settings.access_ttl_s, now=now,
    )
    refresh = new_refresh_token()
    session.add(RefreshToken(
        token_hash=hash_refresh_token(refresh), session_id=s.id, issued_at=now,
        expires_at=now + dt.timedelta(seconds=settings.refresh_ttl_s),
    ))
    return IssuedTokens(
        access_token=access, access_expires_in_s=settings.access_ttl_s, refresh_token=refresh,
        refresh_expires_in_s=settings.refresh_ttl_s, worker_id=s.worker_id,
        device_id=s.device_id, session_id=s.id,
    )


def known_device(session: Session, *, phone: str, device_uid: str) -> bool:
    """Whether ``device_uid`` is an approved phone of the worker with number ``phone`` (the
    login throttle spares the owner's own phone the per-number limit strangers drain)."""
    return session.execute(
        sa.select(Device.id).join(Worker, Worker.worker_id == Device.worker_id)
        .where(Device.device_uid == device_uid, Device.status == "approved",
               Worker.phone == phone, Worker.active.is_(True)).limit(1)
    ).first() is not None


def login(
    session: Session, *, phone: str, password: str, device_uid: str, settings: TokenSettings,
    device_model: str | None = None, now: dt.datetime | None = None,
) -> IssuedTokens:
    """Check phone + password and the device binding; start a session (token family).

    Raises :class:`AuthError`: 401 ``bad_credentials``; 403 ``device_pending`` (a new phone
    is registered as pending and must be approved by the village office), ``device_revoked``
    or ``device_other_worker``. The caller commits (a pending device must be kept).
    """
    now = now or _now()
    row = session.execute(
        sa.select(Worker, MobileAccount)
        .join(MobileAccount, MobileAccount.worker_id == Worker.worker_id)
        .where(Worker.phone == phone, Worker.active.is_(True))
    ).first()
    end_read_only(session)  # no snapshot held across the password hash (SQLite)
    ok = verify_password(row[1].password_hash if row else None, password)
    if row is None or not ok:
        raise AuthError(401, "bad_credentials", "phone number or password is wrong")
    worker, account = row
    begin_write(session)  # the device row and the session are written from here on
    device = session.scalars(sa.select(Device).where(Device.device_uid == device_uid)).first()
    if device is None:
        device = Device(device_uid=device_uid, worker_id=worker.worker_id, status="pending",
                        model=device_model[:64] if device_model else None,  # the column's width
                        last_seen_at=now)
        session.add(device)
        session.flush()
        raise AuthError(403, "device_pending",
                        "this phone is not yet approved for your account; ask your village office")
    if device.worker_id != worker.worker_id:
        raise AuthError(403, "device_other_worker", "this phone is registered to another worker")
    if device.status == "pending":
        raise AuthError(403, "device_pending",
                        "this phone is not yet approved for your account; ask your village office")
    if device.status != "approved":
        raise AuthError(403, "device_revoked", "this phone's access was revoked by the office")
    device.last_seen_at = now
    s = MobileSession(id=new_id(), worker_id=worker.worker_id, device_id=device.id,
                      token_version=account.token_version, created_at=now)
    session.add(s)
    session.flush()
    return _issue(session, s, settings, now)


def refresh(session: Session, *, refresh_token: str, settings: TokenSettings,
            now: dt.datetime | None = None) -> IssuedTokens:
    """Rotate a refresh token. Reuse of a used token revokes the whole family.

    The caller must commit even when this raises ``refresh_reused`` (the revocation).
    """
    now = now or _now()
    token = session.get(RefreshToken, hash_refresh_token(refresh_token))
    if token is None:
        raise AuthError(401, "refresh_invalid", "refresh token unknown")
    s = session.get(MobileSession, token.session_id)
    if token.used_at is not None:
        if s is not None and s.revoked_at is None:
            s.revoked_at = now
            s.revoked_reason = "refresh_reused"
            session.flush()
        raise AuthError(401, "refresh_reused", "refresh token already used; the session is revoked")
    if s is None or s.revoked_at is not None:
        raise AuthError(401, "token_revoked", "session ended; log in again")
    if token.expires_at <= now:
        raise AuthError(401, "refresh_invalid", "refresh token expired; log in again")
    _check_live(session, s)
    # mark used with a guarded UPDATE so two concurrent refreshes cannot both win
    res = session.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.token_hash == token.token_hash, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        s.revoked_at = now
        s.revoked_reason = "refresh_reused"
        session.flush()
        raise AuthError(401, "refresh_reused", "refresh token already used; the session is revoked")
    return _issue(session, s, settings, now)


def _check_live(session: Session, s: MobileSession) -> tuple[Device, Worker]:
    account = session.get(MobileAccount, s.worker_id)
    if account is None or account.token_version != s.token_version:
        raise AuthError(401, "token_revoked", "password changed or sessions reset; log in again")
    device = session.get(Device, s.device_id)
    if device is None or device.status != "approved" or device.worker_id != s.worker_id:
        raise AuthError(403, "device_revoked", "this phone's access was revoked by the office")
    worker = session.get(Worker, s.worker_id)
    if worker is None or not worker.active:
        raise AuthError(401, "token_revoked", "account disabled")
    return device, worker


def logout(session: Session, *, session_id: str, now: dt.datetime | None = None) -> None:
    """End a session: its access and refresh tokens are refused from now on."""
    s = session.get(MobileSession, session_id)
    if s is not None and s.revoked_at is None:
        s.revoked_at = now or _now()
        s.revoked_reason = "logout"
        session.flush()


def revoke_all(session: Session, *, worker_id: str) -> None:
    """Force-logout a worker everywhere (bumps the token version)."""
    account = session.get(MobileAccount, worker_id)
    if account is not None:
        account.token_version += 1
        session.flush()


# one plain statement per request (no ORM entities): session, account, device, worker
_PRINCIPAL_SQL = sa.text(
    "SELECT s.worker_id, s.device_id, s.token_version, s.revoked_at, "
    "a.token_version AS account_version, d.status, d.worker_id AS device_worker_id, "
    "d.device_uid, w.role, w.village_id, w.active "
    "FROM mobile_session s "
    "JOIN mobile_account a ON a.worker_id = s.worker_id "
    "JOIN device d ON d.id = s.device_id "
    "JOIN worker w ON w.worker_id = s.worker_id "
    "WHERE s.id = :sid"
)
_PRINCIPAL_PG = str(_PRINCIPAL_SQL).replace(":sid", "%s")


_PrincipalRow = namedtuple("_PrincipalRow", "worker_id device_id token_version revoked_at account_version "
                           "status device_worker_id device_uid role village_id active")


def _principal_row(session: Session, session_id: str) -> _PrincipalRow | None:
    """The session/account/device/worker row; on PostgreSQL straight through the driver."""
    if session.get_bind().dialect.name == "postgresql":
        dbapi_conn = session.connection().connection.dbapi_connection
        with dbapi_conn.cursor() as cur:
            cur.execute(_PRINCIPAL_PG, (session_id,))
            r = cur.fetchone()
        return None if r is None else _PrincipalRow(*r)
    r = session.execute(_PRINCIPAL_SQL, {"sid": session_id}).first()
    return None if r is None else _PrincipalRow(*r)


def authenticate(session: Session, claims: AccessClaims) -> Principal:
    """Check a decoded access token against the live session, account and device (one query)."""
    row = _principal_row(session, claims.session_id)
    if row is None or row.worker_id != claims.worker_id or str(row.device_id) != claims.device_id:
        raise AuthError(401, "token_invalid", "access token does not match a session")
    if row.revoked_at is not None:
        raise AuthError(401, "token_revoked", "session ended; log in again")
    if row.account_version != claims.token_version or row.token_version != claims.token_version:
        raise AuthError(401, "token_revoked", "password changed or sessions reset; log in again")
    if row.status != "approved" or row.device_worker_id != row.worker_id:
        raise AuthError(403, "device_revoked", "this phone's access was revoked by the office")
    if not row.active:
        raise AuthError(401, "token_revoked", "account disabled")
    return Principal(worker_id=row.worker_id, device_id=row.device_id, device_uid=row.device_uid,
                     session_id=claims.session_id, role=row.role, village_id=row.village_id)
