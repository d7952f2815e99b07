"""Apply grids/offices and roster files to the database: whole or nothing, idempotent.

The readers (:mod:`checkins.formats.grids`, :mod:`checkins.formats.roster`) parse and
validate the whole file first; the apply step checks references against the database,
then writes inside one savepoint, so a bad file leaves the database untouched. Importing
the same file again changes nothing (the report counts it as unchanged). Each import
appends one ``audit_log`` row. The caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from os import PathLike
from typing import Any
from zoneinfo import ZoneInfo

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.audit.service import write_audit
from checkins.formats.grids import GridFeature, GridsFile, find_overlaps, read_grids
from checkins.formats.roster import RosterRow, check_references, read_roster
from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

_EXACT = 1e-10  # degrees: geometries closer than this are "the same"


@dataclass
class ImportReport:
    """What an import did: counts per table, and warnings (overlaps, workers without grid)."""

    kind: str
    file: str
    created: Counter[str] = field(default_factory=Counter)
    updated: Counter[str] = field(default_factory=Counter)
    unchanged: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)  # workers who left the roster

    @property
    def changed(self) -> bool:
        """True when anything was created or updated."""
        return bool(sum(self.created.values()) or sum(self.updated.values()))

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (CLI output, API response, audit row)."""
        return {"kind": self.kind, "file": self.file, "created": dict(self.created),
                "updated": dict(self.updated), "unchanged": dict(self.unchanged),
                "warnings": list(self.warnings), "disabled": list(self.disabled)}

    def summary(self) -> str:
        """One line per table: created/updated/unchanged."""
        tables = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return "\n".join(
            f"{t}: {self.created[t]} created, {self.updated[t]} updated, "
            f"{self.unchanged[t]} unchanged" for t in tables) or "nothing to import"



AUDIT_ID_MAX = 64  # audit_log.entity_id


def import_entity_id(name: str) -> str:
    """The audit entity id of an imported file: its base name, shortened with a hash suffix
    when longer than the column (the full name goes into the audit row's ``after``)."""
    base = os.path.basename(name.rstrip("/")) or name
    if len(base) <= AUDIT_ID_MAX:
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:16]
    return f"{base[:AUDIT_ID_MAX - 17]}~{digest}"

def _same_geom(a: Any, b: Any) -> bool:
    return a is not None and b is not None and a.geom_type == b.geom_type \
        and bool(shapely.equals_exact(a, b, tolerance=_EXACT))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ensure_township(session: Session, report: ImportReport, *, township_id: str, name: str,
                    timezone: str, profile: str) -> Township:
    """The township row, created on first import."""
    town = session.get(Township, township_id)
    if town is None:
        town = Township(township_id=township_id, name=name, timezone=timezone, profile=profile)
        session.add(town)
        report.created["township"] += 1
    return town


def apply_grids(session: Session, grids_file: GridsFile, *, actor: str = "cli",
                township_id: str = "yangkou", township_name: str = "洋口镇",
                timezone: str = "Asia/Shanghai", profile: str = "yangkou-2022") -> ImportReport:
    """Create or update the villages (offices) and grids of ``grids_file`` (WGS-84)."""
    report = ImportReport("grids", grids_file.name, warnings=list(grids_file.warnings))
    with session.begin_nested():
        ensure_township(session, report, township_id=township_id, name=township_name,
                        timezone=timezone, profile=profile)
        villages = {v.village_id: v for v in session.scalars(sa.select(Village))}
        offices = {o.village_id: o for o in grids_file.offices}
        needed = list(dict.fromkeys([o.village_id for o in grids_file.offices]
                                    + [g.village_id for g in grids_file.grids]))
        for vid in needed:
            office = offices.get(vid)
            village = villages.get(vid)
            if village is None:
                village = Village(village_id=vid, township_id=township_id,
                                  name=(office.name if office and office.name else vid))
                if office is not None:
                    village.office, village.radius_m = office.point, office.radius_m
                session.add(village)
                villages[vid] = village
                report.created["village"] += 1
            elif office is None:
                continue  # a village only referenced by grids: left as it is
            elif _same_geom(village.office, office.point) and village.radius_m == office.radius_m \
                    and (office.name is None or village.name == office.name):
                report.unchanged["village"] += 1
            else:
                village.office, village.radius_m = office.point, office.radius_m
                if office.name:
                    village.name = office.name
                village.updated_at = _now()
                report.updated["village"] += 1
        session.flush()
        existing = {g.grid_id: g for g in session.scalars(sa.select(Grid))}
        for feat in grids_file.grids:
            grid = existing.get(feat.grid_id)
            if grid is None:
                session.add(Grid(grid_id=feat.grid_id, village_id=feat.village_id,
                                 name=feat.name, geom=feat.geom))
                report.created["grid"] += 1
            elif grid.village_id == feat.village_id and grid.name == feat.name \
                    and _same_geom(grid.geom, feat.geom):
                report.unchanged["grid"] += 1
            else:
                grid.village_id, grid.name, grid.geom = feat.village_id, feat.name, feat.geom
                grid.updated_at = _now()
                report.updated["grid"] += 1
        session.flush()
        # overlaps among all grids as they now stand (the file's plus the others)
        merged = {gid: GridFeature(gid, g.village_id, g.geom) for gid, g in existing.items()}
        merged.update({g.grid_id: g for g in grids_file.grids})
        for ov in find_overlaps(list(merged.values())):
            report.warnings.append(
                f"grids {ov.grid_a} and {ov.grid_b} overlap by {ov.area_m2:.0f} m²")
        write_audit(session, actor=actor, action="import.grids", entity="import",
                    entity_id=import_entity_id(grids_file.name),
                    after=report.as_dict() | {"file": grids_file.name})
    return report


