"""Offline evaluation flow: exported files -> geo engine -> scoring -> the FORMATS.md JSON.

No database and no server: this is how an office audits days from exported files and how a
township tries a changed rule profile on past data before adopting it (``gridpatrol
evaluate``). Bad input files raise :class:`FormatError`; a bad profile ``ProfileError``.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from checkins.evaluation.entry import day_entry
from checkins.formats.cases import read_cases
from checkins.formats.errors import FormatError
from checkins.formats.events import read_exemptions, read_patrols, read_signins
from checkins.formats.grids import GridsFile, read_grids
from checkins.formats.positions import merge_positions, read_positions
from checkins.formats.roster import RosterRow, read_roster
from geo.localtime import day_bounds
from geo.types import (
    CaseRecord,
    Exemption,
    Fixes,
    GeoParams,
    GridIndex,
    Interval,
    Place,
    SignIn,
    WorkerDay,
)
from scoring.profiles import Profile, load_profile
from scoring.totals import period_totals, totals_json, trail_json

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PositionsSource:
    """A positions file, with the worker id for a GPX file that does not name its worker."""

    path: str
    worker_id: str | None = None

    @staticmethod
    def parse(arg: str) -> PositionsSource:
        """``P.csv``, ``P.gpx`` or ``WORKER=P.gpx`` (a worker id for a GPX file)."""
        if "=" in arg and not Path(arg).exists():
            wid, path = arg.split("=", 1)
            if wid.strip():
                return PositionsSource(path=path, worker_id=wid.strip())
        return PositionsSource(path=arg)


def _quiet(_: str) -> None:
    pass


def dates_between(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """Every date from ``date_from`` to ``date_to``, both included."""
    n = (date_to - date_from).days + 1
    return [date_from + dt.timedelta(days=i) for i in range(max(n, 0))]


def slice_fixes(fixes: Fixes, start: float, end: float) -> Fixes:
    """The items of sorted ``fixes`` with ``start <= t < end``, plus the one item just before
    and the one just after (the engine explains a silence by its neighbours); views."""
    lo, hi = np.searchsorted(fixes.t, [start, end], side="left")
    lo, hi = max(int(lo) - 1, 0), min(int(hi) + 1, len(fixes))
    if lo == 0 and hi == len(fixes):
        return fixes
    sl = slice(int(lo), int(hi))

    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[sl]

    return Fixes(
        t=fixes.t[sl], lon=fixes.lon[sl], lat=fixes.lat[sl], accuracy_m=fixes.accuracy_m[sl],
        speed_mps=fixes.speed_mps[sl], mock=fixes.mock[sl], is_heartbeat=fixes.is_heartbeat[sl],
        received_at=cut(fixes.received_at), gps_on=cut(fixes.gps_on),
        app_state=cut(fixes.app_state), network=cut(fixes.network),
        battery_pct=cut(fixes.battery_pct),
    )


def office_place(lon: float, lat: float, radius_m: float | None, params: GeoParams) -> Place:
    """A village office geofence (WGS-84 centre); no radius: the profile's ``signin_radius_m``."""
    return Place(lon=lon, lat=lat,
                 radius_m=float(radius_m) if radius_m is not None else params.signin_radius_m)


def make_worker_day(
    *,
    worker_id: str,
    date: dt.date,
    role: str,
    grid_id: str,
    grid: Any,
    office: Place | None,
    fixes: Fixes,
    signins: Sequence[SignIn],
    patrols: Sequence[Interval],
    exemptions: Sequence[Exemption],
    params: GeoParams,
    bounds: tuple[float, float] | None = None,
    server_down: Sequence[Interval] = (),
    platform: str | None = None,
) -> WorkerDay:
    """The ``WorkerDay`` of one worker and date from that worker's items (any wider span).

    Shared by the file flow (:func:`build_worker_days`) and the database flow
    (:mod:`checkins.evaluation.flows`): the day's items plus ``max_gap_s`` either side and the nearest
    item beyond each end (``fixes`` sorted by time), the day's sign-ins, the patrol sessions
    and exemptions that overlap the local day.
    """
    start, end = bounds or day_bounds(date, params.timezone)
    margin_s = params.max_gap_s
    return WorkerDay(
        worker_id=worker_id,
        date=date,
        role=role,  # type: ignore[arg-type]
        grid_id=grid_id,
        grid=grid,
        office=office,
        fixes=slice_fixes(fixes, start - margin_s, end + margin_s),
        signins=tuple(s for s in signins if start <= s.t < end),
        patrol_sessions=tuple(i for i in patrols if i.start < end and i.end >= start),
        exemptions=tuple(e for e in exemptions if e.start < end and e.end > start),
        server_down=tuple(server_down),
        platform=platform,
    )


