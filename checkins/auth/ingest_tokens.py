"""Ingest secrets of tracking apps (Traccar Client, OwnTracks): one per approved phone.

A village office approves a phone *for a tracking app*: that makes a :class:`Device` row
(``platform`` = the app, ``device_uid`` = ``app-<key>``, status ``approved``) and a secret,
shown once. The app presents ``<key>.<secret>`` (Traccar Client: in the URL path, since its
QR configuration drops query strings) or HTTP Basic ``<key>:<secret>`` (OwnTracks). The
secret is never the worker's password; only its argon2 hash is stored (``device.token_hash``,
the project's one hasher, :mod:`checkins.auth.tokens`). Revoking the device
(:func:`checkins.auth.phone.revoke_device`) stops the secret on the next request: every
request reads the device row.

Verifying argon2 on every fix would cost ~50 ms of CPU a request; a verified
(device, stored hash, presented secret) triple is remembered in this process, so a
re-issued or revoked secret is never served from memory (the key holds the stored hash, and
the status is read each time).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.auth.models import Device
from checkins.auth.phone import AuthError, approve_device
from checkins.auth.tokens import hash_password, verify_password
from checkins.township.models import Worker

TRACKING_APPS = ("traccar", "owntracks")
UID_PREFIX = "app-"


@dataclass(frozen=True)
class IssuedIngestToken:
    """What the office hands to the phone once (the secret is not kept)."""

    device_id: int
    worker_id: str
    app: str
    key: str
    secret: str

    @property
    def token(self) -> str:
        """``<key>.<secret>``: Traccar Client's path token."""
        return f"{self.key}.{self.secret}"


@dataclass(frozen=True)
class AppPrincipal:
    """The caller of an ingest request: a tracking app on one approved phone of a worker."""

    worker_id: str
    device_id: int
    app: str


def issue_ingest_token(session: Session, *, worker_id: str, app: str, actor: str,
                       reason: str | None = None) -> IssuedIngestToken:
    """Approve a new phone of ``worker_id`` for ``app`` and return its secret (audited)."""
    if app not in TRACKING_APPS:
        raise ValueError(f"app must be one of {', '.join(TRACKING_APPS)}")
    worker = session.get(Worker, worker_id)
    if worker is None or not worker.active:
        raise LookupError(f"no active worker {worker_id}")
    key = secrets.token_hex(6)
    secret = secrets.token_urlsafe(24)
    device = Device(device_uid=f"{UID_PREFIX}{key}", worker_id=worker_id, status="pending",
                    platform=app, model=app, token_hash=hash_password(secret))
    session.add(device)
    session.flush()
    approve_device(session, device_id=device.id, actor=actor,
                   reason=reason or f"tracking app {app}")
    write_audit(session, actor=actor, action="device.ingest_token", entity="device",
                entity_id=str(device.id), reason=reason,
                after={"worker_id": worker_id, "app": app, "key": key})
    return IssuedIngestToken(device_id=device.id, worker_id=worker_id, app=app, key=key,
                             secret=secret)


def split_token(token: str) -> tuple[str, str]:
    """``<key>.<secret>`` -> (key, secret); ('', '') when it has no such shape."""
    key, sep, secret = token.partition(".")
    return (key, secret) if sep and key and secret else ("", "")


_verified: dict[tuple[int, str, str], bool] = {}
_lock = threading.Lock()
_MAX_CACHED = 50_000


def authenticate_app(session: Session, key: str, secret: str, app: str) -> AppPrincipal:
    """The phone behind ``key``/``secret`` for ``app``; :class:`AuthError` otherwise.

    401 ``ingest_token_invalid``: unknown key, wrong secret or another app's secret;
    403 ``ingest_token_revoked``: the office revoked the phone (or the worker left).
    """
    row = None
    if key and secret and len(key) <= 32:
        row = session.execute(
            sa.select(Device.id, Device.worker_id, Device.status, Device.platform,
                      Device.token_hash, Worker.active)
            .join(Worker, Worker.worker_id == Device.worker_id)
            .where(Device.device_uid == f"{UID_PREFIX}{key}")
        ).first()
    if row is None or row.token_hash is None or row.platform != app:
        verify_password(None, secret)  # the same work as a wrong secret
        raise AuthError(401, "ingest_token_invalid", "unknown or wrong tracking-app token")
    digest = hashlib.sha256(secret.encode()).hexdigest()
    cache_key = (row.id, row.token_hash, digest)
    if not _verified.get(cache_key):
        if not verify_password(row.token_hash, secret):
            raise AuthError(401, "ingest_token_invalid", "unknown or wrong tracking-app token")
        with _lock:
            if len(_verified) >= _MAX_CACHED:
                _verified.clear()
            _verified[cache_key] = True
    if row.status != "approved" or not row.active:
        raise AuthError(403, "ingest_token_revoked",
                        "this phone's tracking-app access was revoked by the office")
    return AppPrincipal(worker_id=row.worker_id, device_id=row.id, app=app)


def app_devices(session: Session, worker_ids: list[str]) -> list[Device]:
    """The tracking-app phones of these workers, newest first."""
    if not worker_ids:
        return []
    return list(session.scalars(
        sa.select(Device).where(Device.worker_id.in_(worker_ids),
                                Device.platform.in_(TRACKING_APPS),
                                Device.device_uid.like(f"{UID_PREFIX}%"))
        .order_by(Device.id.desc())))