def _open_assignment(session: Session, worker_id: str) -> GridAssignment | None:
    return session.scalars(sa.select(GridAssignment).where(
        GridAssignment.worker_id == worker_id, GridAssignment.valid_to.is_(None))
        .order_by(GridAssignment.valid_from.desc())).first()


def apply_roster(session: Session, rows: list[RosterRow], name: str, *, actor: str = "cli",
                 valid_from: dt.date | None = None,
                 timezone: str = "Asia/Shanghai") -> ImportReport:
    """Create or update workers and their grid assignments from roster rows.

    A changed grid closes the open assignment the day before ``valid_from`` (default:
    today in ``timezone``) and opens a new one; unknown grids/villages are FormatErrors.
    """
    report = ImportReport("roster", name)
    valid_from = valid_from or dt.datetime.now(ZoneInfo(timezone)).date()
    grids = {g.grid_id: g for g in session.scalars(sa.select(Grid))}
    villages = set(session.scalars(sa.select(Village.village_id)))
    check_references(rows, name, grids, villages)
    with session.begin_nested():
        workers = {w.worker_id: w for w in session.scalars(sa.select(Worker))}
        for row in rows:
            worker = workers.get(row.worker_id)
            has_phone = "phone" in row.extra
            if worker is None:
                worker = Worker(worker_id=row.worker_id, name=row.name, role=row.role,
                                village_id=row.village_id, phone=row.phone)
                session.add(worker)
                workers[row.worker_id] = worker
                report.created["worker"] += 1
            elif (worker.name, worker.role, worker.village_id) == (row.name, row.role,
                                                                    row.village_id) \
                    and (not has_phone or worker.phone == row.phone) and worker.active:
                report.unchanged["worker"] += 1
            else:
                worker.name, worker.role, worker.village_id = row.name, row.role, row.village_id
                if has_phone:
                    worker.phone = row.phone
                worker.active = True
                worker.updated_at = _now()
                report.updated["worker"] += 1
            session.flush()
            _apply_assignment(session, report, row, valid_from)
            if row.grid_id is None:
                report.warnings.append(f"{name}: line {row.line}: worker {row.worker_id} "
                                       "has no grid")
            elif grids[row.grid_id].village_id != row.village_id:
                report.warnings.append(
                    f"{name}: line {row.line}: worker {row.worker_id} is in village "
                    f"{row.village_id} but grid {row.grid_id} belongs to "
                    f"{grids[row.grid_id].village_id}")
        # a worker who left the roster is disabled at once (no login, not judged from
        # valid_from on); their rows stay for the retention periods
        # (of the townships this roster covers: a database may hold several townships)
        town_of = dict(session.execute(sa.select(Village.village_id, Village.township_id)).all())
        towns = {town_of[r.village_id] for r in rows}
        missing = sorted(w for w in set(workers) - {r.worker_id for r in rows}
                         if workers[w].active and town_of.get(workers[w].village_id) in towns)
        for wid in missing:
            worker = workers[wid]
            worker.active = False
            worker.updated_at = _now()
            report.updated["worker"] += 1
            current = _open_assignment(session, wid)
            if current is not None:
                if current.valid_from >= valid_from:
                    session.delete(current)
                else:
                    current.valid_to = valid_from
                report.updated["grid_assignment"] += 1
            report.disabled.append(wid)
        session.flush()
        if missing:
            report.warnings.append(f"{len(missing)} worker(s) are not in this roster and were "
                                   f"disabled: {', '.join(missing[:10])}")
        write_audit(session, actor=actor, action="import.roster", entity="import",
                    entity_id=import_entity_id(name), after=report.as_dict() | {"file": name})
    return report


def _apply_assignment(session: Session, report: ImportReport, row: RosterRow,
                      valid_from: dt.date) -> None:
    current = _open_assignment(session, row.worker_id)
    if current is not None and current.grid_id == row.grid_id:
        report.unchanged["grid_assignment"] += 1
        return
    if current is None and row.grid_id is None:
        return
    if current is not None:
        if current.valid_from >= valid_from:
            if row.grid_id is None:
                session.delete(current)
            else:
                current.grid_id = row.grid_id
            report.updated["grid_assignment"] += 1
            session.flush()
            return
        current.valid_to = valid_from
        report.updated["grid_assignment"] += 1
    if row.grid_id is not None:
        session.add(GridAssignment(worker_id=row.worker_id, grid_id=row.grid_id,
                                   valid_from=valid_from))
        report.created["grid_assignment"] += 1
    session.flush()


def import_file(session: Session, kind: str, source: str | PathLike[str] | bytes,
                name: str | None = None, *, repair: bool = False, actor: str = "cli",
                valid_from: dt.date | None = None, township_id: str = "yangkou",
                township_name: str = "洋口镇", timezone: str = "Asia/Shanghai",
                profile: str = "yangkou-2022") -> ImportReport:
    """Read and apply a ``grids`` or ``roster`` file (FormatError on any problem)."""
    if kind == "grids":
        return apply_grids(session, read_grids(source, name, repair=repair), actor=actor,
                           township_id=township_id, township_name=township_name,
                           timezone=timezone, profile=profile)
    if kind == "roster":
        label = name or (source if isinstance(source, str) else str(source)
                         if not isinstance(source, bytes) else "<upload>")
        return apply_roster(session, read_roster(source, label), label, actor=actor,
                            valid_from=valid_from, timezone=timezone)
    raise ValueError(f"unknown import kind {kind!r}; expected grids or roster")
