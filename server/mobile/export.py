"""``GET /me/export`` and ``GET /me/export/positions``: the worker's own data download (PIPL).

Always the token's worker: there is no parameter naming a worker. The work is in
:mod:`checkins.me.export`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from checkins.me import export as svc
from server.deps import SessionDep
from server.mobile import errors as E
from server.mobile.deps import WorkerDep
from server.mobile.errors import ApiError, ErrorBody
from server.mobile.prefix import MOBILE_PREFIX
from server.mobile.schemas import DATE_PATTERN

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])
_AUTH = [Depends(HTTPBearer(auto_error=False,
                            description="access token from /auth/login or /auth/refresh"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid, expired or revoked token"},
    403: {"model": ErrorBody, "description": "device not approved or revoked (`device_*`)"},
    404: {"model": ErrorBody, "description": "no such worker (`not_found`)"},
    422: {"model": ErrorBody, "description": "invalid request (`validation_failed`)"},
}

Rows = list[dict[str, Any]]


class MyExport(BaseModel):
    """Everything held about me except raw positions (those per day: /me/export/positions)."""

    model_config = ConfigDict(extra="allow")

    export_version: int
    generated_at: str
    worker: dict[str, Any]
    timezone: str
    devices: Rows
    sessions: Rows
    alerts: Rows
    signins: Rows
    patrols: Rows
    patrol_logs: Rows
    requests: Rows = Field(description="leave, field duty and special requests with decisions")
    flag_decisions: Rows
    entered_items: Rows
    day_results: Rows
    period_sheets: Rows
    audit: Rows = Field(description="audit rows about me, my phones and my requests "
                                    "(decisions, track views)")
    positions_by_day: dict[str, int] = Field(description="local date -> stored positions")


class MyPositions(BaseModel):
    """All my stored positions (fixes and heartbeats) of one local day."""

    date: str
    timezone: str
    count: int
    items: Rows


@router.get("/me/export", dependencies=_AUTH, response_model=MyExport, responses=_ERRORS,
            summary="Download all data held about me (positions listed per day)")
def get_my_export(me: WorkerDep, session: SessionDep) -> dict[str, Any]:
    """The token's worker's data: records, decisions, results, audit, positions per day."""
    try:
        return svc.export_summary(session, me.worker_id)
    except LookupError as exc:
        raise ApiError(404, E.NOT_FOUND, "no such worker") from exc


@router.get("/me/export/positions", dependencies=_AUTH, response_model=MyPositions,
            responses=_ERRORS, summary="Download my stored positions of one local day")
def get_my_positions(me: WorkerDep, session: SessionDep,
                     date: Annotated[str | None, Query(
                         pattern=DATE_PATTERN, json_schema_extra={"format": "date"},
                         description="local date, YYYY-MM-DD (default: today)")] = None,
                     ) -> dict[str, Any]:
    """Every stored fix and heartbeat of mine on ``date`` (as received + WGS-84)."""
    try:
        day = dt.date.fromisoformat(date) if date is not None else None
    except ValueError as exc:
        raise ApiError(422, E.VALIDATION_FAILED, "date: not a calendar date", "date") from exc
    try:
        return svc.export_positions(session, me.worker_id, day)
    except LookupError as exc:
        raise ApiError(404, E.NOT_FOUND, "no such worker") from exc
