"""Exemptions (leave, field duty) as an office sees them: only those of visible workers."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.auth.office import NotVisible, OfficeScope
from checkins.field.models import Exemption


def visible_exemption(session: Session, scope: OfficeScope, exemption_id: int) -> Exemption:
    """The exemption if its worker is visible to ``scope``, else :class:`NotVisible` (404)."""
    e = session.scalars(sa.select(Exemption).where(  # its key is (worker_id, id)
        Exemption.id == exemption_id)).first()
    if e is None:
        raise NotVisible(f"exemption {exemption_id}")
    scope.worker(session, e.worker_id)
    return e


__all__ = ["visible_exemption"]
