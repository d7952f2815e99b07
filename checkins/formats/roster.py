"""The roster: CSV ``worker_id,name,role,grid_id,village_id`` (FORMATS.md).

Pure (csv only, no database), so ``evaluate`` reuses it. Errors name the file, the line
(1-based, the header is line 1) and the column. An empty ``grid_id`` is allowed (a worker
without a grid, reported as a warning by the importer); extra columns are kept in
``extra`` (``phone`` is picked up when present).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike

from checkins.formats.csvrows import read_csv_rows
from checkins.formats.errors import FormatError

ROLES = ("head", "fulltime", "parttime")
REQUIRED_COLUMNS = ("worker_id", "name", "role", "grid_id", "village_id")
_MAX_ID = 32


@dataclass(frozen=True)
class RosterRow:
    """One worker of the roster; ``grid_id`` None when the worker has no grid."""

    line: int
    worker_id: str
    name: str
    role: str
    grid_id: str | None
    village_id: str
    phone: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


def read_roster(source: str | PathLike[str] | bytes, name: str | None = None) -> list[RosterRow]:
    """Read a roster CSV (path or bytes, UTF-8 with or without BOM) into rows."""
    name, index, data_rows = read_csv_rows(source, name, REQUIRED_COLUMNS)
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for line, values in data_rows:

        def get(col: str, _values: list[str] = values) -> str:
            i = index[col]
            return _values[i].strip() if i < len(_values) else ""

        def need(col: str, _line: int = line) -> str:
            value = get(col)
            if not value:
                raise FormatError(name, _line, col, "missing value")
            if col.endswith("_id") and len(value) > _MAX_ID:
                raise FormatError(name, _line, col, f"longer than {_MAX_ID} characters")
            return value

        worker_id = need("worker_id")
        if worker_id in seen:
            raise FormatError(name, line, "worker_id",
                              f"duplicate worker_id '{worker_id}' (also line {seen[worker_id]})")
        seen[worker_id] = line
        role = need("role")
        if role not in ROLES:
            raise FormatError(name, line, "role",
                              f"unknown role '{role}'; expected head, fulltime or parttime")
        grid_id = get("grid_id") or None
        if grid_id and len(grid_id) > _MAX_ID:
            raise FormatError(name, line, "grid_id", f"longer than {_MAX_ID} characters")
        extra = {c: get(c) for c in index if c not in REQUIRED_COLUMNS}
        rows.append(RosterRow(
            line=line, worker_id=worker_id, name=need("name"), role=role, grid_id=grid_id,
            village_id=need("village_id"), phone=extra.get("phone") or None, extra=extra))
    return rows


def check_references(rows: Iterable[RosterRow], name: str, grid_ids: Iterable[str],
                     village_ids: Iterable[str] | None = None) -> None:
    """Raise FormatError for the first row naming a grid (or village) that is not known."""
    grids = set(grid_ids)
    villages = set(village_ids) if village_ids is not None else None
    for row in rows:
        if row.grid_id is not None and row.grid_id not in grids:
            raise FormatError(name, row.line, "grid_id", f"unknown grid '{row.grid_id}'")
        if villages is not None and row.village_id not in villages:
            raise FormatError(name, row.line, "village_id", f"unknown village '{row.village_id}'")
