"""Routes of the mobile API (``/api/mobile/v1``): thin, the work is in ``checkins``."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from sqlmodel import Session

from checkins.auth import phone as auth
from checkins.db.engine import is_lock_error
from checkins.me import service as svc
from checkins.positions import ingest
from server.mobile import errors as E
from server.mobile import schemas as S
from server.mobile.deps import (
    SessionDep,
    WorkerDep,
    app_engine,
    app_settings,
    authenticate,
    bearer_claims,
    limiters,
    mobile_settings,
    rate_limit,
    token_settings,
)
from server.mobile.errors import ApiError, ErrorBody, loc_to_field
from server.mobile.photos import read_photos, store_photos
from server.mobile.prefix import MOBILE_PREFIX
from server.mobile.ratelimit import TokenBucket

log = logging.getLogger("gridpatrol.mobile")

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])
# declares the bearer scheme in the OpenAPI document; the token itself is checked by
# deps.bearer_claims / deps.current_worker (auto_error=False: our own error body)
_bearer = HTTPBearer(auto_error=False, description="access token from /auth/login or /auth/refresh")
_AUTH = [Depends(_bearer)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "missing, invalid, expired or revoked token (`token_*`)",
        403: "device not approved or revoked (`device_*`)",
        404: "not found, or not yours (`not_found`)",
        413: "body too large (`body_too_large`, `photo_too_large`)",
        415: "wrong content type (`unsupported_media_type`)",
        422: "invalid request (`validation_failed`, `malformed_json`, `batch_too_large`, ...)",
        429: "rate limited (`rate_limited`, see Retry-After)",
    }.items()
}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _profile(request: Request) -> str:
    return app_settings(request).profile


def _params(request: Request):  # type: ignore[no-untyped-def]
    return svc.geo_params(_profile(request))


def _tokens_out(t: auth.IssuedTokens) -> S.TokenPair:
    return S.TokenPair(access_token=t.access_token, expires_in_s=t.access_expires_in_s,
                       refresh_token=t.refresh_token, refresh_expires_in_s=t.refresh_expires_in_s,
                       worker_id=t.worker_id, device_id=str(t.device_id))


# ------------------------------------------------------------------ auth
@router.post("/auth/login", response_model=S.TokenPair, responses=_ERRORS,
             summary="Log in with phone number and password from an approved phone")
def login(body: S.LoginRequest, request: Request, session: SessionDep) -> S.TokenPair:
    """Log in; a phone not yet approved for the worker gets 403 ``device_pending``."""
    # Strangers must not lock a worker out (issue 15, finding 7): the number's own approved
    # phone has a bucket of its own (number + device); the per-number bucket, which an
    # attacker drains from ever new device ids, applies to devices not approved for it only;
    # and every source address has one (generous: carrier NAT)
    lim = limiters(request)
    rate_limit(lim.login_ip, request.client.host if request.client else "-",
               "login attempts from this address")
    rate_limit(lim.login_device, f"{body.phone}|{body.device_uid}",
               "login attempts for this phone number from this device")
    if not auth.known_device(session, phone=body.phone, device_uid=body.device_uid):
        rate_limit(lim.login_phone, body.phone,
                   "login attempts for this phone number from new devices")
    try:
        issued = auth.login(session, phone=body.phone, password=body.password,
                            device_uid=body.device_uid, device_model=body.device_model,
                            settings=token_settings(request))
    except auth.AuthError as exc:
        session.commit()  # keep a newly registered pending device
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from exc
    session.commit()
    return _tokens_out(issued)


@router.post("/auth/refresh", response_model=S.TokenPair, responses=_ERRORS,
             summary="Swap a refresh token for new tokens (each refresh token works once)")
def refresh(body: S.RefreshRequest, request: Request, session: SessionDep) -> S.TokenPair:
    """Rotate; reusing a refresh token revokes its whole family (``refresh_reused``)."""
    try:
        issued = auth.refresh(session, refresh_token=body.refresh_token,
                              settings=token_settings(request))
    except auth.AuthError as exc:
        session.commit()  # the family revocation must stick
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from exc
    session.commit()
    return _tokens_out(issued)


@router.post("/auth/logout", dependencies=_AUTH, response_model=S.OkResponse, responses=_ERRORS,
             summary="End this login: its access and refresh tokens stop working at once")
def logout(me: WorkerDep, session: SessionDep) -> S.OkResponse:
    """Revoke the current session (token family)."""
    auth.logout(session, session_id=me.session_id)
    session.commit()
    return S.OkResponse()


@router.get("/me", dependencies=_AUTH, response_model=S.MeResponse, responses=_ERRORS, summary="Who am I")
def me(me: WorkerDep, session: SessionDep, request: Request) -> S.MeResponse:
    """The token's worker and device."""
    w = svc.worker_of(session, me.worker_id)
    day = svc.local_date(_now(), _params(request).timezone)
    grid = svc.grid_on(session, me.worker_id, day)
    return S.MeResponse(worker_id=w.worker_id, name=w.name, role=w.role, village_id=w.village_id,
                        grid_id=grid.grid_id if grid else None, device_id=str(me.device_id))


