"""Office JSON API under ``/api/office``: login, day table, week, worker-day, live, decisions,
exports and the audit log. Every handler takes the caller's scope (:data:`ScopeDep`); objects
outside it answer 404."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from checkins.auth.office import LoginThrottled, login, logout
from checkins.db.engine import write_here
from checkins.evaluation.provisional import grace_s_of
from checkins.field.exemptions import visible_exemption
from checkins.office import decisions, exports
from checkins.office import queries as oq
from server.deps import SessionDep, SettingsDep
from server.office.auth import COOKIE, ScopeDep, TownshipScopeDep, client_address, token_of

router = APIRouter(prefix="/api/office", tags=["office"])

Fmt = Literal["csv", "xlsx"]


class Credentials(BaseModel):
    """Office login."""

    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Decision(BaseModel):
    """An office decision with its required reason (no ids in the body: they are in the path)."""

    model_config = ConfigDict(extra="forbid")
    decision: str = Field(max_length=16)
    reason: str = Field(max_length=2000)


class FlagDecisionIn(Decision):
    """Confirm or dismiss a flag: ``kind`` suspect|offpost|crosspost, ``key`` as the day's
    flags show it (an ISO time; a GEO-SPOOF review flag: ISO time#reason)."""

    kind: str = Field(max_length=16)
    key: str = Field(max_length=64)


class BulkFlagDecisionIn(Decision):
    """Confirm or dismiss many flags of one kind of a worker-day with one reason; ``keys``
    omitted: every flag of the kind not already so decided."""

    kind: str = Field(max_length=16)
    keys: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=5000)


def grace_s(settings: Any) -> float:
    """The grace period after a local day during which its result is provisional (s)."""
    return grace_s_of(settings)


def set_login_cookie(response: Response, token: str, secure: bool) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, path /, Secure in production."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure,
                        path="/", max_age=12 * 3600)


@router.post("/login")
def post_login(body: Credentials, request: Request, session: SessionDep,
               settings: SettingsDep) -> JSONResponse:
    """Log in: the token (use as ``Authorization: Bearer``) and the session cookie."""
    try:
        got = login(session, body.username, body.password, source=client_address(request))
    except LoginThrottled as exc:
        return JSONResponse({"error": "too many failed logins; try again later"}, 429,
                            headers={"Retry-After": str(max(1, int(exc.retry_after_s + 0.999)))})
    if got is None:
        return JSONResponse({"error": "wrong username or password"}, 401)
    token, scope = got
    session.commit()
    resp = JSONResponse({"token": token, "username": scope.username, "role": scope.role,
                         "village_id": scope.village_id})
    set_login_cookie(resp, token, settings.environment == "production")
    return resp


@router.post("/logout")
def post_logout(request: Request, scope: ScopeDep, session: SessionDep) -> JSONResponse:
    """End this session (the token stops working at once)."""
    token = token_of(request)
    ended = logout(session, token) if token and scope.session_id is not None else False
    session.commit()
    resp = JSONResponse({"logged_out": ended})
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/me")
def get_me(scope: ScopeDep) -> dict[str, Any]:
    """Who is logged in and their scope."""
    return {"username": scope.username, "role": scope.role, "village_id": scope.village_id,
            "all_villages": scope.all_villages}


@router.get("/villages")
def get_villages(scope: ScopeDep, session: SessionDep) -> list[dict[str, Any]]:
    """The villages the caller may see."""
    return [{"village_id": v.village_id, "name": v.name} for v in scope.villages(session)]


@router.get("/villages/{village_id}/days/{date}")
def get_day_table(village_id: str, date: dt.date, scope: ScopeDep, session: SessionDep,
                  settings: SettingsDep, status: str | None = None, role: str | None = None,
                  q: str | None = None, sort: str = "worker_id",
                  desc: bool = False) -> dict[str, Any]:
    """The day table of a village (filters: status, role, q; sort by any column)."""
    return oq.day_table(session, scope, village_id, date, status=status, role=role, q=q,
                        sort=sort, desc=desc, grace_s=grace_s(settings))


@router.get("/villages/{village_id}/days/{date}/export.{fmt}")
def export_day_table(village_id: str, date: dt.date, fmt: Fmt, scope: ScopeDep,
                     session: SessionDep, settings: SettingsDep, status: str | None = None,
                     role: str | None = None, q: str | None = None, sort: str = "worker_id",
                     desc: bool = False) -> Response:
    """The day table as CSV or .xlsx (Chinese headers)."""
    table = oq.day_table(session, scope, village_id, date, status=status, role=role, q=q,
                         sort=sort, desc=desc, grace_s=grace_s(settings))
    return _download(*exports.export_day_table(table, fmt))


@router.get("/villages/{village_id}/weeks/{start}")
def get_week(village_id: str, start: dt.date, scope: ScopeDep, session: SessionDep,
             settings: SettingsDep) -> dict[str, Any]:
    """Seven days from ``start`` (a Monday is usual) for every worker of the village."""
    return oq.week_view(session, scope, village_id, start, grace_s=grace_s(settings))


