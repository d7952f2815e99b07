"""The rule profile a township adopted (``township.profile``), as a loaded ``Profile``."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.township.models import Township, Village
from scoring.profiles import Profile, load_profile


def township_profile(session: Session, village_id: str | None = None) -> Profile:
    """The rule profile of the township (of ``village_id``, else the first township)."""
    q = sa.select(Township.profile)
    if village_id is not None:
        q = q.join(Village, Village.township_id == Township.township_id).where(
            Village.village_id == village_id)
    name = session.execute(q.order_by(Township.township_id).limit(1)).scalar()
    return load_profile(name or "yangkou-2022")


__all__ = ["township_profile"]
