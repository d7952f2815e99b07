"""``POST /auth/activate``: a worker opens their app account with the office's one-time code.

Phone number + activation code (printed by the village office, ``gridpatrol accounts issue``)
+ the worker's own new password + the phone's id. The work is in
:func:`checkins.auth.accounts.activate`; tries are throttled per phone number and per device
(the login buckets, shared by every API process) and a code is void after a few wrong tries.
A phone the office has not approved yet is registered pending: the answer then carries no
tokens, and the app logs in with the new password once the office approved it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, StringConstraints

from checkins.auth import accounts
from checkins.auth.phone import AuthError
from server.mobile.deps import SessionDep, limiters, rate_limit, token_settings
from server.mobile.errors import ApiError, ErrorBody
from server.mobile.prefix import MOBILE_PREFIX
from server.mobile.schemas import DeviceUid, Phone, TokenPair

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "wrong, replaced or void code "
          "(`activation_invalid`), used (`activation_used`) or expired (`activation_expired`)"},
    403: {"model": ErrorBody, "description": "the phone belongs to another worker or was "
          "revoked (`device_*`)"},
    422: {"model": ErrorBody, "description": "invalid request (`validation_failed`)"},
    429: {"model": ErrorBody, "description": "too many attempts (`rate_limited`)"},
}


class ActivateRequest(BaseModel):
    """Phone number, the activation code from the office, a new password (8 to 256
    characters) and the app-generated id of the phone."""

    model_config = ConfigDict(extra="ignore")

    phone: Phone
    code: Annotated[str, StringConstraints(min_length=4, max_length=32)]
    new_password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    device_uid: DeviceUid
    device_model: Annotated[str, StringConstraints(max_length=128)] | None = None


class ActivateResponse(BaseModel):
    """The account is open. ``tokens`` only when this phone is approved already; with
    ``device_status: pending`` the app waits for the village office, then logs in."""

    activated: Literal[True] = True
    worker_id: str
    device_id: str
    device_status: Literal["pending", "approved"]
    tokens: TokenPair | None = None


@router.post("/auth/activate", response_model=ActivateResponse, responses=_ERRORS,
             summary="Open my account with the office's activation code and a new password")
def activate(body: ActivateRequest, request: Request, session: SessionDep) -> ActivateResponse:
    """Use the one-time code; set my password; register this phone (pending until approved)."""
    lim = limiters(request)
    rate_limit(lim.login_phone, f"activate:{body.phone}", "activation attempts for this phone")
    rate_limit(lim.login_device, body.device_uid, "attempts from this device")
    try:
        done = accounts.activate(session, phone=body.phone, code=body.code,
                                 new_password=body.new_password, device_uid=body.device_uid,
                                 device_model=body.device_model,
                                 settings=token_settings(request))
    except AuthError as exc:
        session.commit()  # the count of wrong tries must stick
        raise ApiError(exc.status, exc.code, exc.message, exc.field) from exc
    session.commit()
    t = done.tokens
    return ActivateResponse(
        worker_id=done.worker_id, device_id=str(done.device_id),
        device_status=done.device_status,  # type: ignore[arg-type]
        tokens=None if t is None else TokenPair(
            access_token=t.access_token, expires_in_s=t.access_expires_in_s,
            refresh_token=t.refresh_token, refresh_expires_in_s=t.refresh_expires_in_s,
            worker_id=t.worker_id, device_id=str(t.device_id)))
