"""``GET /api/mobile/v1/me/score``: the worker's own period score sheet (and nobody else's).

The sheet is the township's (:func:`checkins.scores.service.worker_period_sheet`): frozen once the
township office closed the period, otherwise scored from the current data (``frozen``
false: it may still change). There is no parameter naming a worker: it is always the
token's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from checkins.auth.office import NotVisible
from checkins.scores import service as svc
from server.deps import SessionDep
from server.mobile import errors as E
from server.mobile.deps import WorkerDep
from server.mobile.errors import ApiError, ErrorBody
from server.mobile.prefix import MOBILE_PREFIX
from server.mobile.schemas import PERIOD_PATTERN

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])


class TrailOut(BaseModel):
    """One signed contribution with its rule id, reason and evidence (worker-day, item)."""

    rule: str
    points: float
    reason: str
    evidence: dict[str, Any]
    charged: bool = Field(True, description="false: shown for the record, not counted")


class ScoreItemOut(BaseModel):
    """One rule item: its maximum, points after the cap, and its trail."""

    rule: str
    title: str
    max_points: float | None
    points: float
    capped: bool
    trail: list[TrailOut]


class PayoutOut(BaseModel):
    """Money (yuan) or a title due under a reward rule; amount null when not decided here."""

    rule: str
    amount: float | None
    reason: str
    period: str


class MyScoreResponse(BaseModel):
    """The worker's own score sheet of one period."""

    worker_id: str
    period: str = Field(description="2026-03, 2026Q1 or 2026")
    profile: str
    frozen: bool = Field(description="true once the township office closed the period")
    total: float
    vetoed: bool
    veto: list[TrailOut]
    rank: int | None = Field(description="rank in the village and role (tiered periods)")
    tier: str | None = Field(description="excellent, good, pass, fail (tiered periods)")
    tier_label: str | None = Field(description="优秀, 良好, 合格, 不合格")
    incomplete: list[str]
    items: list[ScoreItemOut]
    payouts: list[PayoutOut]
    payout_total: float


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, invalid, expired or revoked token"},
    404: {"model": ErrorBody, "description": "no sheet of mine for that period (`not_found`)"},
    422: {"model": ErrorBody, "description": "not a period of the township's rules (`validation_failed`)"},
}


@router.get("/me/score", response_model=MyScoreResponse, responses=_ERRORS,
            summary="My score sheet of a month, quarter or year, with the trail of every point")
def get_my_score(me: WorkerDep, session: SessionDep,
                 period: str = Query(max_length=8, pattern=PERIOD_PATTERN,
                                     description="2026-03, 2026Q1 or 2026")
                 ) -> dict[str, Any]:
    """The token's worker's sheet: items, caps, trail, total, veto, tier and payouts."""
    try:
        got = svc.worker_period_sheet(session, me.worker_id, period)
    except svc.ScoresError as exc:
        raise ApiError(422, E.VALIDATION_FAILED, str(exc), "period") from exc
    except NotVisible as exc:
        raise ApiError(404, E.NOT_FOUND, f"no score sheet for {period}", "period") from exc
    s = got["sheet"]
    return {"worker_id": me.worker_id, "period": got["period"], "profile": got["profile"],
            "frozen": bool(got["state"]["frozen"]), "total": s["total"], "vetoed": s["vetoed"],
            "veto": s["veto"], "rank": s.get("rank"), "tier": s.get("tier"),
            "tier_label": s.get("tier_label"), "incomplete": s.get("incomplete", []),
            "items": s["items"], "payouts": s["payouts"], "payout_total": s["payout_total"]}
