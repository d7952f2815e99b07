"""Read-only overview of what the database holds (the landing page and ``/api/overview``)."""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins import models as m

_COUNTED = (m.Township, m.Village, m.Grid, m.Worker, m.Device, m.Position, m.Signin,
            m.PatrolSession, m.PatrolLog, m.Exemption, m.AuditLog)


def counts(session: Session) -> dict[str, int]:
    """Row count of each core table."""
    return {t.__tablename__: int(session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in _COUNTED}


def overview(session: Session) -> dict[str, Any]:
    """Townships, villages with their grid and worker counts, table counts, last fix."""
    grids = dict(session.execute(sa.select(m.Grid.village_id, sa.func.count())
                                 .group_by(m.Grid.village_id)).all())
    workers = dict(session.execute(sa.select(m.Worker.village_id, sa.func.count())
                                   .group_by(m.Worker.village_id)).all())
    first, last = session.execute(sa.select(sa.func.min(m.Position.recorded_at),
                                            sa.func.max(m.Position.recorded_at))).one()
    return {
        "townships": [{"township_id": t.township_id, "name": t.name, "timezone": t.timezone,
                       "profile": t.profile}
                      for t in session.scalars(sa.select(m.Township))],
        "villages": [{"village_id": v.village_id, "name": v.name,
                      "grids": grids.get(v.village_id, 0), "workers": workers.get(v.village_id, 0)}
                     for v in session.scalars(sa.select(m.Village).order_by(m.Village.village_id))],
        "counts": counts(session),
        "positions_from": first.isoformat() if first else None,
        "positions_to": last.isoformat() if last else None,
    }


def grids_geojson(session: Session) -> dict[str, Any]:
    """All grids and village offices as a WGS-84 GeoJSON FeatureCollection (FORMATS.md)."""
    features: list[dict[str, Any]] = []
    for v in session.scalars(sa.select(m.Village).order_by(m.Village.village_id)):
        if v.office is not None:
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(v.office),
                             "properties": {"kind": "village_office", "village_id": v.village_id,
                                            "name": v.name, "radius_m": v.radius_m}})
    for g in session.scalars(sa.select(m.Grid).order_by(m.Grid.grid_id)):
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g.geom),
                         "properties": {"grid_id": g.grid_id, "village_id": g.village_id,
                                        "name": g.name}})
    return {"type": "FeatureCollection", "features": features}