def build_worker_days(
    roster: Sequence[RosterRow],
    grids: GridsFile,
    positions: dict[str, Fixes],
    signins: dict[str, tuple[SignIn, ...]],
    patrols: dict[str, tuple[Interval, ...]],
    exemptions: dict[str, tuple[Exemption, ...]],
    params: GeoParams,
    dates: Sequence[dt.date],
    roster_name: str = "roster",
) -> list[WorkerDay]:
    """One ``WorkerDay`` per roster worker with a grid and per date (no data: still a day).

    Each day gets the worker's items of that local day plus ``max_gap_s`` either side (so
    the engine can bridge a segment across midnight) and the nearest item beyond each end
    (the neighbours of a silence explain it, GEO-PHONEOFF); sign-ins of the day; patrol sessions
    and exemptions that overlap it. The office is the village office of the worker's
    village, with the profile's ``signin_radius_m`` when the file gives no radius.
    """
    tz = ZoneInfo(params.timezone)
    grid_by_id = {g.grid_id: g for g in grids.grids}
    office_by_village = {
        o.village_id: office_place(float(o.point.x), float(o.point.y), o.radius_m, params)
        for o in grids.offices
    }
    bounds = {d: day_bounds(d, tz) for d in dates}
    days: list[WorkerDay] = []
    for row in roster:
        if row.grid_id is None:
            continue
        grid = grid_by_id.get(row.grid_id)
        if grid is None:
            raise FormatError(roster_name, row.line, "grid_id", f"unknown grid '{row.grid_id}'")
        fixes = positions.get(row.worker_id, Fixes.empty())
        for date in dates:
            days.append(make_worker_day(
                worker_id=row.worker_id, date=date, role=row.role, grid_id=row.grid_id,
                grid=grid.geom, office=office_by_village.get(row.village_id), fixes=fixes,
                signins=signins.get(row.worker_id, ()), patrols=patrols.get(row.worker_id, ()),
                exemptions=exemptions.get(row.worker_id, ()), params=params,
                bounds=bounds[date]))
    return days


def arrive_within_s(prof: Profile) -> float | None:
    """NB-ARRIVE's time limit from the profile (None: the profile has no such rule, and an
    instruction's arrival is then ``ok`` whenever there is one)."""
    rule = prof.rules.get("NB-ARRIVE")
    return None if rule is None else float(rule.params["within_s"])


def grid_rules(prof: Profile) -> list[Any]:
    """The profile's rules judged on the cases others found in a worker's grid (YK-HAZARD,
    YK-SAFETY; ``params.measure: grid_reports``), entered or computed."""
    return [r for r in prof.rules.values() if r.params.get("measure") == "grid_reports"]


def grid_categories(prof: Profile) -> list[str]:
    """The case categories those rules look at (the grid cases a day lists)."""
    return sorted({c for r in grid_rules(prof) for c in r.params["categories"]})


def grid_near_m(prof: Profile) -> float:
    """How near the worker's own report must be to a grid case to be the same case."""
    return max((float(r.params["near_m"]) for r in grid_rules(prof)), default=100.0)


