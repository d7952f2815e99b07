"""``gridpatrol import grids|roster FILE``: apply a file whole or not at all."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer

import_app = typer.Typer(help="Import grids/offices (GeoJSON) or the roster (CSV), "
                              "formats in FORMATS.md.", no_args_is_help=True)


def _run(kind: str, file: Path, repair: bool, valid_from: dt.datetime | None,
         as_json: bool) -> None:
    from checkins.auth.accounts import import_file  # disables who left the roster
    from checkins.db.engine import session
    from checkins.formats.errors import FormatError
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = prepare_database(settings)
    with session(engine) as s:
        try:
            report = import_file(s, kind, file, str(file), repair=repair, actor="cli",
                                 valid_from=valid_from.date() if valid_from else None,
                                 township_id=settings.township_id,
                                 township_name=settings.township_name,
                                 timezone=settings.timezone, profile=settings.profile)
        except FormatError as exc:
            s.rollback()
            typer.echo(f"error: {exc}", err=True)
            typer.echo("nothing was imported", err=True)
            raise typer.Exit(2) from exc
        s.commit()
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(report.summary())
    for w in report.warnings:
        typer.echo(f"warning: {w}")


@import_app.command("grids")
def import_grids(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of grids and offices")],
    repair: Annotated[bool, typer.Option(help="repair invalid polygons instead of refusing")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import grids (Polygon/MultiPolygon) and village offices (Point); crs converted to WGS-84."""
    _run("grids", file, repair, None, as_json)


@import_app.command("roster")
def import_roster(
    file: Annotated[Path, typer.Argument(help="CSV worker_id,name,role,grid_id,village_id")],
    valid_from: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="date new grid assignments start (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Import the roster: workers and their grid assignments."""
    _run("roster", file, False, valid_from, as_json)


def register(app: typer.Typer) -> None:
    """Add ``import`` to the CLI."""
    app.add_typer(import_app, name="import")