@router.get("/me/assignment", dependencies=_AUTH, response_model=S.AssignmentResponse, responses=_ERRORS,
            summary="Today's grid, office geofence, patrol windows and requirements")
def get_assignment(me: WorkerDep, session: SessionDep, request: Request,
                   datum: Annotated[S.Datum, Query(description="datum of the coordinates returned")] = "wgs84",
                   ) -> dict[str, Any]:
    """Today's assignment, coordinates in the requested datum (GEO-CRS)."""
    return svc.assignment(session, me.worker_id, now=_now(), datum=datum, params=_params(request))


@router.get("/me/day", dependencies=_AUTH, response_model=S.MyDayResponse, responses=_ERRORS,
            summary="My day: patrol progress so far, flags raised on me, month's points")
def get_my_day(me: WorkerDep, session: SessionDep, request: Request) -> dict[str, Any]:
    """Today's in-grid minutes against the requirement, flags and the month's points."""
    return svc.my_day(session, worker_id=me.worker_id, now=_now(), params=_params(request),
                      profile=_profile(request))


# ------------------------------------------------------------------ sign-in and patrols
@router.post("/signins", dependencies=_AUTH, response_model=S.SigninResponse, responses=_ERRORS,
             summary="Sign in (签到) with the fix it was made at; says at once if it counts")
def post_signin(body: S.SigninRequest, me: WorkerDep, session: SessionDep,
                request: Request) -> dict[str, Any]:
    """Store the sign-in and judge it (GEO-SIGNIN, YK-SIGNIN-PLACE, YK-LOG)."""
    f = body.fix
    try:
        return svc.sign_in(session, worker_id=me.worker_id, device_id=me.device_id,
                           client_id=body.client_id, lon=f.lon, lat=f.lat, datum=f.datum,
                           accuracy_m=f.accuracy_m, signed_at=f.recorded_at, mock=f.mock,
                           params=_params(request))
    except svc.Invalid as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from exc


@router.post("/patrols", dependencies=_AUTH, response_model=S.PatrolSessionOut, responses=_ERRORS,
             summary="Start a patrol")
def post_patrol(body: S.PatrolStartRequest, me: WorkerDep, session: SessionDep,
                request: Request) -> dict[str, Any]:
    """Start a patrol (a resent start with the same client id returns the same patrol)."""
    try:
        return svc.start_patrol(session, worker_id=me.worker_id, device_id=me.device_id,
                                client_id=body.client_id, started_at=body.started_at,
                                params=_params(request))
    except svc.NotFound as exc:
        raise ApiError(404, E.NOT_FOUND, "no such patrol", "client_id") from exc


@router.post("/patrols/{patrol_id}/stop", dependencies=_AUTH, response_model=S.PatrolSessionOut, responses=_ERRORS,
             summary="Stop a patrol")
