"""Township scoring JSON API under ``/api/township`` (thin: :mod:`checkins.scores.service`).

Every handler takes the caller's office scope: a village office reads its own village's
sheets and enters items for its own workers; closing, reopening, quota overrides and what-if
are for the township office and the administrator (403 otherwise). Objects of another
village answer 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from checkins.scores import service as svc
from server.deps import SessionDep
from server.office.auth import ScopeDep

router = APIRouter(prefix="/api/township", tags=["township"])

MAX_IMPORT_BYTES = 5 * 1024 * 1024
TownshipQ = Annotated[str | None, Query(max_length=32, description="default: the caller's")]


class ItemIn(BaseModel):
    """One entered item: subject, rule id, item code, value, evidence note, date or period."""

    model_config = ConfigDict(extra="forbid")
    subject_id: str = Field(max_length=64)
    rule: str = Field(max_length=32)
    item: str = Field(max_length=64)
    value: str | float | int = Field(default=1, description="count, rate (0.925 or 92.5%), rank or score")
    note: str = Field(max_length=2000, description="the evidence (required)")
    date: dt.date | None = None
    period: str | None = Field(default=None, max_length=8)
    item_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class Reason(BaseModel):
    """A reason (required for reopen and withdraw, optional for close)."""

    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=2000)


class QuotaIn(BaseModel):
    """YK-TIER quota override of one village and role; a missing tier takes the rest."""

    model_config = ConfigDict(extra="forbid")
    village_id: str = Field(max_length=32)
    role: str = Field(max_length=16)
    excellent: int | None = Field(default=None, ge=0, le=1000)
    good: int | None = Field(default=None, ge=0, le=1000)
    pass_: int | None = Field(default=None, ge=0, le=1000, alias="pass")
    reason: str = Field(max_length=2000)


class WhatIfIn(BaseModel):
    """Another profile: a packaged name or the text of a profile YAML file."""

    model_config = ConfigDict(extra="forbid")
    profile: str | None = Field(default=None, max_length=64)
    profile_yaml: str | None = Field(default=None, max_length=200_000)


@router.get("/periods/{period}")
def get_ranking(period: str, scope: ScopeDep, session: SessionDep,
                township_id: TownshipQ = None) -> dict[str, Any]:
    """Ranking per village: totals, veto, tier, rank, payouts; frozen if the period is closed."""
    t = svc.township_for(session, scope, township_id)
    return svc.ranking(session, scope, t, period)


@router.get("/periods/{period}/sheets/{subject_id}")
def get_sheet(period: str, subject_id: str, scope: ScopeDep, session: SessionDep,
              township_id: TownshipQ = None) -> dict[str, Any]:
    """One worker's (or office's) sheet: items, caps, the trail of every point, tier, payouts."""
    t = svc.township_for(session, scope, township_id)
    return svc.sheet(session, scope, t, period, subject_id)


@router.get("/periods/{period}/export.{fmt}")
def export_period(period: str, fmt: Literal["csv", "xlsx"], scope: ScopeDep,
                  session: SessionDep, township_id: TownshipQ = None) -> Response:
    """The period as CSV or .xlsx (Chinese headers, one sheet per visible village)."""
    t = svc.township_for(session, scope, township_id)
    data, media, name = svc.export(session, scope, t, period, fmt)
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/periods/{period}/close")
def post_close(period: str, scope: ScopeDep, session: SessionDep, body: Reason | None = None,
               township_id: TownshipQ = None) -> dict[str, Any]:
    """Score the period now and freeze it (township office); audited."""
    t = svc.township_for(session, scope, township_id)
    out = svc.close_period(session, scope, t, period, body.reason if body else None)
    session.commit()
    return out


@router.post("/periods/{period}/reopen")
def post_reopen(period: str, body: Reason, scope: ScopeDep, session: SessionDep,
                township_id: TownshipQ = None) -> dict[str, Any]:
    """Reopen a closed period (township office, reason required); audited."""
    t = svc.township_for(session, scope, township_id)
    out = svc.reopen_period(session, scope, t, period, body.reason)
    session.commit()
    return out


@router.post("/periods/{period}/quota")
def post_quota(period: str, body: QuotaIn, scope: ScopeDep, session: SessionDep,
               township_id: TownshipQ = None) -> dict[str, Any]:
    """The township's YK-TIER quota override for a village and role (recorded, audited)."""
    t = svc.township_for(session, scope, township_id)
    out = svc.set_quota(session, scope, t, period, village_id=body.village_id, role=body.role,
                        excellent=body.excellent, good=body.good, pass_=body.pass_,
                        reason=body.reason)
    session.commit()
    return out


@router.post("/periods/{period}/whatif")
def post_whatif(period: str, body: WhatIfIn, scope: ScopeDep, session: SessionDep,
                township_id: TownshipQ = None) -> dict[str, Any]:
    """Score the period under another profile; differences per subject; nothing is stored."""
    t = svc.township_for(session, scope, township_id)
    return svc.whatif(session, scope, t, period, profile_name=body.profile,
                      profile_yaml=body.profile_yaml)


@router.get("/items")
def get_items(scope: ScopeDep, session: SessionDep, township_id: TownshipQ = None,
              period: str | None = None, village_id: str | None = None,
              subject_id: str | None = None, include_withdrawn: bool = False
              ) -> list[dict[str, Any]]:
    """Entered items of the visible villages (filters: period, village, subject)."""
    t = svc.township_for(session, scope, township_id)
    return svc.list_items(session, scope, t, period=period, village_id=village_id,
                          subject_id=subject_id, include_withdrawn=include_withdrawn)


@router.post("/items", status_code=201)
def post_item(body: ItemIn, scope: ScopeDep, session: SessionDep,
              township_id: TownshipQ = None) -> dict[str, Any]:
    """Enter one item with its evidence note (entered_by = the caller); audited."""
    t = svc.township_for(session, scope, township_id)
    out = svc.add_item(session, scope, t, subject_id=body.subject_id, rule=body.rule,
                       item=body.item, value=body.value, note=body.note, date=body.date,
                       period=body.period, item_id=body.item_id)
    session.commit()
    return out


@router.post("/items/import", status_code=201)
def post_import(file: Annotated[UploadFile, File()], scope: ScopeDep, session: SessionDep,
                township_id: TownshipQ = None) -> dict[str, Any]:
    """Import an entered-items CSV (docs/scoring.md), all or nothing; one audit row."""
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise svc.ScoresError(f"file larger than {MAX_IMPORT_BYTES} bytes", 413, "file")
    t = svc.township_for(session, scope, township_id)
    out = svc.import_items(session, scope, t, data, file.filename or "<upload>")
    session.commit()
    return out


@router.post("/items/{item_id}/withdraw")
def post_withdraw(item_id: str, body: Reason, scope: ScopeDep, session: SessionDep
                  ) -> dict[str, Any]:
    """Withdraw an entered item (reason required); it stops counting in open periods."""
    out = svc.withdraw_item(session, scope, item_id, body.reason)
    session.commit()
    return out
