"""Township office scoring: JSON API (``/api/township``) and pages (``/office/township``).

Period rankings with tiers and payouts, a subject's score sheet with its trail, entered items
(one, or a CSV import), the tier quota override, close/reopen and what-if. The work is in
:mod:`checkins.scores.service`; scope and login are the office's (:mod:`server.office.auth`): pages
live under ``/office`` so that a missing login redirects to the office login page and an
object outside the caller's village scope answers 404 as on every office page.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from checkins.scores.service import ScoresError


def register(app: FastAPI) -> None:
    """Include the township API and pages; answer :class:`ScoresError` with its status."""
    from server.township import api, pages

    app.include_router(api.router)
    app.include_router(pages.router)

    @app.exception_handler(ScoresError)
    async def _scores_error(request: Request, exc: ScoresError) -> Response:
        return JSONResponse({"error": str(exc), "field": exc.field}, exc.status)
