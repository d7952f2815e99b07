"""``/api/outages``: the server's own outages (GEO-PHONEOFF never charges them).

Township office or admin credentials (:data:`server.deps.OfficeActor`).

* ``GET /api/outages?from=YYYY-MM-DD&to=YYYY-MM-DD``: the outages overlapping those local
  dates (all when omitted), detected and recorded by hand, times in the township's zone;
* ``POST /api/outages`` ``{"from": ISO, "to": ISO, "reason": "..."}``: record a known
  outage by hand (one audit row; the days it touches are re-judged). A time without an
  offset is township local time. 422 naming the field for a bad value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from geo.localtime import day_range
from server.deps import OfficeActor, SessionDep, SettingsDep

router = APIRouter(tags=["outages"])


class OutageIn(BaseModel):
    """A known outage; ``from``/``to`` ISO 8601 (township local time without an offset)."""

    start: str = Field(alias="from")
    end: str = Field(alias="to")
    reason: str


def _date(value: str | None, field: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(422, f"{field}: {value!r} is not a date (YYYY-MM-DD)") from None


@router.get("/api/outages")
def list_server_outages(session: SessionDep, settings: SettingsDep, _actor: OfficeActor,
                        date_from: str | None = Query(None, alias="from"),
                        date_to: str | None = Query(None, alias="to")) -> dict[str, Any]:
    """The server's outages (never charged as GEO-PHONEOFF), oldest first."""
    from checkins.outages.service import list_outages, outage_json

    tz = ZoneInfo(settings.timezone)
    d0, d1 = _date(date_from, "from"), _date(date_to, "to")
    start = day_range(d0, tz)[0] if d0 else None
    end = day_range(d1, tz)[1] if d1 else None
    rows = list_outages(session, start, end)
    return {"rule": "GEO-PHONEOFF",
            "outages": [outage_json(o, settings.timezone) for o in rows]}


@router.post("/api/outages", status_code=201)
def add_server_outage(body: OutageIn, session: SessionDep, settings: SettingsDep,
                      actor: OfficeActor) -> dict[str, Any]:
    """Record a known outage by hand; the outage and how many saved days were marked."""
    from checkins.evaluation.outage_days import add_outage
    from checkins.outages.service import outage_json, parse_time

    try:
        start = parse_time(body.start, "from", settings.timezone)
        end = parse_time(body.end, "to", settings.timezone)
        row, marked = add_outage(session, start=start, end=end, reason=body.reason,
                                 actor=actor)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    session.commit()
    return {**outage_json(row, settings.timezone), "days_marked": marked}
