"""Mobile API: cases (事件). Report a case, my cases, my instructions, acknowledge one, mark
arrived / resolved with a photo. Thin: the work is in ``checkins.cases``.

A report is idempotent on the phone's ``client_id`` (an offline phone resends until it gets
an answer: the resend answers the stored case with ``duplicate: true`` and stores nothing,
photos included). A worker sees only their own cases and instructions; another worker's
instruction id is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session

from checkins.cases import service as cases
from server.mobile import errors as E
from server.mobile import schemas as S
from server.mobile.deps import (
    SessionDep,
    WorkerDep,
    app_engine,
    authenticate,
    bearer_claims,
)
from server.mobile.errors import ApiError, ErrorBody
from server.mobile.photos import read_photos, store_photos
from server.mobile.prefix import MOBILE_PREFIX

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])
_AUTH = [Depends(HTTPBearer(auto_error=False, description="access token"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text} for code, text in {
        401: "missing, invalid, expired or revoked token (`token_*`)",
        404: "not found, or not yours (`not_found`)",
        409: "the case cannot move that way now (`invalid_transition`)",
        413: "body too large (`body_too_large`, `photo_too_large`)",
        422: "invalid request (`validation_failed`, `unknown_category`, `photo_required`, ...)",
    }.items()}


class CasePhoto(BaseModel):
    """A photo kept with a case or an instruction (``stage``: arrived / resolved)."""

    id: str | None = None
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    exif_taken_at: str | None = None
    stage: str | None = None


class CaseOut(BaseModel):
    """A case as the worker sees it (position in WGS-84)."""

    case_id: str
    client_id: str | None
    category: str
    text: str
    status: str
    status_text: str
    lon: float
    lat: float
    datum: S.Datum
    grid_id: str | None
    village_id: str | None
    reporter_id: str | None
    complex: bool
    valid: bool | None
    reported_at: str
    accepted_at: str | None
    closed_at: str | None
    photos: list[CasePhoto]
    duplicate: bool = False


class CaseList(BaseModel):
    """My cases, newest first."""

    items: list[CaseOut]


class Categories(BaseModel):
    """The township's case categories, in order."""

    categories: list[str]


class InstructionOut(BaseModel):
    """An instruction (指令) to me: the place (WGS-84), the deadline, what I did."""

    instruction_id: str
    case_id: str
    status: str
    lon: float
    lat: float
    datum: S.Datum
    place_text: str | None
    note: str | None
    deadline_at: str
    created_at: str
    acknowledged_at: str | None
    arrived_at: str | None
    resolved_at: str | None
    photos: list[CasePhoto]
    category: str | None = None
    text: str | None = None


class InstructionList(BaseModel):
    """My instructions, newest first."""

    items: list[InstructionOut]


def _invalid(exc: cases.CaseInvalid) -> ApiError:
    return ApiError(exc.status, exc.code, exc.message, exc.field)


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()  # the folder of a case's photos (UTC day)


@router.get("/cases/categories", dependencies=_AUTH, response_model=Categories, responses=_ERRORS,
            summary="The case categories of my township (事件类别)")
def get_categories(me: WorkerDep, session: SessionDep) -> dict[str, Any]:
    """The township's list, in order (defaults 安全隐患, 矛盾纠纷, 环境卫生, 设施损坏, 其他)."""
    out = cases.categories(session, cases.township_of_worker(session, me.worker_id))
    session.commit()  # the defaults, created on first use
    return {"categories": out}


@router.post("/cases", dependencies=_AUTH, response_model=CaseOut, responses=_ERRORS,
             summary="Report a case (事件上报) with its place and up to 9 photos (multipart)")
async def post_case(
    request: Request,
    claims: Annotated[Any, Depends(bearer_claims)],
    client_id: Annotated[str, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$",
                                   description="the phone's id of this report; a resend answers the "
                                               "stored case (duplicate: true) and stores nothing")],
    category: Annotated[str, Form(min_length=1, max_length=32)],
    lon: Annotated[float, Form(ge=-180, le=180)],
    lat: Annotated[float, Form(ge=-90, le=90)],
    datum: Annotated[S.Datum, Form(description="datum of lon/lat (GEO-CRS)")],
    reported_at: Annotated[dt.datetime, Form(description="device time of the report, with offset")],
    text: Annotated[str, Form(max_length=5000)] = "",
    address: Annotated[str | None, Form(max_length=200)] = None,
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP; at most 9")] = None,
) -> dict[str, Any]:
    """Stored in WGS-84 and tagged with the grid it lies in; status ``reported``."""
    if reported_at.tzinfo is None:
        raise ApiError(422, "missing_utc_offset", "reported_at needs a UTC offset", "reported_at")
    blobs = await read_photos(request, photos)

    def work() -> dict[str, Any]:
        with Session(app_engine(request), expire_on_commit=False) as session:
            who = authenticate(session, claims)
            seen = cases.find_report(session, who.worker_id, client_id)
            if seen is not None:  # a resend: no second case, no second copy of the photos
                return cases.case_json(seen) | {"duplicate": True}
            try:
                cases.check_report(session, worker_id=who.worker_id, category=category, lon=lon, lat=lat,
                                   datum=datum, reported_at=reported_at)  # before photos are written
                case, dup = cases.report_case(
                    session, worker_id=who.worker_id, device_id=who.device_id, client_id=client_id,
                    category=category, text=text, lon=lon, lat=lat, datum=datum,
                    reported_at=reported_at, photos=store_photos(request, who.worker_id, blobs, _today()),
                    address=address)
            except cases.CaseInvalid as exc:
                raise _invalid(exc) from exc
            session.commit()
            return cases.case_json(case) | {"duplicate": dup}

    return await run_in_threadpool(work)


