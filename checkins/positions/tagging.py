"""Set-based spatial work on stored rows: in PostGIS on PostgreSQL, with shapely on SQLite."""

from __future__ import annotations

import datetime as dt

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.positions.models import Position
from checkins.township.models import Grid


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
    grids = session.execute(sa.select(Grid.grid_id, Grid.geom)).all()
    if not grids:
        return 0
    q = sa.select(Position.id, Position.geom).where(
        Position.recorded_at >= start, Position.recorded_at < end,
        Position.geom.is_not(None))
    if not retag:
        q = q.where(Position.grid_id.is_(None))
    rows = session.execute(q).all()
    if not rows:
        return 0
    tree = shapely.STRtree([g.geom for g in grids])
    points = np.array([r.geom for r in rows], dtype=object)
    pt_idx, grid_idx = tree.query(points, predicate="within")
    first: dict[int, int] = {}
    for p, g in zip(pt_idx.tolist(), grid_idx.tolist(), strict=True):
        first.setdefault(p, g)
    updates = [{"pid": rows[p].id, "gid": grids[g].grid_id} for p, g in first.items()]
    if updates:
        session.connection().execute(
            sa.text("UPDATE position SET grid_id = :gid WHERE id = :pid"), updates)
    return len(updates)
