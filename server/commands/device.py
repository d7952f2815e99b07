"""``gridpatrol device ingest-token``: approve a phone of a worker for a tracking app."""

from __future__ import annotations

from typing import Annotated

import typer

device_app = typer.Typer(help="Phones of workers (tracking apps).", no_args_is_help=True)


@device_app.command("ingest-token")
def ingest_token(
    worker: Annotated[str, typer.Option(help="worker_id")],
    app: Annotated[str, typer.Option(help="traccar | owntracks")] = "traccar",
    base_url: Annotated[str, typer.Option(help="the server's address as phones reach it")]
    = "http://127.0.0.1:8000",
) -> None:
    """Approve a new phone of WORKER for the app and print how to set it up (shown once)."""
    from checkins.auth.ingest_tokens import TRACKING_APPS, issue_ingest_token
    from checkins.db.engine import session
    from server.bootstrap import prepare_database
    from server.ingest.pages import setup_of
    from server.logs import configure_logging
    from server.settings import get_settings

    if app not in TRACKING_APPS:
        typer.echo(f"error: --app must be one of {', '.join(TRACKING_APPS)}", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = prepare_database(settings)
    with session(engine) as s:
        try:
            issued = issue_ingest_token(s, worker_id=worker, app=app, actor="cli")
        except LookupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        s.commit()
    setup = setup_of(base_url, app, issued.key, issued.secret)
    typer.echo(f"device {issued.device_id} approved for {app} (worker {worker})")
    if app == "traccar":
        typer.echo(f"server URL: {setup['url']}")
        typer.echo(f"device identifier: {setup['device_id']}")
        typer.echo(f"configuration link (QR): {setup['link']}")
    else:
        typer.echo(f"URL: {setup['url']}")
        typer.echo(f"user: {setup['user']}")
        typer.echo(f"password: {setup['password']}")
    typer.echo(f"token: {issued.token}")


def register(app: typer.Typer) -> None:
    """Add ``device`` to the CLI."""
    app.add_typer(device_app, name="device")
