"""The FastAPI application: settings and engine on ``app.state``, routers, request logs."""

from __future__ import annotations

import importlib
import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine

from server.settings import Settings, get_settings

# Routers of other parts, included when their module exists: "module" exposes
# ``register(app)`` or ``router``.
OPTIONAL_ROUTERS = ("server.mobile.routes", "server.mobile.api", "server.office",
                    "server.routers.office", "server.routers.review", "server.routers.jobs",
                    "server.scheduler", "server.liveness", "server.township",
                    "server.routers.outages")


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``engine`` defaults to one for ``settings.resolved_database_url``."""
    settings = settings or get_settings()
    if engine is None:
        from checkins.db.engine import make_engine

        engine = make_engine(settings.resolved_database_url)
    app = FastAPI(title="gridpatrol", version="0.1.0",
                  description="Patrol and positioning compliance for township grid workers.")
    app.state.settings = settings
    app.state.engine = engine

    from server.routers import health, office_import, overview

    for module in (health, overview, office_import):
        app.include_router(module.router)
    for name in OPTIONAL_ROUTERS:
        _include_optional(app, name)
    _add_body_limit(app)
    _add_request_log(app)
    return app


MAX_BODY_BYTES = 21 * 1024 * 1024  # the largest office upload (an import, 20 MiB) + multipart


def _add_body_limit(app: FastAPI) -> None:
    """413 before parsing for any body above MAX_BODY_BYTES (the mobile API has its own, finer
    limits), so no route, not even an unauthenticated login, buffers an unbounded body."""
    from server.mobile.bodylimit import BodyLimitMiddleware
    from server.mobile.prefix import MOBILE_PREFIX

    app.add_middleware(BodyLimitMiddleware, prefix="/", limit_bytes=MAX_BODY_BYTES,
                       overrides={MOBILE_PREFIX.lstrip("/"): 1 << 40})


def _include_optional(app: FastAPI, name: str) -> None:
    try:
        module: Any = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return
        raise
    if hasattr(module, "register"):
        module.register(app)
    elif hasattr(module, "router"):
        app.include_router(module.router)


def _add_request_log(app: FastAPI) -> None:
    log = structlog.get_logger("gridpatrol.http")

    @app.middleware("http")
    async def request_log(request: Request, call_next: Any) -> Any:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:12]
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            response.headers["x-request-id"] = request_id
            return response
        finally:
            log.info("request", method=request.method, path=request.url.path, status=status,
                     duration_ms=round((time.perf_counter() - start) * 1000, 1))
            structlog.contextvars.clear_contextvars()
