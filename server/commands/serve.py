"""``gridpatrol serve``: migrate, load the demo into an empty database, serve HTTP.

``--workers N`` runs N uvicorn worker processes on uvloop + httptools (PERF-NOTES: on the
default asyncio loop several workers lose TCP_NODELAY and stall ~44 ms per request). The
scheduled jobs then run in exactly one process, this supervising one: the workers are started
with the scheduler off (the jobs' DB locks keep two runs of one job apart, but every process
would otherwise repeat the interval jobs). Off 127.0.0.1/localhost the default secrets are
refused.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_secrets(settings) -> list[str]:  # type: ignore[no-untyped-def]
    """The settings still at a published default that must not face a network."""
    from server.settings import DEFAULT_SECRET

    out = []
    if settings.secret_key == DEFAULT_SECRET:
        out.append("GRIDPATROL_SECRET_KEY")
    if settings.environment == "development" and settings.demo_on_empty \
            and settings.demo_password == type(settings).model_fields["demo_password"].default:
        out.append("GRIDPATROL_DEMO_PASSWORD (or GRIDPATROL_DEMO_ON_EMPTY=false)")
    return out


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (GRIDPATROL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (GRIDPATROL_PORT)")] = None,
    demo: Annotated[bool | None, typer.Option(
        help="load the demo township when the database is empty (GRIDPATROL_DEMO_ON_EMPTY)")]
    = None,
    workers: Annotated[int, typer.Option(
        min=1, help="HTTP worker processes (uvloop + httptools); the scheduled jobs run in "
                    "this supervising process")] = 1,
) -> None:
    """Run migrations, load the demo if the database is empty, print the URL and serve."""
    import uvicorn

    from server.app import create_app
    from server.bootstrap import (
        database_is_empty,
        load_demo,
        prepare_database,
        start_maintenance,
    )
    from server.logs import configure_logging, get_logger
    from server.settings import check_exposure, get_settings

    settings = get_settings()
    try:  # --host may expose what GRIDPATROL_HOST did not
        check_exposure(host or settings.host, settings.secret_key, settings.admin_token)
    except ValueError as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    log = get_logger("gridpatrol.serve")
    host = host or settings.host
    port = port or settings.port
    if demo is not None:
        settings = settings.model_copy(update={"demo_on_empty": demo})
    if host not in LOCAL_HOSTS and (bad := default_secrets(settings)):
        typer.echo(f"error: refusing to listen on {host}: {', '.join(bad)} still at the "
                   "default; set it in the environment file (docs/go-live.md)", err=True)
        raise typer.Exit(2)
    engine = prepare_database(settings)
    if settings.demo_on_empty and database_is_empty(engine):
        counts = load_demo(settings, engine)
        if counts.get("demo_accounts"):
            typer.echo("demo logins (password GRIDPATROL_DEMO_PASSWORD, default "
                       "'gridpatrol-demo'): office 'town' (township), 'v01'..'v04' (villages); "
                       "phones: each demo worker's phone number", err=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    log.info("serving", url=url, backend=engine.dialect.name, workers=workers)
    typer.echo(f"gridpatrol is running at {url}  (health: {url}health, API docs: {url}docs)",
               err=True)
    fast = {"loop": "uvloop", "http": "httptools", "log_config": None, "proxy_headers": True}
    if workers == 1:
        if not settings.scheduler_on:  # else server.scheduler runs the partitions with its jobs
            start_maintenance(settings, engine)
        uvicorn.run(create_app(settings, engine), host=host, port=port, **fast)
        return
    from server.scheduler import start_scheduler

    scheduler = start_scheduler(settings, engine) if settings.scheduler_on else \
        start_maintenance(settings, engine)
    # the workers are spawned with this environment: their settings run no scheduler
    os.environ["GRIDPATROL_SCHEDULER_ENABLED"] = "false"
    if demo is not None:
        os.environ["GRIDPATROL_DEMO_ON_EMPTY"] = "true" if demo else "false"
    try:
        uvicorn.run("server.app:create_app", factory=True, host=host, port=port,
                    workers=workers, **fast)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)  # type: ignore[attr-defined]


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""
    app.command("serve")(serve)
