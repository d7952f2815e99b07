"""Grid tagging, the one answer to "which grid holds this point": the grid index used at
ingest (:class:`GridIndex`, an STRtree reloaded when the grid table changes) and the
set-based tagging of stored rows (PostGIS on PostgreSQL, the same index on SQLite)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.positions.models import Position
from checkins.township.models import Grid


# ------------------------------------------------------------------ grid index
@dataclass
class GridIndex:
    """All grids (WGS-84) in an STRtree, with the stamp they were loaded at."""

    stamp: tuple[Any, ...]
    grid_ids: tuple[str, ...]
    tree: shapely.STRtree | None
    loaded_at: float = 0.0

    def tag(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """The id of a grid containing each point (first by grid id), or None."""
        out: list[str | None] = [None] * len(lon)
        if self.tree is None or len(lon) == 0:
            return out
        pts = shapely.points(lon, lat)
        pairs = self.tree.query(pts, predicate="within")
        for i, g in sorted(zip(pairs[0].tolist(), pairs[1].tolist(), strict=True)):
            if out[i] is None:
                out[i] = self.grid_ids[g]
        return out


_grid_cache: dict[str, GridIndex] = {}
_grid_lock = threading.Lock()


def grid_index(session: Session, max_age_s: float = 0.0) -> GridIndex:
    """The grid STRtree, reloaded only when the grid table changed (count, last change).

    With ``max_age_s`` > 0 a loaded index is used without re-checking for that long
    (a grid import then shows in tagging after at most ``max_age_s``).
    """
    bind = session.get_bind()
    key = str(getattr(bind, "engine", bind).url)
    cached = _grid_cache.get(key)
    now = time.monotonic()
    if cached is not None and max_age_s > 0 and now - cached.loaded_at < max_age_s:
        return cached
    stamp = tuple(session.execute(sa.select(
        sa.func.count(Grid.grid_id), sa.func.max(Grid.created_at), sa.func.max(Grid.updated_at)
    )).one())
    if cached is not None and cached.stamp == stamp:
        cached.loaded_at = now
        return cached
    rows = session.execute(sa.select(Grid.grid_id, Grid.geom).order_by(Grid.grid_id)).all()
    ids = tuple(r[0] for r in rows)
    geoms = [r[1] for r in rows]
    index = GridIndex(stamp=stamp, grid_ids=ids, tree=shapely.STRtree(geoms) if geoms else None,
                      loaded_at=now)
    with _grid_lock:
        _grid_cache[key] = index
    return index


def tag_positions(session: Session, start: dt.datetime, end: dt.datetime, *,
                  retag: bool = False) -> int:
    """Set ``position.grid_id`` to the grid containing each fix recorded in [start, end).

    On PostgreSQL one ``UPDATE ... FROM grid`` with ``ST_Contains`` (GiST indexes); on
    SQLite an STRtree query in Python. Only untagged fixes unless ``retag``. Returns the
    number of positions tagged.
    """
    if session.get_bind().dialect.name == "postgresql":
        only_new = "" if retag else "AND p.grid_id IS NULL"
        result = session.execute(sa.text(
            "UPDATE position p SET grid_id = g.grid_id FROM grid g "
            "WHERE p.recorded_at >= :start AND p.recorded_at < :end AND p.geom IS NOT NULL "
            f"{only_new} AND ST_Contains(g.geom, p.geom)"), {"start": start, "end": end})
        return int(result.rowcount or 0)
    index = grid_index(session)
    if index.tree is None:
        return 0
    q = sa.select(Position.id, Position.geom).where(
        Position.recorded_at >= start, Position.recorded_at < end,
        Position.geom.is_not(None))
    if not retag:
        q = q.where(Position.grid_id.is_(None))
    rows = session.execute(q).all()
    if not rows:
        return 0
    tags = index.tag(np.array([r.geom.x for r in rows]), np.array([r.geom.y for r in rows]))
    updates = [{"pid": r.id, "gid": g} for r, g in zip(rows, tags, strict=True) if g is not None]
    if updates:
        session.connection().execute(
            sa.text("UPDATE position SET grid_id = :gid WHERE id = :pid"), updates)
    return len(updates)
