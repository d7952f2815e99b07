"""Read-only overview of what the database holds (the landing page and ``/api/overview``)."""

from __future__ import annotations

from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.models import AuditLog
from checkins.auth.models import Device
from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
from checkins.positions.models import Position
from checkins.township.models import Grid, Township, Village, Worker

_COUNTED = (Township, Village, Grid, Worker, Device, Position, Signin,
            PatrolSession, PatrolLog, Exemption, AuditLog)


def counts(session: Session) -> dict[str, int]:
    """Row count of each core table."""
    return {t.__tablename__: int(session.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in _COUNTED}


def overview(session: Session) -> dict[str, Any]:
    """Townships, villages with their grid and worker counts, table counts, last fix."""
    grids = dict(session.execute(sa.select(Grid.village_id, sa.func.count())
                                 .group_by(Grid.village_id)).all())
    workers = dict(session.execute(sa.select(Worker.village_id, sa.func.count())
                                   .group_by(Worker.village_id)).all())
    first, last = session.execute(sa.select(sa.func.min(Position.recorded_at),
                                            sa.func.max(Position.recorded_at))).one()
    return {
        "townships": [{"township_id": t.township_id, "name": t.name, "timezone": t.timezone,
                       "profile": t.profile}
                      for t in session.scalars(sa.select(Township))],
        "villages": [{"village_id": v.village_id, "name": v.name,
                      "grids": grids.get(v.village_id, 0), "workers": workers.get(v.village_id, 0)}
                     for v in session.scalars(sa.select(Village).order_by(Village.village_id))],
        "counts": counts(session),
        "positions_from": first.isoformat() if first else None,
        "positions_to": last.isoformat() if last else None,
    }


def grids_geojson(session: Session) -> dict[str, Any]:
    """All grids and village offices as a WGS-84 GeoJSON FeatureCollection (FORMATS.md)."""
    features: list[dict[str, Any]] = []
    for v in session.scalars(sa.select(Village).order_by(Village.village_id)):
        if v.office is not None:
            features.append({"type": "Feature", "geometry": shapely.geometry.mapping(v.office),
                             "properties": {"kind": "village_office", "village_id": v.village_id,
                                            "name": v.name, "radius_m": v.radius_m}})
    for g in session.scalars(sa.select(Grid).order_by(Grid.grid_id)):
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(g.geom),
                         "properties": {"grid_id": g.grid_id, "village_id": g.village_id,
                                        "name": g.name}})
    return {"type": "FeatureCollection", "features": features}
