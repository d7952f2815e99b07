"""The FastAPI application: settings and engine on ``app.state``, routers, request logs."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from sqlalchemy.engine import Engine

from server.settings import Settings, get_settings


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """Build the app; ``engine`` defaults to one for ``settings.resolved_database_url``."""
    settings = settings or get_settings()
    if engine is None:
        from checkins.db.engine import make_engine

        engine = make_engine(settings.resolved_database_url)
    from fastapi import Depends

    from server import security

    # csrf_protect on every route, present and future (server/security.py)
    app = FastAPI(title="gridpatrol", version="0.1.0",
                  description="Patrol and positioning compliance for township grid workers.",
                  dependencies=[Depends(security.csrf_protect)])
    app.state.settings = settings
    app.state.engine = engine

    # every router and start-up hook, listed: a missing module fails here, loudly
    from server import liveness, office, scheduler, township
    from server.mobile import routes as mobile_routes
    from server.routers import health, jobs, office_import, outages, overview

    for module in (health, overview, office_import):
        app.include_router(module.router)
    mobile_routes.register(app)
    office.register(app)
    app.include_router(jobs.router)
    scheduler.register(app)  # the jobs' scheduler (lifespan)
    liveness.register(app)  # the server's beat (outage detection)
    township.register(app)
    app.include_router(outages.router)
    from server import ingest, worker_app

    ingest.register(app)  # tracking apps (/api/ingest) and their office page
    worker_app.register(app)  # the worker web app (/app)
    security.install(app)
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
