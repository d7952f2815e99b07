"""Office logins and the village scope every office request runs under.

A login creates an ``office_session`` row holding the SHA-256 of a random token; the token
goes to the browser as an HttpOnly, SameSite=Strict cookie and to API clients as a bearer
token (the same value). Logout revokes the row. :class:`OfficeScope` is the one place that
says what an office user may see: a village office sees its own village, a township office
and an administrator see every village. Objects outside the scope are reported as *not
found* (404), never as forbidden, so an id from another village reveals nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.auth.models import Device, OfficeSession, OfficeUser
from checkins.auth.office_users import authenticate
from checkins.db.engine import begin_write, end_read_only
from checkins.township.models import Village, Worker

SESSION_TTL_S = 12 * 3600
# brute force: failed logins of one username within the window before it is throttled
MAX_FAILURES = 10  # per username + source address
FAILURE_WINDOW_S = 300.0
MAX_FAILURES_PER_SOURCE = 30  # per address over all usernames (an office NAT: several users)
MAX_FAILURES_PER_USER = 100  # per username over all addresses, refilled over an hour


class NotVisible(LookupError):
    """The object does not exist or lies outside the caller's village scope (HTTP 404)."""


class LoginThrottled(RuntimeError):
    """Too many failed logins for this username recently (HTTP 429 after ``retry_after_s``)."""

    def __init__(self, username: str, retry_after_s: float = FAILURE_WINDOW_S) -> None:
        super().__init__(username)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class OfficeScope:
    """Who is asking and which villages they may see; the query helpers apply it."""

    username: str
    role: str  # village_office | township_office | admin
    village_id: str | None  # the scope of a village office; None otherwise
    user_id: int | None = None
    session_id: int | None = None

    @property
    def actor(self) -> str:
        """The actor string written into audit rows."""
        return f"office:{self.username}" if self.user_id is not None else self.username

    @property
    def all_villages(self) -> bool:
        """True for the township office and the administrator."""
        return self.role in ("township_office", "admin")

    @property
    def can_read_audit(self) -> bool:
        """The audit log is readable by the township office and the administrator."""
        return self.all_villages

    def sees_village(self, village_id: str | None) -> bool:
        """True when ``village_id`` is inside the scope."""
        return self.all_villages or (village_id is not None and village_id == self.village_id)

    def restrict(self, stmt: Any, village_column: Any) -> Any:
        """``stmt`` limited to the scope (``village_column`` holds the village id)."""
        return stmt if self.all_villages else stmt.where(village_column == self.village_id)

    def village(self, session: Session, village_id: str) -> Village:
        """The village if visible, else :class:`NotVisible`."""
        v = session.get(Village, village_id)
        if v is None or not self.sees_village(v.village_id):
            raise NotVisible(f"village {village_id}")
        return v

    def villages(self, session: Session) -> list[Village]:
        """Every visible village, by id."""
        return list(session.scalars(self.restrict(sa.select(Village), Village.village_id)
                                    .order_by(Village.village_id)))

    def worker(self, session: Session, worker_id: str) -> Worker:
        """The worker if in a visible village, else :class:`NotVisible`."""
        w = session.get(Worker, worker_id)
        if w is None or not self.sees_village(w.village_id):
            raise NotVisible(f"worker {worker_id}")
        return w

    def device(self, session: Session, device_id: int) -> Device:
        """The device if bound to a visible worker, else :class:`NotVisible`."""
        d = session.get(Device, device_id)
        if d is None or d.worker_id is None:
            raise NotVisible(f"device {device_id}")
        self.worker(session, d.worker_id)
        return d

    def default_village(self, session: Session) -> str | None:
        """The village a page opens on: the user's own, else the first visible one."""
        if self.village_id:
            return self.village_id
        vs = self.villages(session)
        return vs[0].village_id if vs else None


