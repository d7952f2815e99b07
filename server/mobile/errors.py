"""Error bodies of the mobile API: ``{"error": {"code", "message", "field", "detail"}}``, never
a trace.

Codes are stable strings the phone app may switch on; ``message`` is for the phone user, in
Chinese (server/messages.py, by code); ``detail`` is the technical text for the app's developer
(English, may change; since contract 1.7.0).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.mobile.prefix import MOBILE_PREFIX

log = logging.getLogger("gridpatrol.mobile")

# Stable error codes (documented in docs/mobile-api.md).
BAD_CREDENTIALS = "bad_credentials"
DEVICE_PENDING = "device_pending"
DEVICE_REVOKED = "device_revoked"
TOKEN_MISSING = "token_missing"
TOKEN_INVALID = "token_invalid"
TOKEN_EXPIRED = "token_expired"
TOKEN_REVOKED = "token_revoked"
REFRESH_INVALID = "refresh_invalid"
REFRESH_REUSED = "refresh_reused"
FORBIDDEN = "forbidden"
NOT_FOUND = "not_found"
RATE_LIMITED = "rate_limited"
BODY_TOO_LARGE = "body_too_large"
BATCH_TOO_LARGE = "batch_too_large"
MALFORMED_JSON = "malformed_json"
UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
VALIDATION_FAILED = "validation_failed"
CONFLICT = "conflict"
TOO_MANY_PHOTOS = "too_many_photos"
PHOTO_TOO_LARGE = "photo_too_large"
PHOTO_NOT_IMAGE = "photo_not_image"
NO_ASSIGNMENT = "no_assignment"
METHOD_NOT_ALLOWED = "method_not_allowed"
INTERNAL = "internal_error"


class ErrorDetail(BaseModel):
    """One error: a stable ``code``, a ``message`` for the phone user (Chinese), the offending
    ``field`` if any and a technical ``detail`` for the app's developer."""

    code: str
    message: str
    field: str | None = None
    detail: str | None = None


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer of the mobile API."""

    error: ErrorDetail


class ApiError(Exception):
    """Raised anywhere in the mobile API to answer with a stable error body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSONResponse carrying the standard error body: ``message`` the Chinese one of the
    code, ``detail`` the technical text given here."""
    from server.messages import mobile_message

    body = {"error": {"code": code, "message": mobile_message(code, status, field), "field": field,
                      "detail": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """Turn a pydantic error location into a dotted field name (``items.3.lat``)."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _is_mobile(request: Request) -> bool:
    return request.url.path.startswith(MOBILE_PREFIX)


_STATUS_CODES = {
    400: VALIDATION_FAILED,
    401: TOKEN_INVALID,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    413: BODY_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: VALIDATION_FAILED,
    429: RATE_LIMITED,
}


def _allowed_methods(request: Request) -> list[str]:
    """The methods the app's OpenAPI document gives for the request's path."""
    import re

    path = request.url.path
    methods: set[str] = set()
    for template, ops in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {m.upper() for m in ops}
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Register handlers that give mobile-API paths the standard error body.

    Paths outside the mobile prefix keep whatever format the rest of the app uses
    (the handlers delegate to FastAPI's defaults there).
    """
    from fastapi.exception_handlers import (
        http_exception_handler,
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        if not _is_mobile(request):
            from server.office.errors import error_response as web_error

            errs = exc.errors()
            loc = errs[0].get("loc", ()) if errs else ()
            return web_error(request, 422, field=loc_to_field(loc) if loc else None,
                             detail=jsonable_encoder(errs))
        errs = exc.errors()
        first = errs[0] if errs else {"loc": (), "msg": "invalid request", "type": ""}
        code = MALFORMED_JSON if first.get("type") == "json_invalid" else VALIDATION_FAILED
        return error_response(422, code, str(first.get("msg")), loc_to_field(first.get("loc", ())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if not _is_mobile(request):
            from server.office.errors import error_response as web_error

            if isinstance(exc.detail, str) and exc.status_code not in (401, 405):
                return web_error(request, exc.status_code, detail=exc.detail,
                                 headers=getattr(exc, "headers", None))
            return await http_exception_handler(request, exc)
        if exc.status_code == 400:  # FastAPI: a body it could not parse (e.g. not UTF-8)
            return error_response(422, MALFORMED_JSON, str(exc.detail))
        if exc.status_code == 405:  # Allow: every method of the path, not just one route's
            return error_response(405, METHOD_NOT_ALLOWED, "method not allowed", None,
                                  {"Allow": ", ".join(_allowed_methods(request))})
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception):
        log.exception("unhandled error on %s", request.url.path)
        if not _is_mobile(request):
            from server.office.errors import error_response as web_error

            return web_error(request, 500, detail="Internal Server Error")
        return error_response(500, INTERNAL, "internal error; the request was not applied")
