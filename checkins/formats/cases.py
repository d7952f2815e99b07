"""Reader of ``cases.csv`` (FORMATS.md "Cases (事件)"), for ``evaluate --cases``.

``case_id,worker_id,kind,created_at,lon,lat[,crs],category,valid,accepted_at,closed_at,complex``
-> ``{worker_id: tuple(CaseRecord)}`` sorted by time, WGS-84 (GEO-CRS), POSIX seconds.
Errors name the file, the line and the column (:class:`FormatError`).
"""

from __future__ import annotations

from checkins.formats.errors import FormatError
from checkins.formats.events import _rows, _to_wgs84
from checkins.formats.positions import Source
from geo.types import CaseRecord

KINDS = ("report", "instruction")
REQUIRED = ("case_id", "worker_id", "kind", "created_at", "lon", "lat")
_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False, "": None}


def _flag(row, field: str) -> bool | None:  # type: ignore[no-untyped-def]
    value = row.text(field).lower()
    if value not in _BOOL:
        raise FormatError(row.name, row.line, field, f"expected true/false or empty, got {value!r}")
    return _BOOL[value]


def read_cases(source: Source, name: str | None = None) -> dict[str, tuple[CaseRecord, ...]]:
    """Read ``cases.csv``. One case may have several rows (reported by one worker, sent to
    another as an instruction); the same case, worker and kind twice is an error naming both
    lines."""
    out: dict[str, list[CaseRecord]] = {}
    seen: dict[tuple[str, str, str], int] = {}
    for row in _rows(source, name, REQUIRED):
        cid = row.required("case_id")
        kind = row.required("kind").lower()
        if kind not in KINDS:
            raise FormatError(row.name, row.line, "kind", f"unknown kind {kind!r} (allowed: report, instruction)")
        key = (cid, row.required("worker_id"), kind)
        if key in seen:
            raise FormatError(row.name, row.line, "case_id",
                              f"case {cid!r} ({kind} of {key[1]}) already on line {seen[key]}")
        seen[key] = row.line
        lon, lat = row.number("lon"), row.number("lat")
        assert lon is not None and lat is not None
        lon, lat = _to_wgs84(lon, lat, row.datum())
        created = row.time("created_at")
        accepted = row.time("accepted_at") if row.text("accepted_at") else None
        closed = row.time("closed_at") if row.text("closed_at") else None
        if accepted is not None and accepted < created:
            raise FormatError(row.name, row.line, "accepted_at", "accepted_at is before created_at")
        if closed is not None and closed < created:
            raise FormatError(row.name, row.line, "closed_at", "closed_at is before created_at")
        out.setdefault(row.required("worker_id"), []).append(CaseRecord(
            case_id=cid, kind=kind, created_at=created, lon=lon, lat=lat,  # type: ignore[arg-type]
            valid=_flag(row, "valid"), accepted_at=accepted, closed_at=closed,
            complex=bool(_flag(row, "complex")), category=row.text("category") or None))
    return {w: tuple(sorted(v, key=lambda c: (c.created_at, c.case_id))) for w, v in out.items()}