def stop_patrol(patrol_id: str, body: S.PatrolStopRequest, me: WorkerDep,
                session: SessionDep) -> dict[str, Any]:
    """Stop one of my patrols; another worker's patrol id is 404."""
    try:
        return svc.stop_patrol(session, worker_id=me.worker_id, patrol_id=patrol_id,
                               ended_at=body.ended_at)
    except svc.NotFound as exc:
        raise ApiError(404, E.NOT_FOUND, "no such patrol", "patrol_id") from exc
    except svc.Invalid as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from exc


@router.post("/patrol-logs", dependencies=_AUTH, response_model=S.PatrolLogOut, responses=_ERRORS,
             summary="Write a patrol log entry (巡查日志) with up to 9 photos (multipart)")
async def post_patrol_log(
    request: Request,
    claims: Annotated[Any, Depends(bearer_claims)],
    text: Annotated[str, Form(max_length=5000)] = "",
    patrol_id: Annotated[str | None, Form()] = None,
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP; at most 9")] = None,
    client_id: Annotated[str | None, Form(min_length=1, max_length=64, description=(
        "the phone's id of this entry; a resend with the same id answers the stored entry "
        "(duplicate: true) and stores nothing again"))] = None,
) -> dict[str, Any]:
    """Photos are checked by content (Pillow), stored under the data folder with their EXIF."""
    if client_id is None and (await request.form()).get("client_id") == "":
        # FastAPI reads an empty form field as absent: each resend would then be a new log
        raise ApiError(422, E.VALIDATION_FAILED,
                       "client_id is empty: send the entry's id or leave the field out",
                       "client_id")
    blobs = await read_photos(request, photos)

    def work() -> dict[str, Any]:
        with Session(app_engine(request), expire_on_commit=False) as session:
            who = authenticate(session, claims)
            seen = svc.find_patrol_log(session, worker_id=who.worker_id, client_id=client_id)
            if seen is not None:  # a resend: no second entry, no second copy of the photos
                return svc.patrol_log_out(seen) | {"duplicate": True}
            now = _now()
            records = store_photos(request, who.worker_id, blobs,
                                   svc.local_date(now, _params(request).timezone))
            try:
                return svc.add_patrol_log(session, worker_id=who.worker_id, patrol_id=patrol_id,
                                          text=text, photos=records, written_at=now,
                                          client_id=client_id)
            except svc.NotFound as exc:
                raise ApiError(404, E.NOT_FOUND, "no such patrol", "patrol_id") from exc

    return await run_in_threadpool(work)


