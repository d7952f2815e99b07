"""The day entry: the one place where a judged worker-day becomes its JSON.

``geo.engine.day_result_to_json`` (pure) writes the engine's part (patrols, sign-in,
off-post, phone-off, suspect fixes, with their rule ids); this module adds what the layers
above the engine know: the deductions of the rule profile (``scoring.day``) and, for days
judged from the database, the server's outages of the day (GEO-PHONEOFF evidence). The file
flow (``gridpatrol evaluate``), the nightly job, live checks and the worker's own day all
take their entries from :func:`day_entry`; FORMATS.md describes the shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from geo.engine import day_result_to_json, local_iso
from scoring.day import day_deductions
from scoring.profiles import Profile


def day_entry(result: Any, prof: Profile, *, outages: Sequence[Any] = ()
              ) -> tuple[dict[str, Any], list[Any]]:
    """The FORMATS.md day entry of an engine ``DayResult`` with its deductions, and those.

    ``outages`` (``server_outage`` rows overlapping the local day): shown as evidence; a day
    without outages keeps the plain ``evaluate`` entry.
    """
    deductions = day_deductions(result, prof)
    entry = day_result_to_json(result, prof.timezone)
    entry["deductions"] = [d.to_json() for d in deductions]
    if outages:
        add_outage_evidence(entry, result, outages, ZoneInfo(prof.timezone))
    return entry, deductions


def add_outage_evidence(entry: dict[str, Any], result: Any, outages: Sequence[Any],
                        tz: ZoneInfo) -> None:
    """Show the server's outages of the day in its entry (GEO-PHONEOFF evidence).

    ``server_outages``: each outage overlapping the local day (never charged as phone-off);
    a ``phone_off`` interval that starts or ends at an outage's edge (cut by it) names the
    outage in ``cut_by_outage``.
    """
    edges: dict[float, int] = {}
    for o in outages:
        edges[o.start_at.timestamp()] = o.id
        edges[o.end_at.timestamp()] = o.id
    entry["server_outages"] = [
        {"rule": "GEO-PHONEOFF", "id": o.id, "start": local_iso(o.start_at.timestamp(), tz),
         "end": local_iso(o.end_at.timestamp(), tz), "cause": o.cause, "reason": o.reason,
         "charged": False} for o in outages]
    for item, p in zip(entry["phone_off"], result.phone_off, strict=True):
        cut = edges.get(p.end, edges.get(p.start))
        if cut is not None:
            item["cut_by_outage"] = cut


__all__ = ["add_outage_evidence", "day_entry"]
