"""Tracking apps as clients (``/api/ingest``): Traccar Client (OsmAnd) and OwnTracks (HTTP).

``register(app)`` adds the ingest routes and the office page that issues the apps' secrets
(``/office/tracking-apps``). docs/tracking-apps.md.
"""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Hook for ``server.app``."""
    from server.ingest import pages, routes

    app.include_router(routes.router)
    app.include_router(pages.router)
