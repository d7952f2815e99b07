"""Column types that behave the same on PostgreSQL/PostGIS and on SQLite.

* :class:`GeometryType`: a PostGIS ``geometry(<type>, 4326)`` on PostgreSQL, WKB bytes on
  SQLite; shapely geometries in Python on both (WGS-84 lon/lat degrees).
* :class:`UTCDateTime`: ``timestamptz`` on PostgreSQL, ISO text on SQLite; always a
  tz-aware :class:`datetime.datetime` in Python (UTC on SQLite), naive values refused.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from geoalchemy2 import Geometry
from shapely.geometry.base import BaseGeometry
from sqlalchemy import DateTime, LargeBinary
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

SRID = 4326


class GeometryType(TypeDecorator):
    """A WGS-84 (EPSG:4326) geometry: PostGIS on PostgreSQL, WKB on SQLite, shapely in Python."""

    impl = LargeBinary
    cache_ok = True
    # attributes GeoAlchemy2's DDL events read from geometry column types
    srid = SRID
    spatial_index = False
    use_N_D_index = False

    def __init__(self, geometry_type: str = "GEOMETRY") -> None:
        super().__init__()
        self.geometry_type = geometry_type.upper()

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """PostGIS geometry on PostgreSQL (no automatic index: models declare GiST), else BLOB."""
        geometry = Geometry(geometry_type=self.geometry_type, srid=SRID, spatial_index=False)
        if dialect is None:  # GeoAlchemy2's DDL events probe the type without a dialect
            return geometry
        if dialect.name == "postgresql":
            return dialect.type_descriptor(geometry)
        return dialect.type_descriptor(LargeBinary())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Shapely geometry -> hex EWKB (PostgreSQL) or WKB bytes (SQLite)."""
        if value is None:
            return None
        if not isinstance(value, BaseGeometry):
            raise TypeError(f"expected a shapely geometry, got {type(value).__name__}")
        if dialect.name == "postgresql":
            return shapely.to_wkb(shapely.set_srid(value, SRID), hex=True, include_srid=True)
        return shapely.to_wkb(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> BaseGeometry | None:
        """WKB bytes, hex (E)WKB or a GeoAlchemy2 element -> shapely geometry."""
        if value is None:
            return None
        data = getattr(value, "data", value)  # geoalchemy2 WKBElement
        if isinstance(data, memoryview):
            data = bytes(data)
        geom = shapely.from_wkb(data)
        return shapely.set_srid(geom, 0) if shapely.get_srid(geom) else geom

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        """Compare against geometries with this type."""
        return self


class UTCDateTime(TypeDecorator):
    """A tz-aware timestamp on both backends; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Refuse naive datetimes; store UTC (naive UTC text on SQLite)."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: a timestamp needs a UTC offset")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Return a tz-aware datetime (UTC on SQLite)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value