def with_grid_cases(case_rows: dict[str, list[CaseRecord]], roster_rows: Sequence[Any], grids_file: Any,
                    prof: Profile) -> dict[str, list[CaseRecord]]:
    """The file flow's grid cases (as the nightly flow's ``grid_records``): each report of the
    grid rules' categories is also a ``grid`` record of the other roster workers of the grid
    containing it (the ingest's grid tagging)."""
    import dataclasses

    import shapely

    from checkins.positions.tagging import GridIndex as Tagger

    cats = set(grid_categories(prof))
    reports = [r for recs in case_rows.values() for r in recs
               if r.kind == "report" and r.category in cats and r.lon is not None and r.lat is not None]
    if not reports or not grids_file.grids:
        return case_rows
    tagger = Tagger((), tuple(g.grid_id for g in grids_file.grids),
                    shapely.STRtree([g.geom for g in grids_file.grids]))
    grids = tagger.tag(np.array([r.lon for r in reports]), np.array([r.lat for r in reports]))
    reporter = {(r.case_id, r.created_at): w for w, recs in case_rows.items() for r in recs if r.kind == "report"}
    out = {w: list(recs) for w, recs in case_rows.items()}
    for rec, gid in zip(reports, grids, strict=True):
        for row in roster_rows:
            if gid is not None and row.grid_id == gid and row.worker_id != reporter[(rec.case_id, rec.created_at)]:
                out.setdefault(row.worker_id, []).append(dataclasses.replace(rec, kind="grid"))
    return out


def add_cases(entry: dict[str, Any], fixes: Fixes, cases: Sequence[CaseRecord], prof: Profile,
              params: GeoParams, grid_count: int | None) -> None:
    """Add a day entry's ``cases`` (NB-ARRIVE verdicts, the records for YK-CASE-SLA) and
    ``reports`` (NB-VOLUME). ``cases``: the worker's cases created on the entry's local date.
    Shared by the file flow and the nightly database flow."""
    from geo.arrival import cases_json, count_reports, judge_cases, reports_json

    limit = arrive_within_s(prof)
    verdicts = judge_cases(fixes, cases, params, float("inf") if limit is None else limit,
                           near_m=grid_near_m(prof))
    entry["cases"] = cases_json(verdicts, params.timezone)
    entry["reports"] = reports_json(count_reports(cases)) | {"grid_count": grid_count}


def cases_on(cases: Sequence[CaseRecord], date: dt.date, tz: ZoneInfo) -> list[CaseRecord]:
    """The cases created on local ``date``."""
    start, end = day_bounds(date, tz)
    return [c for c in cases if start <= c.created_at < end]


def batch_by_date(days: Sequence[WorkerDay], max_fixes: int) -> list[list[WorkerDay]]:
    """Split worker-days into engine batches of up to ``max_fixes`` fixes.

    Consecutive whole dates share a batch while they fit; a date with more fixes than the
    limit is cut into runs of workers (a single worker-day is never cut).
    """
    by_date: dict[dt.date, list[WorkerDay]] = {}
    for d in days:
        by_date.setdefault(d.date, []).append(d)
    batches: list[list[WorkerDay]] = []
    current: list[WorkerDay] = []
    count = 0

    def flush() -> None:
        nonlocal current, count
        if current:
            batches.append(current)
        current, count = [], 0

    for date in sorted(by_date):
        group = by_date[date]
        n = sum(len(d.fixes) for d in group)
        if count + n > max_fixes:
            flush()
        if n <= max_fixes:
            current.extend(group)
            count += n
            continue
        for d in group:  # a date too large for one batch: runs of workers
            if current and count + len(d.fixes) > max_fixes:
                flush()
            current.append(d)
            count += len(d.fixes)
        flush()
    flush()
    return batches


