"""Test helper: export a database's field day to the interchange files of FORMATS.md.

The nightly flow must judge exactly as ``gridpatrol evaluate`` does on the same data as
files; this writes those files from the database (WGS-84 positions with full float
precision, fixes stored without a WGS-84 point as received with their ``crs``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from shapely.geometry import mapping

from checkins import tables as m
from checkins.cases.service import case_records


def _iso(d: dt.datetime | None) -> str:
    return "" if d is None else d.isoformat()


def _num(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def export_day_files(session, date: dt.date, out: Path, tz: str = "Asia/Shanghai") -> dict:
    """Write grids.geojson, roster.csv, positions.csv, signins.csv, patrols.csv and
    exemptions.csv (approved only) of ``date`` (local day +- 1 day of positions)."""
    out.mkdir(parents=True, exist_ok=True)
    z = ZoneInfo(tz)
    a = dt.datetime.combine(date - dt.timedelta(days=1), dt.time(0), tzinfo=z)
    b = dt.datetime.combine(date + dt.timedelta(days=2), dt.time(0), tzinfo=z)
    feats = []
    for g in session.scalars(sa.select(m.Grid).order_by(m.Grid.grid_id)):
        feats.append({"type": "Feature", "geometry": mapping(g.geom),
                      "properties": {"grid_id": g.grid_id, "village_id": g.village_id}})
    for v in session.scalars(sa.select(m.Village).order_by(m.Village.village_id)):
        if v.office is not None:
            props = {"kind": "village_office", "village_id": v.village_id}
            if v.radius_m is not None:
                props["radius_m"] = v.radius_m
            feats.append({"type": "Feature", "geometry": mapping(v.office), "properties": props})
    (out / "grids.geojson").write_text(json.dumps({"type": "FeatureCollection",
                                                   "features": feats}), encoding="utf-8")
    grid_of = {}
    for ga in session.scalars(sa.select(m.GridAssignment)):
        if ga.valid_from <= date and (ga.valid_to is None or date < ga.valid_to):
            grid_of[ga.worker_id] = ga.grid_id
    workers = list(session.scalars(sa.select(m.Worker).where(m.Worker.active.is_(True))
                                   .order_by(m.Worker.worker_id)))
    with open(out / "roster.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["worker_id", "name", "role", "grid_id", "village_id"])
        for wk in workers:
            w.writerow([wk.worker_id, wk.name, wk.role, grid_of.get(wk.worker_id, ""),
                        wk.village_id])
    with open(out / "positions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["worker_id", "recorded_at", "lon", "lat", "accuracy_m", "speed_mps", "crs",
                    "mock", "kind", "received_at", "gps_on", "app_state", "network",
                    "battery_pct"])
        q = sa.select(m.Position).where(m.Position.recorded_at >= a, m.Position.recorded_at < b)
        for p in session.scalars(q):
            if p.kind == "heartbeat":
                lon, lat, crs = "", "", "wgs84"
            elif p.geom is not None:
                lon, lat, crs = _num(p.geom.x), _num(p.geom.y), "wgs84"
            else:
                lon, lat, crs = _num(p.lon), _num(p.lat), p.datum
            w.writerow([p.worker_id, _iso(p.recorded_at), lon, lat, _num(p.accuracy_m),
                        _num(p.speed_mps), crs, "true" if p.mock else "false", p.kind,
                        _iso(p.received_at),
                        "" if p.gps_on is None else ("true" if p.gps_on else "false"),
                        p.app_state or "", p.network or "",
                        "" if p.battery_pct is None else str(p.battery_pct)])
    with open(out / "signins.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["worker_id", "signed_at", "lon", "lat", "accuracy_m", "crs"])
        for s in session.scalars(sa.select(m.Signin)):
            lon, lat, crs = ((s.geom.x, s.geom.y, "wgs84") if s.geom is not None
                             else (s.lon, s.lat, s.datum))
            w.writerow([s.worker_id, _iso(s.signed_at), _num(lon), _num(lat),
                        _num(s.accuracy_m), crs])
    with open(out / "patrols.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["worker_id", "started_at", "ended_at"])
        for ps in session.scalars(sa.select(m.PatrolSession)):
            w.writerow([ps.worker_id, _iso(ps.started_at), _iso(ps.ended_at)])
    with open(out / "exemptions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["worker_id", "start", "end", "kind", "place_lon", "place_lat",
                    "place_radius_m"])
        for e in session.scalars(sa.select(m.Exemption).where(m.Exemption.status == "approved")):
            has_place = e.place is not None and e.place_radius_m
            w.writerow([e.worker_id, _iso(e.start_at), _iso(e.end_at), e.kind,
                        _num(e.place.x) if has_place else "", _num(e.place.y) if has_place else "",
                        _num(e.place_radius_m) if has_place else ""])
    with open(out / "cases.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "worker_id", "kind", "created_at", "lon", "lat", "crs", "category",
                    "valid", "accepted_at", "closed_at", "complex"])
        for wid, rows in case_records(session, [wk.worker_id for wk in workers], a, b).items():
            for c in rows:
                w.writerow([c.case_id, wid, c.kind,
                            _iso(dt.datetime.fromtimestamp(c.created_at, dt.UTC)), _num(c.lon), _num(c.lat),
                            "wgs84", c.category or "", "" if c.valid is None else str(c.valid).lower(),
                            _iso(None if c.accepted_at is None else dt.datetime.fromtimestamp(c.accepted_at, dt.UTC)),
                            _iso(None if c.closed_at is None else dt.datetime.fromtimestamp(c.closed_at, dt.UTC)),
                            str(c.complex).lower()])
    return {"workers": len(workers)}
