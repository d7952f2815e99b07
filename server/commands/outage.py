"""``gridpatrol outage``: the server's own outages (GEO-PHONEOFF never charges them).

``gridpatrol outage add --from T --to T --reason TEXT [--by NAME]`` records a known outage
by hand (township office or admin at the server; one audit row; the saved days it touches
are marked for re-evaluation). ``gridpatrol outage list [--from D] [--to D] [--json]``
lists the detected and recorded ones. ``gridpatrol outage detect`` looks for gaps in the
liveness ticks now (the running server does it at start-up and every
``GRIDPATROL_OUTAGE_DETECT_MINUTES``). Times without an offset are township local time.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from typing import Annotated

import typer

outage_app = typer.Typer(help="The server's own outages (never charged as phone-off).",
                         no_args_is_help=True)


def _setup():  # type: ignore[no-untyped-def]
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return settings, prepare_database(settings)


@outage_app.command("add")
def add(
    start: Annotated[str, typer.Option("--from", help="start, ISO 8601 (local if no offset)")],
    end: Annotated[str, typer.Option("--to", help="end, ISO 8601 (local if no offset)")],
    reason: Annotated[str, typer.Option("--reason", help="what happened")],
    by: Annotated[str | None, typer.Option(
        "--by", help="who records it (audit actor; default cli:<login>)")] = None,
) -> None:
    """Record a known outage of the server by hand."""
    from checkins.db.engine import session
    from checkins.evaluation.outage_days import add_outage
    from checkins.outages.service import outage_json, parse_time

    settings, engine = _setup()
    actor = by or f"cli:{getpass.getuser()}"
    with session(engine) as s:
        try:
            t0 = parse_time(start, "--from", settings.timezone)
            t1 = parse_time(end, "--to", settings.timezone)
            row, marked = add_outage(s, start=t0, end=t1, reason=reason, actor=actor)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        s.commit()
        out = {**outage_json(row, settings.timezone), "days_marked": marked}
    engine.dispose()
    typer.echo(json.dumps(out, ensure_ascii=False))


@outage_app.command("list")
def list_(
    date_from: Annotated[str | None, typer.Option("--from", help="first local date")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last local date")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON list")] = False,
) -> None:
    """List the server's outages (detected and recorded by hand), oldest first."""
    from zoneinfo import ZoneInfo

    from checkins.db.engine import session
    from checkins.outages.service import list_outages, outage_json

    settings, engine = _setup()
    tz = ZoneInfo(settings.timezone)
    bounds = []
    for value, name, shift in ((date_from, "--from", 0), (date_to, "--to", 1)):
        if value is None:
            bounds.append(None)
            continue
        try:
            d = dt.date.fromisoformat(value)
        except ValueError:
            typer.echo(f"error: {name} {value!r} is not a date (YYYY-MM-DD)", err=True)
            raise typer.Exit(2) from None
        bounds.append(dt.datetime.combine(d + dt.timedelta(days=shift), dt.time(0), tzinfo=tz))
    with session(engine) as s:
        rows = [outage_json(o, settings.timezone) for o in list_outages(s, *bounds)]
    engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        typer.echo("no outages recorded")
    for r in rows:
        typer.echo(f"{r['id']:>5}  {r['start']}  {r['end']}  {r['minutes']:>7} min  "
                   f"{r['cause']:<8}  {r['recorded_by']}  {r['reason'] or ''}")


@outage_app.command("detect")
def detect() -> None:
    """Record the gaps in the liveness ticks not recorded yet (as the server does)."""
    from checkins.db.engine import session
    from checkins.evaluation.outage_days import detect_outages
    from checkins.outages.service import outage_json

    settings, engine = _setup()
    with session(engine) as s:
        new = detect_outages(s, now=dt.datetime.now(dt.UTC),
                             gap_s=settings.outage_gap_minutes * 60)
        s.commit()
        out = [outage_json(o, settings.timezone) for o in new]
    engine.dispose()
    typer.echo(json.dumps({"new_outages": out}, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add ``outage`` to the CLI."""
    app.add_typer(outage_app, name="outage")
