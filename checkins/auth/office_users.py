"""Office users: creation and authentication (argon2 hashes by the one hasher of
:mod:`checkins.auth.tokens`; re-exported here for callers that hash office passwords).

The office auth issue replaces the HTTP Basic use of this with proper sessions; the table
and these functions stay.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.auth.models import OFFICE_ROLES, OfficeUser
from checkins.auth.tokens import hash_password, verify_password
from checkins.township.models import Village

__all__ = ["authenticate", "create_office_user", "hash_password", "verify_password"]


def create_office_user(session: Session, *, username: str, password: str, role: str,
                       village_id: str | None = None, display_name: str | None = None,
                       actor: str = "cli") -> OfficeUser:
    """Create an office user (ValueError for a bad role, scope, duplicate or short password)."""
    if role not in OFFICE_ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(OFFICE_ROLES)}")
    if role == "village_office" and not village_id:
        raise ValueError("a village_office user needs a village")
    if village_id and session.get(Village, village_id) is None:
        raise ValueError(f"unknown village {village_id!r}")
    if len(password) < 8:
        raise ValueError("password shorter than 8 characters")
    if session.scalar(sa.select(OfficeUser.id).where(OfficeUser.username == username)):
        raise ValueError(f"office user {username!r} already exists")
    user = OfficeUser(username=username, password_hash=hash_password(password), role=role,
                      village_id=village_id if role == "village_office" else None,
                      display_name=display_name)
    session.add(user)
    session.flush()
    write_audit(session, actor=actor, action="office_user.create", entity="office_user",
                entity_id=username, after={"role": role, "village_id": user.village_id})
    return user


def authenticate(session: Session, username: str, password: str) -> OfficeUser | None:
    """The active office user with these credentials, or None."""
    user = session.scalars(sa.select(OfficeUser).where(OfficeUser.username == username,
                                                       OfficeUser.active)).first()
    if user is None:
        verify_password(None, password)  # the same work as a wrong password
        return None
    return user if verify_password(user.password_hash, password) else None
