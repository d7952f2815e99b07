"""The mobile API for grid workers' phones (``/api/mobile/v1``).

``install(app)`` adds the routes, the error format and the body limits to an app whose
``state`` holds ``engine`` and ``settings``; ``build_mobile_app`` makes a stand-alone app
(tests, the OpenAPI document in ``mobile_api_spec/``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from server.mobile.prefix import MOBILE_PREFIX

API_TITLE = "gridpatrol mobile API"
API_VERSION = "1.7.0"


def install(app: FastAPI) -> None:
    """Add the mobile API to ``app`` (routes, error handlers, body limits)."""
    from server.mobile.bodylimit import BodyLimitMiddleware, BodyTooLarge
    from server.mobile.config import get_mobile_settings
    from server.mobile.errors import error_response, install_error_handlers
    from server.mobile.routes import router
    from server.mobile.schemas import MAX_PHOTOS

    ms = getattr(app.state, "mobile_settings", None) or get_mobile_settings()
    app.include_router(router)
    from server.mobile.scores import router as scores_router  # the worker's own score sheet

    app.include_router(scores_router)
    from server.mobile.export import router as export_router  # the worker's data download

    app.include_router(export_router)
    from server.mobile.password import router as password_router  # change my password

    app.include_router(password_router)
    from server.mobile.activation import router as activation_router  # first login

    app.include_router(activation_router)
    from server.mobile.cases import router as cases_router  # cases (事件) and instructions

    app.include_router(cases_router)
    install_error_handlers(app)

    @app.exception_handler(BodyTooLarge)
    async def _too_large(request: Any, exc: BodyTooLarge):  # type: ignore[no-untyped-def]
        return error_response(413, "body_too_large", "request body too large")

    app.add_middleware(
        BodyLimitMiddleware, prefix=MOBILE_PREFIX, limit_bytes=ms.max_body_bytes,
        overrides={p: MAX_PHOTOS * ms.max_photo_bytes + ms.max_body_bytes
                   for p in ("/patrol-logs", "/cases", "/instructions")},
    )


def build_mobile_app(engine: Any = None, settings: Any = None, mobile_settings: Any = None) -> FastAPI:
    """A FastAPI app serving only the mobile API (the OpenAPI document is generated from it)."""
    app = FastAPI(
        title=API_TITLE, version=API_VERSION,
        description=(
            "API of the gridpatrol phone app for township grid workers (网格员). "
            "Versioned by URL prefix: additive changes only within v1 "
            "(see mobile_api_spec/README.md). Errors: "
            '`{"error": {"code", "message", "field", "detail"}}` (`message` in Chinese for the '
            "phone user, `detail` technical)."
        ),
    )
    app.state.engine = engine
    app.state.settings = settings
    if mobile_settings is not None:
        app.state.mobile_settings = mobile_settings
    install(app)
    return app
