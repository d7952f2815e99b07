"""The append-only, hash-chained audit log: who changed what, when, why, before/after.

Chain rule: ``hash = sha256(prev_hash + canonical JSON of the row's fields)`` where the
canonical JSON has sorted keys, ``at`` in UTC ISO 8601, and non-JSON values as strings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.models import AuditLog

_CHAIN_LOCK = 7_202_205  # pg_advisory_xact_lock key serialising chain appends


def _plain(value: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else json.loads(json.dumps(value, default=str))


def _digest(prev: str | None, row: dict[str, Any]) -> str:
    payload = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(((prev or "") + payload).encode()).hexdigest()


def _payload(at: dt.datetime, actor: str, action: str, entity: str, entity_id: str | None,
             reason: str | None, before: Any, after: Any) -> dict[str, Any]:
    return {"at": at.astimezone(dt.UTC).isoformat(), "actor": actor, "action": action,
            "entity": entity, "entity_id": entity_id, "reason": reason, "before": before,
            "after": after}


def write_audit(session: Session, *, actor: str, action: str, entity: str,
                entity_id: str | None = None, reason: str | None = None,
                before: dict[str, Any] | None = None,
                after: dict[str, Any] | None = None) -> AuditLog:
    """Append one audit row chained to the previous one (flushed, not committed)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CHAIN_LOCK})
    prev = session.scalars(sa.select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).first()
    at = dt.datetime.now(dt.UTC)
    before, after = _plain(before), _plain(after)
    digest = _digest(prev, _payload(at, actor, action, entity, entity_id, reason, before, after))
    row = AuditLog(at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
                   reason=reason, before=before, after=after, prev_hash=prev, hash=digest)
    session.add(row)
    session.flush()
    return row


def verify_chain(session: Session) -> int | None:
    """Id of the first audit row whose hash or link does not match, or None if intact."""
    prev: str | None = None
    for row in session.scalars(sa.select(AuditLog).order_by(AuditLog.id)):
        expected = _digest(prev, _payload(row.at, row.actor, row.action, row.entity,
                                          row.entity_id, row.reason, row.before, row.after))
        if row.prev_hash != prev or row.hash != expected:
            return row.id
        prev = row.hash
    return None