def evaluate_files(
    *,
    grids: str | os.PathLike[str],
    roster: str | os.PathLike[str],
    positions: Iterable[str | PositionsSource],
    date_from: dt.date,
    date_to: dt.date,
    profile: str | os.PathLike[str] | Profile = "yangkou-2022",
    signins: str | os.PathLike[str] | None = None,
    patrols: str | os.PathLike[str] | None = None,
    exemptions: str | os.PathLike[str] | None = None,
    cases: str | os.PathLike[str] | None = None,
    workers: Iterable[str] | None = None,
    progress: Progress = _quiet,
    max_fixes_per_batch: int = 2_000_000,
) -> dict[str, Any]:
    """Evaluate every roster worker on every date of the range; return the FORMATS.md JSON.

    The engine is called on batches of worker-days (vectorised across workers) of at most
    ``max_fixes_per_batch`` fixes, which bounds memory on large townships and long ranges.
    """
    from geo.engine import evaluate_days

    t0 = time.perf_counter()
    if date_to < date_from:
        raise ValueError(f"--to {date_to} is before --from {date_from}")
    prof = profile if isinstance(profile, Profile) else load_profile(profile)
    params = prof.geo_params()

    grids_file = read_grids(grids)
    roster_rows = read_roster(roster)
    wanted = set(workers) if workers else None
    if wanted is not None:
        unknown = sorted(wanted - {r.worker_id for r in roster_rows})
        if unknown:
            raise FormatError(os.fspath(roster), None, "worker_id", f"not in the roster: {', '.join(unknown)}")
        roster_rows = [r for r in roster_rows if r.worker_id in wanted]
    progress(f"read {len(grids_file.grids)} grids, {len(roster_rows)} workers")

    sources = [p if isinstance(p, PositionsSource) else PositionsSource.parse(p) for p in positions]
    per_file = []
    for src in sources:
        per_file.append(read_positions(src.path, worker_id=src.worker_id))
        n = sum(len(f) for f in per_file[-1].values())
        progress(f"read {n} positions of {len(per_file[-1])} workers from {src.path}")
    fixes = merge_positions(per_file)
    office_villages = {o.village_id for o in grids_file.offices}
    no_office = sorted({r.village_id for r in roster_rows} - office_villages)
    if no_office:
        progress(f"warning: no village office in {os.fspath(grids)} for {', '.join(no_office)}: "
                 "sign-ins of their workers cannot be inside a geofence")
    if wanted is None:
        strangers = sorted(set(fixes) - {r.worker_id for r in roster_rows})
        if strangers:
            progress(f"warning: positions of {len(strangers)} workers not in the roster are ignored")
    sign = read_signins(signins) if signins else {}
    sessions = read_patrols(patrols) if patrols else {}
    exempt = read_exemptions(exemptions, timezone=params.timezone) if exemptions else {}
    case_rows = read_cases(cases) if cases else None
    if case_rows is not None:
        progress(f"read {sum(len(v) for v in case_rows.values())} cases of {len(case_rows)} workers")
        case_rows = with_grid_cases(case_rows, roster_rows, grids_file, prof)

    dates = dates_between(date_from, date_to)
    worker_days = build_worker_days(
        roster_rows, grids_file, fixes, sign, sessions, exempt, params, dates,
        roster_name=os.fspath(roster),
    )
    index = GridIndex(
        grid_ids=tuple(g.grid_id for g in grids_file.grids),
        geoms=tuple(g.geom for g in grids_file.grids),
    )
    progress(f"evaluating {len(worker_days)} worker-days ({len(dates)} dates)")
    t1 = time.perf_counter()
    results = []
    batches = batch_by_date(worker_days, max_fixes_per_batch)
    for i, batch in enumerate(batches, 1):
        results.extend(evaluate_days(batch, params, grids=index))
        if len(batches) > 1:
            progress(f"batch {i}/{len(batches)}: {len(results)} worker-days evaluated")
    progress(f"evaluated in {time.perf_counter() - t1:.1f} s")

    day_entries: list[dict[str, Any]] = []
    trail_input = []
    tz = ZoneInfo(params.timezone)
    for result in results:
        entry, deductions = day_entry(result, prof)
        if case_rows is not None:
            add_cases(entry, fixes.get(result.worker_id, Fixes.empty()),
                      cases_on(case_rows.get(result.worker_id, ()), result.date, tz), prof, params,
                      len(grids_file.grids))
        day_entries.append(entry)
        trail_input.append((result.worker_id, result.date, deductions))
    day_entries.sort(key=lambda e: (e["worker_id"], e["date"]))
    evaluated = sorted({r.worker_id for r in roster_rows if r.grid_id is not None})
    totals = period_totals(trail_input, prof, workers=evaluated)

    roster_ids = {r.worker_id for r in roster_rows}
    out: dict[str, Any] = {
        "profile": prof.id,
        "profile_version": prof.version,
        "timezone": prof.timezone,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "days": day_entries,
        "totals": totals_json(totals),
        "trail": trail_json(totals),
        "workers_without_grid": sorted(r.worker_id for r in roster_rows if r.grid_id is None),
        "positions_not_in_roster": sorted(set(fixes) - roster_ids) if wanted is None else [],
    }
    progress(f"done in {time.perf_counter() - t0:.1f} s")
    return out
