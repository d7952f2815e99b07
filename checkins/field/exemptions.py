"""Exemptions (leave, field duty) as an office sees them (only those of visible workers), and
the positions an approved exemption covers (kept by retention as proof)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.auth.office import NotVisible, OfficeScope
from checkins.field.models import Exemption
from checkins.positions.models import Position


def visible_exemption(session: Session, scope: OfficeScope, exemption_id: int) -> Exemption:
    """The exemption if its worker is visible to ``scope``, else :class:`NotVisible` (404)."""
    e = session.scalars(sa.select(Exemption).where(  # its key is (worker_id, id)
        Exemption.id == exemption_id)).first()
    if e is None:
        raise NotVisible(f"exemption {exemption_id}")
    scope.worker(session, e.worker_id)
    return e


def covered_by_approved_exemption() -> sa.ColumnElement[bool]:
    """A condition on ``position`` rows: an approved exemption of the position's worker covers
    its time (the proof of a field duty or a special case, kept by retention)."""
    return sa.exists().where(
        Exemption.worker_id == Position.worker_id, Exemption.status == "approved",
        Exemption.start_at <= Position.recorded_at, Exemption.end_at >= Position.recorded_at)


__all__ = ["covered_by_approved_exemption", "visible_exemption"]