@router.get("/cases", dependencies=_AUTH, response_model=CaseList, responses=_ERRORS,
            summary="My cases (the ones I reported), newest first")
def list_my_cases(me: WorkerDep, session: SessionDep,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Only the cases I reported."""
    return {"items": cases.my_cases(session, me.worker_id, limit)}


@router.get("/instructions", dependencies=_AUTH, response_model=InstructionList, responses=_ERRORS,
            summary="My instructions (指令): where to go and by when, newest first")
def list_my_instructions(me: WorkerDep, session: SessionDep,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> dict[str, Any]:
    """Only the instructions sent to me."""
    return {"items": cases.my_instructions(session, me.worker_id, limit)}


def _instruction_id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, E.NOT_FOUND, "no such instruction", "instruction_id") from None


@router.post("/instructions/{instruction_id}/acknowledge", dependencies=_AUTH, response_model=InstructionOut,
             responses=_ERRORS, summary="Acknowledge (签收) an instruction; a repeat changes nothing")
def acknowledge(instruction_id: str, me: WorkerDep, session: SessionDep) -> dict[str, Any]:
    """YK-CASE-SLA's acceptance; another worker's instruction is 404."""
    try:
        ins = cases.acknowledge(session, me.worker_id, _instruction_id(instruction_id))
    except cases.CaseNotFound as exc:
        raise ApiError(404, E.NOT_FOUND, "no such instruction", "instruction_id") from exc
    session.commit()
    return cases.instruction_out(session, ins)


async def _mark(what: str, instruction_id: str, request: Request, claims: Any, text: str,
                photos: list[UploadFile] | None) -> dict[str, Any]:
    iid = _instruction_id(instruction_id)
    blobs = await read_photos(request, photos)
    if not blobs:
        raise ApiError(422, "photo_required", "a photo of the place is required", "photos")

    def work() -> dict[str, Any]:
        with Session(app_engine(request), expire_on_commit=False) as session:
            who = authenticate(session, claims)
            try:
                cases.my_instruction(session, who.worker_id, iid)
                ins = cases.mark(session, who.worker_id, iid, what,
                                 photos=store_photos(request, who.worker_id, blobs, _today()), text=text or None)
            except cases.CaseNotFound as exc:
                raise ApiError(404, E.NOT_FOUND, "no such instruction", "instruction_id") from exc
            except cases.CaseInvalid as exc:
                raise _invalid(exc) from exc
            session.commit()
            return cases.instruction_out(session, ins)

    return await run_in_threadpool(work)


@router.post("/instructions/{instruction_id}/arrived", dependencies=_AUTH, response_model=InstructionOut,
             responses=_ERRORS, summary="I am there (到场): with at least one photo (multipart)")
async def mark_arrived(
    instruction_id: str, request: Request, claims: Annotated[Any, Depends(bearer_claims)],
    text: Annotated[str, Form(max_length=5000)] = "",
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP; 1 to 9")] = None,
) -> dict[str, Any]:
    """NB-ARRIVE is judged from the fixes, not from this mark; the mark keeps the photo."""
    return await _mark("arrived", instruction_id, request, claims, text, photos)


@router.post("/instructions/{instruction_id}/resolved", dependencies=_AUTH, response_model=InstructionOut,
             responses=_ERRORS, summary="Resolved (处置完毕): the result with at least one photo (multipart)")
async def mark_resolved(
    instruction_id: str, request: Request, claims: Annotated[Any, Depends(bearer_claims)],
    text: Annotated[str, Form(max_length=5000)] = "",
    photos: Annotated[list[UploadFile] | None, File(description="JPEG, PNG or WebP; 1 to 9")] = None,
) -> dict[str, Any]:
    """YK-CASE-SLA's result; the office then closes the case."""
    return await _mark("resolved", instruction_id, request, claims, text, photos)
