"""``gridpatrol accounts issue|reset``: activation codes of the workers' app accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

accounts_app = typer.Typer(help="Workers' app accounts: printable one-time activation codes.",
                           no_args_is_help=True)


def _print(codes, out: Path | None, timezone: str) -> None:  # type: ignore[no-untyped-def]
    from checkins.auth.accounts import codes_xlsx

    if out is not None:
        codes_xlsx(codes, out, timezone=timezone)
        typer.echo(f"{len(codes)} activation code(s) written to {out} (one sheet per village)")
        return
    from zoneinfo import ZoneInfo

    typer.echo("village_id\tworker_id\tname\tphone\tcode\texpires_at")
    for c in codes:
        until = c.expires_at.astimezone(ZoneInfo(timezone)).isoformat(timespec="minutes")
        typer.echo(f"{c.village_id}\t{c.worker_id}\t{c.name}\t{c.phone or ''}\t{c.code}\t"
                   f"{until}")


@accounts_app.command("issue")
def issue(
    village: Annotated[str | None, typer.Option(help="only this village_id")] = None,
    out: Annotated[Path | None, typer.Option(help="write an .xlsx to print (姓名, 工号, 手机号, "
                                                  "激活码) instead of printing to the console")]
    = None,
    worker: Annotated[list[str] | None, typer.Option(
        help="only these worker_ids (repeatable)")] = None,
    again: Annotated[bool, typer.Option(
        help="also workers who activated already (their password works until the new code "
             "is used)")] = False,
    days: Annotated[float | None, typer.Option(
        help="validity in days (GRIDPATROL_ACTIVATION_CODE_DAYS)")] = None,
) -> None:
    """A one-time activation code for every active worker without an app account."""
    from checkins.auth.accounts import issue_codes
    from checkins.db.engine import session
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = prepare_database(settings)
    with session(engine) as s:
        codes = issue_codes(s, actor="cli", village_id=village, worker_ids=worker or None,
                            ttl_days=days or settings.activation_code_days,
                            include_active_accounts=again)
        if out is not None:  # the file first: codes nobody can print are not committed
            _print(codes, out, settings.timezone)
        s.commit()
    if out is None:
        _print(codes, None, settings.timezone)
    if not codes:
        typer.echo("no worker needs a code (all active workers have an account; --again to "
                   "issue new ones anyway)", err=True)


@accounts_app.command("reset")
def reset(
    worker_id: Annotated[str, typer.Argument(help="the worker whose account is reset")],
    reason: Annotated[str, typer.Option(help="why (kept in the audit log)")] = "reset",
    out: Annotated[Path | None, typer.Option(help="write the new code as .xlsx")] = None,
) -> None:
    """The password stops working, every login ends, a new activation code is printed."""
    from checkins.auth.accounts import reset_account
    from checkins.db.engine import session
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = prepare_database(settings)
    with session(engine) as s:
        try:
            code = reset_account(s, worker_id=worker_id, actor="cli", reason=reason,
                                 ttl_days=settings.activation_code_days)
        except LookupError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        if out is not None:
            _print([code], out, settings.timezone)
        s.commit()
    if out is None:
        _print([code], None, settings.timezone)


def register(app: typer.Typer) -> None:
    """Add ``accounts`` to the CLI."""
    app.add_typer(accounts_app, name="accounts")
