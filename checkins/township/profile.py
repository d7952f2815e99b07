"""The rule profile a township adopted (``township.profile``), as a loaded ``Profile``."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.township.models import Township, Village
from scoring.profiles import Profile, load_profile, profile_path


def township_profile(session: Session, village_id: str | None = None) -> Profile:
    """The rule profile of the township (of ``village_id``, else the first township)."""
    q = sa.select(Township.profile)
    if village_id is not None:
        q = q.join(Village, Village.township_id == Township.township_id).where(
            Village.village_id == village_id)
    name = session.execute(q.order_by(Township.township_id).limit(1)).scalar()
    # parsed once per file version: parsing and validating the YAML took ~0.3 s, more than
    # a whole live board read (issue 19)
    return profile_named(name)


def profile_named(name: str | None) -> Profile:
    """A packaged profile or YAML file by name, parsed once per file version."""
    name = name or "yangkou-2022"
    try:
        stamp = profile_path(name).stat().st_mtime_ns
    except OSError:
        return load_profile(name)  # the loader's own error
    return _cached_profile(name, stamp)


@functools.lru_cache(maxsize=16)
def _cached_profile(name: str, stamp: int) -> Profile:
    return load_profile(name)


__all__ = ["profile_named", "township_profile"]