# ------------------------------------------------------------------ positions
def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.split("/")[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


# The documented request: an object whose "items" (at most 500) are objects, each validated
# on its own against PositionItem (given inline as x-item-schema). A schema-invalid item
# does not make the request invalid: it is answered "rejected" with reason and field.
_ITEM_SCHEMA = _inline(S.PositionItem.model_json_schema())
_BATCH_SCHEMA = {
    "title": "PositionBatch", "type": "object", "required": ["items"],
    "properties": {"items": {
        "type": "array", "maxItems": S.MAX_BATCH_ITEMS, "items": {"type": "object"},
        "description": "fixes and heartbeats; each item is validated on its own against "
                       "`x-item-schema` (PositionItem) and answered in the same order",
        "x-item-schema": _ITEM_SCHEMA,
    }},
}

_REASONS = {
    "missing": "missing_field",
    "finite_number": "not_finite",
    "timezone_aware": "missing_utc_offset",
    "literal_error": "invalid_choice",
    "string_pattern_mismatch": "invalid_format",
    "too_long": "too_long",
}


def _reason(err: dict[str, Any]) -> str:
    loc = err.get("loc", ())
    if loc and loc[-1] == "datum" and err.get("type") == "literal_error":
        return "unknown_datum"
    t = str(err.get("type", ""))
    if t.startswith(("greater_than", "less_than")):
        return "out_of_range"
    if t.endswith("_parsing") or t.endswith("_type"):
        return "invalid_type"
    return _REASONS.get(t, "invalid_value")


def _semantic(it: S.PositionItem) -> tuple[str, str] | None:
    """A fix needs lon, lat and its datum (GEO-CRS: never guess a datum)."""
    if it.kind == "fix":
        for name in ("lon", "lat", "datum"):
            if getattr(it, name) is None:
                return "missing_field", name
    return None


def parse_batch(body: bytes) -> tuple[list[tuple[int, S.PositionItem]], list[ingest.ItemOutcome], list[int]]:
    """Validate a batch item by item: one bad item never rejects the others."""
    items: list[tuple[int, S.PositionItem]] = []
    bad: list[ingest.ItemOutcome] = []
    seqs: list[int] = []
    try:
        batch = S.PositionBatch.model_validate_json(body)  # fast path: all items valid
        raw_items: list[Any] | None = None
        parsed: list[S.PositionItem | None] = list(batch.items)
    except ValidationError:
        try:
            raw = json.loads(body)
        except RecursionError as exc:  # e.g. 200 KB of "[[[[": the parser's stack, not a 500
            raise ApiError(422, E.MALFORMED_JSON, "body is nested too deeply (JSON)",
                           "items") from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(422, E.MALFORMED_JSON, f"body is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("items"), list):
            raise ApiError(422, E.VALIDATION_FAILED, "body must be an object with a list 'items'", "items") from None
        raw_items = raw["items"]
        if len(raw_items) > S.MAX_BATCH_ITEMS:
            raise ApiError(422, E.BATCH_TOO_LARGE,
                           f"{len(raw_items)} items; at most {S.MAX_BATCH_ITEMS} per batch", "items") from None
        for i, obj in enumerate(raw_items):
            if not isinstance(obj, dict):  # not an item at all: the request is malformed
                raise ApiError(422, E.VALIDATION_FAILED, "every item must be a JSON object",
                               f"items.{i}") from None
        parsed = []
        for i, obj in enumerate(raw_items):
            try:
                parsed.append(S.PositionItem.model_validate(obj))
            except ValidationError as exc:
                err = exc.errors()[0]
                cid = obj.get("client_id")
                bad.append(ingest.ItemOutcome(i, cid if isinstance(cid, str) else None, ingest.REJECTED,
                                              _reason(err), loc_to_field(err.get("loc", ()))))
                # the batch arrived, so a rejected item's seq is not missing, but only a seq
                # the contract allows is recorded (2**63 overflowed the column, 2**53+1 made
                # a gap of 9e15 "missing" items)
                if type(obj.get("seq")) is int and 0 <= obj["seq"] <= S.MAX_SEQ:
                    seqs.append(obj["seq"])
                parsed.append(None)
    for i, it in enumerate(parsed):
        if it is None:
            continue
        seqs.append(it.seq)
        problem = _semantic(it)
        if problem:
            bad.append(ingest.ItemOutcome(i, it.client_id, ingest.REJECTED, problem[0], problem[1]))
        else:
            items.append((i, it))
    return items, bad, seqs


@router.post(
    "/positions", dependencies=_AUTH, response_model=S.BatchResult, responses=_ERRORS,
    summary="Upload up to 500 fixes and heartbeats; each item is answered on its own",
    openapi_extra={"requestBody": {"required": True,
                                   "content": {"application/json": {"schema": _BATCH_SCHEMA}}}},
)
async def post_positions(request: Request) -> Response:
    """Idempotent on (device, client_id): a resent item is ``duplicate``, never stored twice.

    An answered (200) batch is committed. Items failing GEO-VALID are stored and answered
    ``accepted`` with their ``reason`` (kept for the record, excluded from computations);
    structurally invalid items are ``rejected`` with the reason and field, not stored.
    """
    claims = bearer_claims(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ApiError(415, E.UNSUPPORTED_MEDIA_TYPE, "send the batch as application/json",
                       "content-type")
    bucket = limiters(request).upload
    if isinstance(bucket, TokenBucket):  # in memory: no need to leave the event loop
        rate_limit(bucket, claims.device_id, "uploads from this device")
    else:  # a database round trip
        await run_in_threadpool(rate_limit, bucket, claims.device_id, "uploads from this device")
    body = await request.body()
    items, bad, seqs = parse_batch(body)
    ms = mobile_settings(request)
    params = ingest.IngestParams(geo=_params(request), max_age_days=ms.max_age_days,
                                 max_ahead_days=ms.max_ahead_days, grid_cache_s=ms.grid_cache_s)

    def work() -> Response:
        with Session(app_engine(request), expire_on_commit=False) as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # SQLite only
            who = authenticate(session, claims)
            report = ingest.ingest_batch(session, worker_id=who.worker_id, device_id=who.device_id,
                                         items=items, outcomes=bad, seqs_seen=seqs, params=params)
        # built by hand (the shape of S.BatchResult): 500 model objects per answer cost more
        # than the rest of the request's Python work
        res = [{"client_id": o.client_id, "index": o.index, "status": o.status,
                "reason": o.reason, "field": o.field} for o in report.outcomes]
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for o in report.outcomes:
            counts[o.status] += 1
        body = {"accepted": counts["accepted"], "duplicates": counts["duplicate"],
                "rejected": counts["rejected"], "items": res,
                "server_time": _now().isoformat().replace("+00:00", "Z")}
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    def work_retried() -> Response:
        # SQLite: under many writers a waiter can lose the write lock past the busy timeout
        # ("database is locked"); the batch was rolled back whole and is idempotent by
        # client id, so it is simply tried again (at most 3 times)
        for attempt in range(3):
            try:
                return work()
            except sa.exc.OperationalError as exc:
                if not is_lock_error(exc) or attempt == 2:
                    raise
                log.warning("upload retried after SQLite lock timeout (attempt %d)", attempt + 1)
        raise AssertionError("unreachable")

    return await run_in_threadpool(work_retried)


# ------------------------------------------------------------------ requests
@router.post("/requests", dependencies=_AUTH, response_model=S.ExemptionOut, responses=_ERRORS,
             summary="Ask for leave, field duty (外勤, with its place) or a special case")
def post_request(body: S.ExemptionRequest, me: WorkerDep, session: SessionDep) -> dict[str, Any]:
    """A request starts as ``requested``; the village office approves or denies it."""
    place = None
    if body.place is not None:
        place = (body.place.lon, body.place.lat, body.place.datum, body.place.radius_m)
    try:
        return svc.request_exemption(session, worker_id=me.worker_id, kind=body.kind,
                                     start=body.start, end=body.end, reason=body.reason,
                                     place=place, client_id=body.client_id)
    except svc.Invalid as exc:
        raise ApiError(422, exc.code, exc.message, exc.field) from exc


@router.get("/requests", dependencies=_AUTH, response_model=S.ExemptionList, responses=_ERRORS,
            summary="My requests and their status")
def list_requests(me: WorkerDep, session: SessionDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """My requests, newest first."""
    return {"items": svc.list_exemptions(session, worker_id=me.worker_id, limit=limit)}


@router.get("/requests/{request_id}", dependencies=_AUTH, response_model=S.ExemptionOut, responses=_ERRORS,
            summary="One of my requests")
def get_request(request_id: str, me: WorkerDep, session: SessionDep) -> dict[str, Any]:
    """One request; another worker's id is 404."""
    try:
        return svc.get_exemption(session, worker_id=me.worker_id, exemption_id=request_id)
    except svc.NotFound as exc:
        raise ApiError(404, E.NOT_FOUND, "no such request", "request_id") from exc




def register(app: Any) -> None:
    """Hook for ``server.app``: add the mobile API (routes, error format, body limits)."""
    from server.mobile import install

    install(app)
