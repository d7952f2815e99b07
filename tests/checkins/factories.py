"""Small hand-checkable input files for import tests (WGS-84 near 洋口镇 unless stated)."""

from __future__ import annotations

import copy
import json
from typing import Any

LON0, LAT0 = 121.20, 32.55
D = 0.01  # grid side in degrees (~0.94 km east-west, ~1.1 km north-south)


def square(x: float, y: float, d: float = D) -> list[list[list[float]]]:
    """Polygon coordinates of a square with lower-left corner (x, y)."""
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def grid_feature(grid_id: str, village_id: str, coords: Any, *, kind: str = "Polygon",
                 **props: Any) -> dict[str, Any]:
    """A grid Feature."""
    return {"type": "Feature", "geometry": {"type": kind, "coordinates": coords},
            "properties": {"grid_id": grid_id, "village_id": village_id, **props}}


def office_feature(village_id: str, lon: float, lat: float, **props: Any) -> dict[str, Any]:
    """A village office Feature."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"kind": "village_office", "village_id": village_id, **props}}


def township_doc() -> dict[str, Any]:
    """Two villages, three grids side by side (one MultiPolygon, one with a hole)."""
    x, y = LON0, LAT0
    hole_square = [square(x + D, y)[0],
                   [[x + 1.4 * D, y + 0.4 * D], [x + 1.6 * D, y + 0.4 * D],
                    [x + 1.6 * D, y + 0.6 * D], [x + 1.4 * D, y + 0.6 * D],
                    [x + 1.4 * D, y + 0.4 * D]]]
    return {"type": "FeatureCollection", "features": [
        office_feature("V1", x + 0.5 * D, y + 0.5 * D, radius_m=150, name="东村"),
        office_feature("V2", x + 2.5 * D, y + 0.5 * D, name="西村"),
        grid_feature("G1", "V1", square(x, y), name="一组"),
        grid_feature("G2", "V1", hole_square, name="二组"),
        grid_feature("G3", "V2", [square(x + 2 * D, y), square(x + 2 * D, y + 2 * D)],
                     kind="MultiPolygon"),
    ]}


def as_bytes(doc: dict[str, Any]) -> bytes:
    """GeoJSON bytes."""
    return json.dumps(doc, ensure_ascii=False).encode()


def modified(doc: dict[str, Any], index: int, **changes: Any) -> dict[str, Any]:
    """A deep copy with feature ``index`` changed: keys 'properties'/'geometry' merged."""
    out = copy.deepcopy(doc)
    feat = out["features"][index]
    for key, value in changes.items():
        if value is None:
            feat.pop(key, None)
        elif isinstance(value, dict):
            feat[key].update(value)
        else:
            feat[key] = value
    return out


ROSTER = (
    "worker_id,name,role,grid_id,village_id,phone\n"
    "w01,张三,head,G1,V1,13800000001\n"
    "w02,李四,fulltime,G2,V1,\n"
    "w03,王五,parttime,G3,V2,13800000003\n"
    "w04,赵六,parttime,,V2,\n"
)
