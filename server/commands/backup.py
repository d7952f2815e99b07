"""``gridpatrol backup FILE`` and ``gridpatrol restore FILE [--force]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _engine():  # type: ignore[no-untyped-def]
    from checkins.db.engine import make_engine
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings, make_engine(settings.resolved_database_url)


def backup(
    file: Annotated[Path, typer.Argument(help="the backup to write (SQLite: a database file; "
                                              "PostgreSQL: a pg_dump -Fc archive)")],
) -> None:
    """Back the whole database up; safe while the server runs."""
    from checkins.db.backup import BackupError
    from checkins.db.backup import backup as do_backup

    _, engine = _engine()
    try:
        out = do_backup(engine, file)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(out, ensure_ascii=False))


def restore(
    file: Annotated[Path, typer.Argument(help="a file written by gridpatrol backup")],
    force: Annotated[bool, typer.Option(
        help="replace a database that holds data (stop the server first)")] = False,
) -> None:
    """Restore a backup into the configured database (empty, or --force), then migrate."""
    from checkins.db.backup import BackupError, table_counts
    from checkins.db.backup import restore as do_restore
    from server.bootstrap import prepare_database

    settings, engine = _engine()
    try:
        do_restore(engine, file, force=force)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    engine = prepare_database(settings, engine)  # a backup of an older version is upgraded
    counts = table_counts(engine)
    typer.echo(json.dumps({"restored": str(file), "rows": sum(counts.values()),
                           "tables": counts}, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the CLI."""
    app.command("backup")(backup)
    app.command("restore")(restore)