def admin_scope() -> OfficeScope:
    """The scope of the administrator bearer token (``GRIDPATROL_ADMIN_TOKEN``)."""
    return OfficeScope(username="admin-token", role="admin", village_id=None)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class LoginThrottle:
    """Failed office logins, in the database's shared buckets (every API process).

    Per username + source address (:data:`MAX_FAILURES` failures refilled over
    :data:`FAILURE_WINDOW_S`: ten wrong passwords in a row, then one more try every 30 s; a
    success forgets them), so a stranger elsewhere cannot lock the user out (issue 15,
    finding 7). Two wider buckets bound what the narrow one lets through: per source address
    over all usernames (:data:`MAX_FAILURES_PER_SOURCE`, a password sprayer) and per username
    over all addresses (:data:`MAX_FAILURES_PER_USER` an hour, many addresses at once).
    """

    def __init__(self, bind: Any) -> None:
        from checkins.auth.throttle import SharedBuckets

        self.pair = SharedBuckets(bind, "office_login", MAX_FAILURES,
                                  MAX_FAILURES / FAILURE_WINDOW_S)
        self.source = SharedBuckets(bind, "office_login_source", MAX_FAILURES_PER_SOURCE,
                                    MAX_FAILURES_PER_SOURCE / FAILURE_WINDOW_S)
        self.user = SharedBuckets(bind, "office_login_user", MAX_FAILURES_PER_USER,
                                  MAX_FAILURES_PER_USER / 3600.0)

    def _buckets(self, username: str, source: str) -> list[tuple[Any, str]]:
        return [(self.pair, f"{username}|{source}"), (self.source, source),
                (self.user, username)]

    def check(self, username: str, source: str = "-") -> None:
        """Raise :class:`LoginThrottled` when no try is left for ``username`` from ``source``."""
        for buckets, key in self._buckets(username, source):
            left = buckets.peek(key)
            if left < 1:
                raise LoginThrottled(username, (1 - left) / buckets.rate_per_s)

    def fail(self, username: str, source: str = "-") -> None:
        """Count a failed login."""
        for buckets, key in self._buckets(username, source):
            buckets.take(key)

    def clear(self, username: str, source: str = "-") -> None:
        """Forget the failures of this username from this source (a successful login)."""
        self.pair.clear(f"{username}|{source}")


def login(session: Session, username: str, password: str, *, source: str = "-",
          ttl_s: int = SESSION_TTL_S) -> tuple[str, OfficeScope] | None:
    """Check the credentials and open a session: ``(token, scope)``, or None when wrong.

    Raises :class:`LoginThrottled` after :data:`MAX_FAILURES` failures of the username from
    ``source`` (the client's address; refilled over :data:`FAILURE_WINDOW_S` seconds; other
    usernames and the same username elsewhere are unaffected) or when a wider bucket is
    empty (:class:`LoginThrottle`). The failures are counted in the database, so every API
    process sees them.
    """
    throttle = LoginThrottle(session.get_bind())
    throttle.check(username, source)
    end_read_only(session)  # no snapshot held across the password hash (SQLite)
    user = authenticate(session, username, password)
    if user is None:
        throttle.fail(username, source)  # committed on its own: the caller does not commit
        return None
    end_read_only(session)
    begin_write(session)
    throttle = LoginThrottle(session.connection())  # forgotten with the caller's commit
    throttle.clear(username, source)
    token = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    row = OfficeSession(token_hash=_hash(token), user_id=user.id, created_at=now,
                        expires_at=now + dt.timedelta(seconds=ttl_s))
    session.add(row)
    session.flush()
    return token, _scope_of(user, row.id)


def _scope_of(user: OfficeUser, session_id: int | None) -> OfficeScope:
    return OfficeScope(username=user.username, role=user.role,
                       village_id=user.village_id if user.role == "village_office" else None,
                       user_id=user.id, session_id=session_id)


def resolve(session: Session, token: str) -> OfficeScope | None:
    """The scope of a live session token (not expired, not revoked, user active), or None."""
    if not token:
        return None
    now = dt.datetime.now(dt.UTC)
    row = session.execute(
        sa.select(OfficeSession, OfficeUser)
        .join(OfficeUser, OfficeUser.id == OfficeSession.user_id)
        .where(OfficeSession.token_hash == _hash(token), OfficeSession.revoked_at.is_(None),
               OfficeSession.expires_at > now, OfficeUser.active)).first()
    if row is None:
        return None
    s, user = row
    return _scope_of(user, s.id)


def logout(session: Session, token: str) -> bool:
    """Revoke the session of ``token``; True when one was live."""
    s = session.scalars(sa.select(OfficeSession).where(
        OfficeSession.token_hash == _hash(token), OfficeSession.revoked_at.is_(None))).first()
    if s is None:
        return False
    s.revoked_at = dt.datetime.now(dt.UTC)
    session.flush()
    return True


def logout_all(session: Session, user_id: int) -> int:
    """Revoke every live session of an office user (e.g. after a password reset); count."""
    res = session.execute(sa.update(OfficeSession).where(
        OfficeSession.user_id == user_id, OfficeSession.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC)))
    return int(res.rowcount or 0)
