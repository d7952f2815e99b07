"""``gridpatrol demo``: load the demo township and its simulated working day."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer


def demo(
    seed: Annotated[int | None, typer.Option(help="random seed (GRIDPATROL_DEMO_SEED)")] = None,
    day: Annotated[dt.datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="simulated day (default: the most recent working day)")]
    = None,
    write_files: Annotated[str | None, typer.Option(
        "--write-files", help="also write grids.geojson and roster.csv into this folder")]
    = None,
) -> None:
    """Load the demo township (4 villages, ~30 grids, ~40 workers, one working day)."""
    from server.bootstrap import database_is_empty, load_demo, prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if write_files:
        from pathlib import Path

        from checkins.demo.service import build_demo

        d = build_demo(seed=settings.demo_seed if seed is None else seed,
                       day=day.date() if day else None, timezone=settings.timezone)
        out = Path(write_files)
        out.mkdir(parents=True, exist_ok=True)
        (out / "grids.geojson").write_text(json.dumps(d.grids_doc, ensure_ascii=False),
                                           encoding="utf-8")
        (out / "roster.csv").write_text(d.roster_csv, encoding="utf-8")
        typer.echo(f"wrote {out / 'grids.geojson'} and {out / 'roster.csv'}")
    engine = prepare_database(settings)
    if not database_is_empty(engine):
        typer.echo("the database already holds a township: demo not loaded "
                   "(point DATABASE_URL / GRIDPATROL_DATA_DIR at an empty database)", err=True)
        raise typer.Exit(1)
    counts = load_demo(settings, engine, seed=seed, day=day.date() if day else None)
    typer.echo(json.dumps(counts, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add ``demo`` to the CLI."""
    app.command("demo")(demo)
