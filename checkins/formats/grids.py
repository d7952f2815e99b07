"""Grids and village offices: a GeoJSON FeatureCollection (FORMATS.md), read into WGS-84.

Pure: json, shapely and :mod:`geo.crs` only (no database), so ``evaluate`` reuses it.
Every problem raises :class:`~checkins.formats.errors.FormatError` naming the file, the
feature (index and ``grid_id`` when known) and the property.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from checkins.formats.errors import FormatError

DATUMS = ("wgs84", "gcj02", "bd09")
_LEGACY_WGS84_CRS = {"EPSG:4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326",
                     "CRS84", "WGS84"}
_M_PER_DEG = 111_320.0
MIN_OVERLAP_M2 = 1.0  # overlaps smaller than this (rounding slivers) are not reported


@dataclass(frozen=True)
class GridFeature:
    """A grid polygon, converted to WGS-84 (``datum`` is what the file used)."""

    grid_id: str
    village_id: str
    geom: BaseGeometry  # Polygon or MultiPolygon, WGS-84 lon/lat degrees
    name: str | None = None
    datum: str = "wgs84"
    feature_index: int = 0
    repaired: bool = False
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OfficeFeature:
    """A village office (村部): the sign-in place, converted to WGS-84."""

    village_id: str
    point: Point  # WGS-84 lon/lat degrees
    radius_m: float | None = None  # None: the profile's default
    name: str | None = None
    datum: str = "wgs84"
    feature_index: int = 0
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Overlap:
    """Two grids of the file that overlap by ``area_m2`` square metres (a warning)."""

    grid_a: str
    grid_b: str
    area_m2: float


@dataclass(frozen=True)
class GridsFile:
    """The content of one grids file, in WGS-84."""

    name: str
    grids: tuple[GridFeature, ...]
    offices: tuple[OfficeFeature, ...]
    overlaps: tuple[Overlap, ...] = ()
    warnings: tuple[str, ...] = ()

    def grid(self, grid_id: str) -> GridFeature:
        """The grid with ``grid_id`` (KeyError if absent)."""
        for g in self.grids:
            if g.grid_id == grid_id:
                return g
        raise KeyError(grid_id)


def read_grids(source: str | PathLike[str] | bytes, name: str | None = None, *,
               repair: bool = False) -> GridsFile:
    """Read a grids/offices GeoJSON file (path or bytes) into WGS-84 features.

    Parameters
    ----------
    source : path or bytes of the GeoJSON FeatureCollection.
    name : the file name used in error messages (default: the path).
    repair : fix invalid polygons (close rings, ``make_valid``) instead of refusing them.

    Returns
    -------
    GridsFile with grids (Polygon/MultiPolygon, WGS-84), offices (Point, WGS-84), the
    overlapping grid pairs and other warnings.
    """
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), name or "<upload>"
    else:
        name = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise FormatError(name, None, None, f"cannot read file: {exc.strerror}") from exc
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FormatError(name, None, None, f"not UTF-8 text (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise FormatError(name, f"line {exc.lineno} column {exc.colno}", None,
                          f"invalid JSON: {exc.msg}") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise FormatError(name, None, "type", "expected a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise FormatError(name, None, "features", "expected a list of features")
    coll_props = doc.get("properties") if isinstance(doc.get("properties"), dict) else {}
    coll_datum = _datum(name, "collection", doc.get("crs", coll_props.get("crs")), "wgs84")

    grids: list[GridFeature] = []
    offices: list[OfficeFeature] = []
    warnings: list[str] = []
    seen_grid: dict[str, int] = {}
    seen_office: dict[str, int] = {}
    for i, feat in enumerate(features):
        where = f"feature {i}"
        if not isinstance(feat, dict) or feat.get("type") != "Feature":
            raise FormatError(name, where, "type", "expected a GeoJSON Feature")
        props = feat.get("properties") or {}
        if not isinstance(props, dict):
            raise FormatError(name, where, "properties", "expected an object")
        geometry = feat.get("geometry")
        if not isinstance(geometry, dict) or "type" not in geometry:
            raise FormatError(name, where, "geometry", "missing geometry")
        gtype = geometry["type"]
        datum = _datum(name, where, props.get("crs"), coll_datum)
        if gtype in ("Polygon", "MultiPolygon"):
            grid_id = _key(name, where, props, "grid_id")
            where = f"feature {i} (grid_id={grid_id})"
            if grid_id in seen_grid:
                raise FormatError(name, where, "grid_id",
                                  f"duplicate grid_id '{grid_id}' (also feature "
                                  f"{seen_grid[grid_id]})")
            seen_grid[grid_id] = i
            village_id = _key(name, where, props, "village_id")
            geom, repaired = _polygonal(name, where, geometry, repair)
            geom = _to_wgs84(geom, datum)
            if repaired:
                warnings.append(f"{name}: {where}: invalid polygon repaired")
            grids.append(GridFeature(
                grid_id=grid_id, village_id=village_id, geom=geom,
                name=_opt_str(props.get("name")), datum=datum, feature_index=i,
                repaired=repaired, properties=dict(props)))
        elif gtype == "Point":
            if props.get("kind") != "village_office":
                warnings.append(f"{name}: {where}: Point without kind 'village_office' ignored")
                continue
            village_id = _key(name, where, props, "village_id")
            where = f"feature {i} (village_id={village_id})"
            if village_id in seen_office:
                raise FormatError(name, where, "village_id",
                                  f"second office for village '{village_id}' (also feature "
                                  f"{seen_office[village_id]})")
            seen_office[village_id] = i
            lon, lat = _position(name, where, geometry.get("coordinates"), "coordinates")
            radius = props.get("radius_m")
            if radius is not None:
                if isinstance(radius, bool) or not isinstance(radius, int | float) \
                        or not math.isfinite(radius) or radius <= 0:
                    raise FormatError(name, where, "radius_m", "expected a positive number")
                radius = float(radius)
            point = _to_wgs84(Point(lon, lat), datum)
            offices.append(OfficeFeature(
                village_id=village_id, point=point, radius_m=radius,
                name=_opt_str(props.get("name")), datum=datum, feature_index=i,
                properties=dict(props)))
        else:
            warnings.append(f"{name}: {where}: {gtype} feature ignored")
    return GridsFile(name=name, grids=tuple(grids), offices=tuple(offices),
                     overlaps=find_overlaps(grids), warnings=tuple(warnings))


def find_overlaps(grids: list[GridFeature] | tuple[GridFeature, ...],
                  min_area_m2: float = MIN_OVERLAP_M2) -> tuple[Overlap, ...]:
    """Pairs of grids whose interiors overlap by at least ``min_area_m2`` (approximate m²)."""
    if len(grids) < 2:
        return ()
    geoms = [g.geom for g in grids]
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out = []
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        inter = geoms[a].intersection(geoms[b])
        if inter.is_empty:
            continue
        lat = inter.centroid.y
        area_m2 = inter.area * _M_PER_DEG * _M_PER_DEG * math.cos(math.radians(lat))
        if area_m2 >= min_area_m2:
            out.append(Overlap(grids[a].grid_id, grids[b].grid_id, round(area_m2, 1)))
    return tuple(out)


# --------------------------------------------------------------------------- helpers


def _datum(file: str, where: str, value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, dict):  # legacy GeoJSON 2008 named CRS
        named = (value.get("properties") or {}).get("name")
        if isinstance(named, str) and named in _LEGACY_WGS84_CRS:
            return "wgs84"
        raise FormatError(file, where, "crs", f"unknown crs {named!r}; expected wgs84, gcj02 "
                                              "or bd09")
    if isinstance(value, str) and value.strip().lower() in DATUMS:
        return value.strip().lower()
    raise FormatError(file, where, "crs", f"unknown crs {value!r}; expected wgs84, gcj02 or bd09")


def _key(file: str, where: str, props: dict[str, Any], key: str) -> str:
    value = props.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise FormatError(file, where, key, "missing" if value in (None, "") else
                          f"expected a string, got {type(value).__name__}")
    if len(value.strip()) > 32:
        raise FormatError(file, where, key, "longer than 32 characters")
    return value.strip()


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _position(file: str, where: str, pos: Any, fld: str) -> tuple[float, float]:
    if not isinstance(pos, list | tuple) or len(pos) < 2 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in pos[:2]):
        raise FormatError(file, where, fld, f"expected a [lon, lat] position, got {pos!r}")
    lon, lat = float(pos[0]), float(pos[1])
    if not (math.isfinite(lon) and math.isfinite(lat)) or not (-180 <= lon <= 180) \
            or not (-90 <= lat <= 90):
        raise FormatError(file, where, fld, f"position {pos!r} out of range")
    return lon, lat


def _ring(file: str, where: str, ring: Any, label: str, repair: bool,
          closed_by_repair: list[str]) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise FormatError(file, where, "geometry", f"{label}: expected a list of positions")
    pts = [_position(file, where, p, "geometry") for p in ring]
    closed = len(pts) >= 2 and pts[0] == pts[-1]
    if not closed:
        if not repair:
            raise FormatError(file, where, "geometry",
                              f"{label} is not closed (first and last positions differ)")
        pts = pts + pts[:1]
        closed_by_repair.append(label)
    if len(pts) < 4:
        raise FormatError(file, where, "geometry",
                          f"{label} has {len(pts)} positions; a ring needs at least 4")
    return pts


def _polygonal(file: str, where: str, geometry: dict[str, Any],
               repair: bool) -> tuple[BaseGeometry, bool]:
    coords = geometry.get("coordinates")
    polys: list[Polygon] = []
    parts = [coords] if geometry["type"] == "Polygon" else coords
    if not isinstance(parts, list) or not parts:
        raise FormatError(file, where, "geometry", "missing coordinates")
    multi = geometry["type"] == "MultiPolygon"
    closed: list[str] = []
    for j, rings in enumerate(parts):
        if not isinstance(rings, list) or not rings:
            raise FormatError(file, where, "geometry", "expected a list of rings")
        prefix = f"polygon {j} " if multi else ""
        shell = _ring(file, where, rings[0], f"{prefix}exterior ring", repair, closed)
        holes = [_ring(file, where, r, f"{prefix}hole {k}", repair, closed)
                 for k, r in enumerate(rings[1:], 1)]
        polys.append(Polygon(shell, holes))
    geom: BaseGeometry = MultiPolygon(polys) if multi else polys[0]
    reason = shapely.is_valid_reason(geom)
    if reason == "Valid Geometry":
        return geom, bool(closed)
    if not repair:
        raise FormatError(file, where, "geometry", f"invalid polygon: {reason}")
    fixed = shapely.make_valid(geom)
    polys = [g for g in getattr(fixed, "geoms", [fixed]) if isinstance(g, Polygon | MultiPolygon)]
    fixed = shapely.union_all(polys) if polys else fixed
    if not isinstance(fixed, Polygon | MultiPolygon) or fixed.is_empty:
        raise FormatError(file, where, "geometry", f"invalid polygon that cannot be repaired: "
                                                   f"{reason}")
    return fixed, True


def _to_wgs84(geom: BaseGeometry, datum: str) -> Any:
    if datum == "wgs84":
        return geom
    from geo.crs import to_wgs84

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = to_wgs84(xy[:, 0], xy[:, 1], datum)
        return np.column_stack([lon, lat])

    return shapely.transform(geom, convert)
