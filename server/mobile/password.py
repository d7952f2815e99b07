"""``POST /auth/password``: the worker changes their password; every login of theirs ends.

The old password is checked (throttled like logins, per worker); the new one is stored by
``checkins.auth.phone.set_password``, which bumps the token version, so every access and refresh
token of the worker (the stolen phone's too) is refused from the next request on; one audit
row. The app then logs in again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, StringConstraints

from checkins.auth import phone as auth
from server.deps import SessionDep
from server.mobile import errors as E
from server.mobile.deps import WorkerDep, limiters, rate_limit
from server.mobile.errors import ApiError, ErrorBody
from server.mobile.prefix import MOBILE_PREFIX
from server.mobile.schemas import OkResponse

router = APIRouter(prefix=MOBILE_PREFIX, tags=["mobile"])
_AUTH = [Depends(HTTPBearer(auto_error=False,
                            description="access token from /auth/login or /auth/refresh"))]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "token problems; or the old password is wrong "
                                             "(`bad_credentials`)"},
    403: {"model": ErrorBody, "description": "device not approved or revoked (`device_*`)"},
    422: {"model": ErrorBody, "description": "invalid request (`validation_failed`)"},
    429: {"model": ErrorBody, "description": "too many attempts (`rate_limited`)"},
}


class PasswordChange(BaseModel):
    """The current password and the new one (8 to 256 characters)."""

    model_config = ConfigDict(extra="ignore")

    old_password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    new_password: Annotated[str, StringConstraints(min_length=8, max_length=256)]


@router.post("/auth/password", dependencies=_AUTH, response_model=OkResponse, responses=_ERRORS,
             summary="Change my password: all my logins end (log in again)")
def change_password(body: PasswordChange, me: WorkerDep, session: SessionDep,
                    request: Request) -> OkResponse:
    """Check the old password, set the new one, revoke every token of the worker."""
    rate_limit(limiters(request).login_phone, f"password:{me.worker_id}", "password attempts")
    if not auth.change_password(session, worker_id=me.worker_id, device_id=me.device_id,
                                old_password=body.old_password, new_password=body.new_password):
        raise ApiError(401, E.BAD_CREDENTIALS, "the current password is wrong", "old_password")
    session.commit()
    return OkResponse()
