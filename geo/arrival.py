"""NB-ARRIVE: when a collector reached a case location after an instruction.

Arrival is the device time of the first usable fix (GEO-VALID, not GEO-SPOOF suspect) at
or after the instruction time that lies within ``arrive_radius_m`` of the case location,
measured in metres in the local projection. None if there is no such fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import numpy as np

from geo.calendar import is_working_day
from geo.crs import project, projection_key
from geo.duty import day_bounds, local_instant
from geo.spoof import suspect_bits
from geo.types import CaseRecord, CaseVerdict, Fixes, GeoParams, ReportCount
from geo.validity import reject_codes

RULE_ID = "NB-ARRIVE"
# a fix computed to lie exactly on the radius may come out a few nanometres beyond it after
# the round trip through the projection; the rule says "within 50 m", boundary included
_ON_RADIUS_M = 1e-6


def arrival_time(
    fixes: Fixes, case_lon: float, case_lat: float, since_t: float, params: GeoParams,
    until_t: float | None = None,
) -> float | None:
    """NB-ARRIVE: first usable fix within ``arrive_radius_m`` of the case at/after ``since_t``.

    Parameters
    ----------
    fixes : one worker's fixes (WGS-84), any order.
    case_lon, case_lat : the case location, WGS-84 degrees.
    since_t : the instruction time, POSIX seconds.
    until_t : fixes at or after this time are not looked at (the end of the local day).

    Returns
    -------
    POSIX seconds of arrival, or None.
    """
    if len(fixes) == 0:
        return None
    pos = ~fixes.is_heartbeat.astype(bool)
    order = np.lexsort((fixes.lat, fixes.lon, fixes.t))
    order = order[pos[order]]
    t = fixes.t[order]
    lon, lat = fixes.lon[order], fixes.lat[order]
    recv = None if fixes.received_at is None else fixes.received_at[order]
    ok = reject_codes(lon, lat, fixes.accuracy_m[order], t, recv, params) == 0
    t, lon, lat, mock = t[ok], lon[ok], lat[ok], fixes.mock[order][ok]
    if t.size == 0:
        return None
    key = projection_key(case_lon, case_lat)
    x, y = project(lon, lat, key)
    usable = suspect_bits(x, y, t, mock, np.zeros(t.size, np.int64), params) == 0
    cx, cy = project(np.array([case_lon]), np.array([case_lat]), key)
    near = usable & (t >= since_t) & (
        np.hypot(x - cx[0], y - cy[0]) <= params.arrive_radius_m + _ON_RADIUS_M)
    if until_t is not None:
        near &= t < until_t
    hit = np.flatnonzero(near)
    return float(t[hit[0]]) if hit.size else None


def on_duty_at(t: float, params: GeoParams) -> bool:
    """True if ``t`` lies inside a duty window (GEO-DUTY) of a working day (YK-DAYS)."""
    date = dt.datetime.fromtimestamp(t, ZoneInfo(params.timezone)).date()
    if not is_working_day(date, params.working_days, params.calendar_overrides):
        return False
    return any(local_instant(date, a, params.timezone) <= t < local_instant(date, b, params.timezone)
               for a, b in params.duty_windows)


def own_report_s(case: CaseRecord, reports: Iterable[CaseRecord], near_m: float) -> int | None:
    """A grid case found by others: seconds to the worker's first own report of the same
    category within ``near_m`` metres of it (negative: the worker reported it first), or None."""
    if case.lon is None or case.lat is None:
        return None
    key = projection_key(case.lon, case.lat)
    cx, cy = project(np.array([case.lon]), np.array([case.lat]), key)
    best: float | None = None
    for r in reports:
        if r.kind != "report" or r.category != case.category or r.lon is None or r.lat is None or r.valid is False:
            continue
        x, y = project(np.array([r.lon]), np.array([r.lat]), key)
        if float(np.hypot(x[0] - cx[0], y[0] - cy[0])) <= near_m + _ON_RADIUS_M:
            best = r.created_at if best is None else min(best, r.created_at)
    return None if best is None else int(round(best - case.created_at))


def judge_cases(
    fixes: Fixes, cases: Iterable[CaseRecord], params: GeoParams, within_s: float,
    near_m: float = 100.0,
) -> tuple[CaseVerdict, ...]:
    """NB-ARRIVE for each instruction of a worker (sorted by time, then id); reports as they are.

    ``fixes``: the worker's fixes covering the cases' local days. Arrival is looked for from
    the instruction time to the end of its local day. ``within_s`` is the rule's limit
    (NB-ARRIVE ``params.within_s``): an arrival after exactly ``within_s`` is still ``ok``.
    Grid cases get the worker's own report among ``cases`` (within ``near_m``; YK-HAZARD).
    """
    out: list[CaseVerdict] = []
    cases = list(cases)
    for c in sorted(cases, key=lambda c: (c.created_at, c.case_id)):
        if c.kind == "grid":
            out.append(CaseVerdict(case=c, own_report_s=own_report_s(c, cases, near_m)))
            continue
        if c.kind != "instruction":
            out.append(CaseVerdict(case=c))
            continue
        date = dt.datetime.fromtimestamp(c.created_at, ZoneInfo(params.timezone)).date()
        end = day_bounds(date, params.timezone)[1]
        at = None if c.lon is None or c.lat is None else arrival_time(
            fixes, c.lon, c.lat, c.created_at, params, until_t=end)
        secs = None if at is None else int(round(at - c.created_at))
        verdict = "none" if secs is None else ("ok" if secs <= within_s else "late")
        out.append(CaseVerdict(case=c, arrived_at=at, arrival_s=secs, arrival=verdict,  # type: ignore[arg-type]
                               on_duty=on_duty_at(c.created_at, params)))
    return tuple(out)


def count_reports(cases: Iterable[CaseRecord]) -> ReportCount:
    """NB-VOLUME: the reports among ``cases`` and those the office found valid (valid is True;
    a rejected or not yet reviewed report is not valid)."""
    reports = sorted((c for c in cases if c.kind == "report"), key=lambda c: (c.created_at, c.case_id))
    valid = [c for c in reports if c.valid is True]
    return ReportCount(total=len(reports), valid=len(valid),
                       case_ids=tuple(c.case_id for c in reports),
                       valid_ids=tuple(c.case_id for c in valid))


def _iso(t: float | None, tz: ZoneInfo) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(round(t), tz).isoformat()


def cases_json(verdicts: Iterable[CaseVerdict], tz: str) -> list[dict]:
    """The ``cases`` list of a FORMATS.md day entry (local times with the township's offset).

    Besides FORMATS.md's keys each entry keeps the record's own fields (category, valid,
    accepted/closed times, complex) so that ``score`` can judge YK-CASE-SLA from the file.
    """
    z = ZoneInfo(tz)
    out = []
    for v in verdicts:
        c = v.case
        e = {"rule": RULE_ID if c.kind == "instruction" else "NB-VOLUME", "case_id": c.case_id,
             "kind": c.kind, "created_at": _iso(c.created_at, z), "category": c.category,
             "lon": c.lon, "lat": c.lat, "valid": c.valid, "accepted_at": _iso(c.accepted_at, z),
             "closed_at": _iso(c.closed_at, z), "complex": c.complex}
        if c.kind == "instruction":
            e |= {"arrived_at": _iso(v.arrived_at, z), "arrival_s": v.arrival_s,
                  "arrival": v.arrival, "on_duty": v.on_duty}
        elif c.kind == "grid":  # found by others in the worker's grid (YK-HAZARD, YK-SAFETY)
            e |= {"rule": "YK-HAZARD", "own_report_s": v.own_report_s}
        out.append(e)
    return out


def reports_json(count: ReportCount) -> dict:
    """The ``reports`` object of a FORMATS.md day entry (NB-VOLUME)."""
    return {"rule": "NB-VOLUME", "total": count.total, "valid": count.valid,
            "valid_case_ids": list(count.valid_ids)}
