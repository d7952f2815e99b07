"""Ingest routes of the tracking apps: thin, the mapping is :mod:`checkins.positions.adapters`.

Status codes lose nothing (OwnTracks on iOS deletes a queued message on any 4xx, Traccar
Client retries anything but 200):

* 200 for every message read: accepted, duplicate (a resend), or refused for good (the
  reason is kept in the audit log and shown to the office; a resend would not help);
* 503 + ``Retry-After`` when the database is unavailable or busy (nothing was committed);
* 401 for an unknown or wrong token, 403 for a revoked phone: these are not data to retry,
  the phone must be set up again by the office, and the app keeps its queue meanwhile
  (Traccar Client buffers; OwnTracks iOS drops the message, which is the price of a revoked
  or mistyped secret, never of a server problem);
* 413 for a body over 8 MiB (no client sends one).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from checkins.auth.ingest_tokens import authenticate_app, split_token
from checkins.auth.phone import AuthError
from checkins.me import service as svc
from checkins.positions import adapters, ingest
from server.mobile.deps import app_engine, app_settings, mobile_settings

router = APIRouter(prefix="/api/ingest", tags=["tracking apps"])
log = structlog.get_logger("gridpatrol.ingest")

MAX_BODY = 8 << 20
# a report carries at least one of these; the configuration QR code's link has none of them
# (server.ingest.pages.traccar_config_link), so a GET without any is that link opened in a
# browser (a phone's camera app), answered with a hint and nothing stored
_OSMAND_REPORT_KEYS = frozenset({"lat", "lon", "location", "timestamp", "batt"})
_CONFIG_HINT = ("这是 Traccar Client 的配置链接：请打开 Traccar Client，在设置中扫描村网格办给的二维码。"
                "本链接含有手机的专用密钥，请勿转发。\n")
RETRY_AFTER_S = 30
TRANSIENT = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status,
                    headers=headers, media_type="application/json")


def _refused(exc: AuthError, basic: bool) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="gridpatrol"'} if basic and exc.status == 401 else None
    return _json({"error": {"code": exc.code, "message": exc.message, "field": None}},
                 exc.status, headers)


def _unavailable() -> Response:
    return _json({"error": {"code": "unavailable", "message": "try again later", "field": None}},
                 503, {"Retry-After": str(RETRY_AFTER_S)})


def _params(request: Request) -> ingest.IngestParams:
    ms = mobile_settings(request)
    return ingest.IngestParams(geo=svc.geo_params(app_settings(request).profile),
                               max_age_days=ms.max_age_days, max_ahead_days=ms.max_ahead_days,
                               grid_cache_s=ms.grid_cache_s)


async def _body(request: Request) -> bytes | None:
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > MAX_BODY:
        return None
    body = await request.body()
    return None if len(body) > MAX_BODY else body


def _run(request: Request, app: str, key: str, secret: str, parse: Any, messages: list[Any],
         basic: bool, answer: Any) -> Response:
    """Authenticate, parse each message, ingest; the status-code policy of the module doc."""
    now = dt.datetime.now(dt.UTC)
    params = _params(request)
    try:
        with Session(app_engine(request), expire_on_commit=False) as session:
            session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})  # SQLite only
            try:
                who = authenticate_app(session, key, secret, app)
            except AuthError as exc:
                return _refused(exc, basic)
            items, bad = adapters.parse_all(messages, parse, now)
            report = adapters.ingest_app_items(
                session, worker_id=who.worker_id, device_id=who.device_id, app=app,
                items=items, bad=bad, params=params, now=now)
    except TRANSIENT as exc:
        log.warning("ingest_unavailable", app=app, error=type(exc).__name__)
        return _unavailable()
    return answer(report)


def _summary(report: adapters.AppIngestReport) -> Response:
    return _json({"accepted": report.accepted, "duplicates": report.duplicates,
                  "rejected": report.rejected})


# ------------------------------------------------------------------ Traccar Client (OsmAnd)
@router.api_route("/osmand/{device_token}", methods=["GET", "POST"],
                  summary="Traccar Client / OsmAnd protocol: query, form or JSON")
async def osmand(device_token: str, request: Request) -> Response:
    """Fields in the query string, a form body, a JSON object or an array of objects."""
    key, secret = split_token(device_token)
    body = b"" if request.method == "GET" else await _body(request)
    if body is None:
        return _json({"error": {"code": "body_too_large", "message": "body over 8 MiB",
                                "field": None}}, 413)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query = dict(request.query_params)
    if request.method == "GET" and not _OSMAND_REPORT_KEYS.intersection(query):
        return Response(_CONFIG_HINT, 200, media_type="text/plain; charset=utf-8")
    messages: list[Any]
    parse: Any
    if body.strip() and (ctype == "application/json" or body.lstrip()[:1] in (b"{", b"[")):
        parse = adapters.osmand_json
        try:
            doc = json.loads(body)
            messages = doc if isinstance(doc, list) else [doc]
        except (ValueError, UnicodeDecodeError):
            messages = [body.decode("utf-8", "replace")]  # kept as refused: malformed
            parse = _malformed
    else:
        parse = adapters.osmand_params
        fields = dict(query)
        if body.strip():
            fields.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        messages = [fields]
    return await run_in_threadpool(_run, request, "traccar", key, secret, parse, messages,
                                   False, _summary)


def _malformed(raw: Any, now: dt.datetime) -> None:
    raise adapters._Reject("malformed_json", None)


# ------------------------------------------------------------------ OwnTracks (HTTP mode)
def _basic(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        user, _, pw = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    return user, pw


@router.post("/owntracks", summary="OwnTracks HTTP mode (HTTP Basic: key and secret)")
async def owntracks(request: Request) -> Response:
    """JSON messages by ``_type``; the answer is ``[]`` (no friends, no commands)."""
    user, secret = _basic(request)
    if not user:  # the user name is also in X-Limit-U when Basic auth is not sent
        user = request.headers.get("x-limit-u", "")
    body = await _body(request)
    if body is None:
        return _json({"error": {"code": "body_too_large", "message": "body over 8 MiB",
                                "field": None}}, 413)
    parse: Any = adapters.owntracks
    messages: list[Any] = []
    if body.strip():  # the apps post an empty body when a friend is deleted: ignore it
        try:
            doc = json.loads(body)
            messages = doc if isinstance(doc, list) else [doc]
        except (ValueError, UnicodeDecodeError):
            messages = [body.decode("utf-8", "replace")]
            parse = _malformed
    return await run_in_threadpool(_run, request, "owntracks", user, secret, parse, messages,
                                   True, lambda report: _json([]))