@router.get("/villages/{village_id}/weeks/{start}/export.{fmt}")
def export_week(village_id: str, start: dt.date, fmt: Fmt, scope: ScopeDep,
                session: SessionDep, settings: SettingsDep) -> Response:
    """The week view as CSV or .xlsx."""
    week = oq.week_view(session, scope, village_id, start, grace_s=grace_s(settings))
    return _download(*exports.export_week(week, fmt))


@router.get("/villages/{village_id}/live")
def get_live(village_id: str, scope: ScopeDep, session: SessionDep,
             at: dt.datetime | None = None) -> dict[str, Any]:
    """Who is on patrol, off post or unreachable now (or at ``at``, ISO with offset)."""
    if at is not None and at.tzinfo is None:
        raise HTTPException(422, "at needs a UTC offset")
    return oq.live(session, scope, village_id, at)


@router.get("/workers/{worker_id}/days/{date}")
def get_worker_day(worker_id: str, date: dt.date, scope: ScopeDep, session: SessionDep,
                   settings: SettingsDep) -> dict[str, Any]:
    """A worker-day: result, track, grids, office, flags; the access is audited (PIPL)."""
    out = oq.worker_day(session, scope, worker_id, date, grace_s=grace_s(settings))
    oq.log_track_view(session, scope.actor, worker_id, date, via="api")
    return out


@router.post("/workers/{worker_id}/days/{date}/flags")
def post_flag_decision(worker_id: str, date: dt.date, body: FlagDecisionIn, scope: ScopeDep,
                       session: SessionDep) -> dict[str, Any]:
    """Confirm or dismiss a suspect fix or an off-post interval, with a reason."""
    write_here(session)
    scope.worker(session, worker_id)
    out = decisions.decide_flag(session, worker_id=worker_id, day=date, kind=body.kind,
                                key=body.key, decision=body.decision, reason=body.reason,
                                actor=scope.actor)
    session.commit()
    return out


@router.post("/workers/{worker_id}/days/{date}/flags/bulk")
def post_bulk_flag_decision(worker_id: str, date: dt.date, body: BulkFlagDecisionIn,
                            scope: ScopeDep, session: SessionDep) -> dict[str, Any]:
    """Confirm or dismiss all (or the listed) flags of a kind of a worker-day, one reason."""
    write_here(session)
    scope.worker(session, worker_id)
    out = decisions.decide_flags_bulk(session, worker_id=worker_id, day=date, kind=body.kind,
                                      keys=body.keys, decision=body.decision,
                                      reason=body.reason, actor=scope.actor)
    session.commit()
    return out


@router.get("/pending")
def get_pending(scope: ScopeDep, session: SessionDep) -> dict[str, int]:
    """Counts of what waits for the caller's decision (the menu's badges)."""
    return oq.pending_counts(session, scope)


@router.get("/exemptions")
def get_exemptions(scope: ScopeDep, session: SessionDep, village_id: str | None = None,
                   status: str | None = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """Leave, field-duty and special-case requests of the visible villages."""
    return oq.exemptions(session, scope, village_id=village_id, status=status, limit=limit)


@router.post("/exemptions/{exemption_id}/decision")
def post_exemption_decision(exemption_id: int, body: Decision, scope: ScopeDep,
                            session: SessionDep) -> dict[str, Any]:
    """Approve or deny a request (reason required); its days are re-evaluated."""
    write_here(session)
    visible_exemption(session, scope, exemption_id)
    out = decisions.decide_exemption(session, exemption_id=exemption_id,
                                     decision=body.decision, reason=body.reason,
                                     actor=scope.actor)
    session.commit()
    return out


@router.get("/devices")
def get_devices(scope: ScopeDep, session: SessionDep, village_id: str | None = None,
                status: str | None = None) -> list[dict[str, Any]]:
    """Phones of the visible workers (``status=pending``: waiting for approval)."""
    return oq.devices(session, scope, village_id=village_id, status=status)


@router.post("/devices/{device_id}/decision")
def post_device_decision(device_id: int, body: Decision, scope: ScopeDep,
                         session: SessionDep) -> dict[str, Any]:
    """Approve or revoke a phone (reason required)."""
    write_here(session)
    scope.device(session, device_id)
    out = decisions.decide_device(session, device_id=device_id, decision=body.decision,
                                  reason=body.reason, actor=scope.actor)
    session.commit()
    return out


@router.get("/audit")
def get_audit(scope: TownshipScopeDep, session: SessionDep, action: str | None = None,
              entity: str | None = None, actor: str | None = None,
              before_id: int | None = None,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 200) -> list[dict[str, Any]]:
    """The audit log, newest first (township office and administrator only)."""
    return oq.audit_rows(session, action=action, entity=entity, actor=actor, limit=limit,
                         before_id=before_id)


@router.get("/audit.csv")
def export_audit(scope: TownshipScopeDep, session: SessionDep, action: str | None = None,
                 entity: str | None = None, actor: str | None = None,
                 limit: Annotated[int, Query(ge=1, le=100_000)] = 100_000) -> Response:
    """The audit log as CSV (township office and administrator only)."""
    rows = oq.audit_rows(session, action=action, entity=entity, actor=actor, limit=limit)
    return _download(exports.export_audit(rows), "text/csv; charset=utf-8", "audit.csv")


def _download(content: bytes, media_type: str, filename: str) -> Response:
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
