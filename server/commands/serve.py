"""``gridpatrol serve``: migrate, load the demo into an empty database, serve HTTP."""

from __future__ import annotations

from typing import Annotated

import typer


def serve(
    host: Annotated[str | None, typer.Option(help="bind address (GRIDPATROL_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (GRIDPATROL_PORT)")] = None,
    demo: Annotated[bool | None, typer.Option(
        help="load the demo township when the database is empty (GRIDPATROL_DEMO_ON_EMPTY)")]
    = None,
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
    engine = prepare_database(settings)
    if (settings.demo_on_empty if demo is None else demo) and database_is_empty(engine):
        counts = load_demo(settings, engine)
        if counts.get("demo_accounts"):
            typer.echo("demo logins (password GRIDPATROL_DEMO_PASSWORD, default "
                       "'gridpatrol-demo'): office 'town' (township), 'v01'..'v04' (villages); "
                       "phones: each demo worker's phone number", err=True)
    if not settings.scheduler_on:  # else server.scheduler runs the partitions with its jobs
        start_maintenance(settings, engine)
    host = host or settings.host
    port = port or settings.port
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    log.info("serving", url=url, backend=engine.dialect.name)
    typer.echo(f"gridpatrol is running at {url}  (health: {url}health, API docs: {url}docs)",
               err=True)
    uvicorn.run(create_app(settings, engine), host=host, port=port, log_config=None,
                proxy_headers=True)


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the CLI."""
    app.command("serve")(serve)
