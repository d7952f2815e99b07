"""Office page ``/office/tracking-apps``: approve a worker's phone for Traccar Client or
OwnTracks (a secret shown once, with a QR code for Traccar Client), revoke it at once, and
read the messages the server refused from each app (kept in the audit log)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import segno
import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from checkins.audit.models import AuditLog
from checkins.auth.ingest_tokens import TRACKING_APPS, app_devices, issue_ingest_token
from checkins.auth.phone import revoke_device
from checkins.township.models import Worker
from server.deps import SessionDep
from server.mobile.deps import app_settings
from server.office.auth import ScopeDep
from server.office.pages import _page, redirect_with_message

router = APIRouter(prefix="/office", include_in_schema=False)
PAGE = "/office/tracking-apps"


def _workers(session: Any, scope: Any) -> list[Worker]:
    q = sa.select(Worker).where(Worker.active.is_(True))
    return list(session.scalars(scope.restrict(q, Worker.village_id).order_by(Worker.worker_id)))


# What Traccar Client reads from a scanned configuration QR code (traccar/traccar-client,
# lib/configuration_service.dart ``applyUri``, earlier lib/qr_code_screen.dart
# ``_applySettings``): for an http(s) text, the server URL is the scanned URL's origin + path
# (its query dropped), then the query keys below are applied as settings: ``id`` and
# ``accuracy`` as text, the numbers with int.tryParse, the flags only as "true"/"false".
# A ``url=`` key is read only from a non-http link (``org.traccar.client://...``), so it
# must not carry the token. The older Android-only client (traccar-client-android) has no
# QR reader: its settings are typed in (docs/tracking-apps.md).
TRACCAR_QR_SETTINGS = {"accuracy": "high", "interval": 30, "distance": 0, "heartbeat": 300,
                       "buffer": "true"}


def traccar_config_link(url: str, device_id: str) -> str:
    """The text of the Traccar Client configuration QR code: the ingest URL itself (the
    secret in its path, which the client keeps) with the settings as its query."""
    return f"{url}?" + urlencode({"id": device_id, **TRACCAR_QR_SETTINGS})


def setup_of(base_url: str, app: str, key: str, secret: str) -> dict[str, Any]:
    """What the phone is set up with; for Traccar Client also a configuration QR code."""
    base = base_url.rstrip("/")
    if app == "traccar":
        url = f"{base}/api/ingest/osmand/{key}.{secret}"
        link = traccar_config_link(url, key)
        qr = segno.make(link, error="m").svg_data_uri(scale=4)
        return {"app": app, "url": url, "device_id": key, "link": link, "qr": qr}
    return {"app": app, "url": f"{base}/api/ingest/owntracks", "user": key, "password": secret,
            "device_id": key}


@router.get("/tracking-apps", response_class=HTMLResponse)
def tracking_apps_page(request: Request, scope: ScopeDep, session: SessionDep) -> HTMLResponse:
    """The tracking-app phones of the visible workers and the refusals of each."""
    workers = _workers(session, scope)
    names = {w.worker_id: w.name for w in workers}
    devices = app_devices(session, list(names))
    ids = [str(d.id) for d in devices]
    refused = []
    if ids:
        refused = list(session.scalars(
            sa.select(AuditLog).where(AuditLog.action == "ingest.rejected",
                                      AuditLog.entity == "device", AuditLog.entity_id.in_(ids))
            .order_by(AuditLog.id.desc()).limit(100)))
    tz = ZoneInfo(app_settings(request).timezone)
    refused = [{"at": r.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), "device": r.entity_id,
                "reason": r.reason, "items": (r.after or {}).get("items", [])} for r in refused]
    return _page(request, "tracking_apps.html", scope, session, workers=workers, names=names,
                 devices=devices, refused=refused, apps=TRACKING_APPS, issued=None)


@router.post("/tracking-apps", response_class=HTMLResponse)
def issue_form(request: Request, scope: ScopeDep, session: SessionDep,
               worker_id: Annotated[str, Form(max_length=32)],
               app: Annotated[str, Form(max_length=16)]) -> Response:
    """Approve a new phone of the worker for the app; the secret is shown on this answer only."""
    scope.worker(session, worker_id)  # 404 outside the office's village
    if app not in TRACKING_APPS:
        return redirect_with_message(PAGE, error="未知的应用")
    issued = issue_ingest_token(session, worker_id=worker_id, app=app, actor=scope.actor)
    session.commit()
    workers = _workers(session, scope)
    names = {w.worker_id: w.name for w in workers}
    return _page(request, "tracking_apps.html", scope, session, workers=workers, names=names,
                 devices=app_devices(session, list(names)), refused=[], apps=TRACKING_APPS,
                 issued=setup_of(str(request.base_url), app, issued.key, issued.secret)
                 | {"worker_id": worker_id, "worker_name": names.get(worker_id)})


@router.post("/tracking-apps/{device_id}/revoke")
def revoke_form(device_id: int, scope: ScopeDep, session: SessionDep,
                reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Revoke a tracking-app phone: its secret stops working on the next request."""
    scope.device(session, device_id)
    revoke_device(session, device_id=device_id, actor=scope.actor,
                  reason=reason.strip() or "tracking app revoked")
    session.commit()
    return redirect_with_message(PAGE, msg=f"设备 {device_id} 已撤销")
