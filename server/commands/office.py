"""``gridpatrol office-user add``: create an office user (township, village or admin)."""

from __future__ import annotations

from typing import Annotated

import typer

office_app = typer.Typer(help="Office users (村/镇网格办).", no_args_is_help=True)


@office_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="login name")],
    role: Annotated[str, typer.Option(help="village_office | township_office | admin")]
    = "township_office",
    village: Annotated[str | None, typer.Option(help="village_id (village_office only)")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    password: Annotated[str | None, typer.Option(
        help="password (prompted without echo when omitted)")] = None,
) -> None:
    """Create an office user with an argon2-hashed password."""
    from checkins.auth.office_users import create_office_user
    from checkins.db.engine import session
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    engine = prepare_database(settings)
    with session(engine) as s:
        try:
            create_office_user(s, username=username, password=password, role=role,
                               village_id=village, display_name=name)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        s.commit()
    typer.echo(f"office user {username} ({role}) created")


def register(app: typer.Typer) -> None:
    """Add ``office-user`` to the CLI."""
    app.add_typer(office_app, name="office-user")
