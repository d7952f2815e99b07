"""App factory for the ingest benchmark: the real app, with logging at the configured level."""

from __future__ import annotations


def create():  # type: ignore[no-untyped-def]
    """``server.app.create_app()`` after configuring logs (GRIDPATROL_LOG_LEVEL)."""
    from server.app import create_app
    from server.logs import configure_logging
    from server.settings import get_settings

    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    return create_app(s)


def create_mobile_only():  # type: ignore[no-untyped-def]
    """Only the mobile API on the same database (to see what the rest of the app costs)."""
    from checkins.db.engine import make_engine
    from server.logs import configure_logging
    from server.mobile import build_mobile_app
    from server.settings import get_settings

    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    return build_mobile_app(make_engine(s.resolved_database_url), s)
