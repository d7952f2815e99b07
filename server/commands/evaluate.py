"""``gridpatrol evaluate``: judge worker-days from exported files, offline (no DB, no server)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

EXIT_BAD_INPUT = 2


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {option} {value!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def evaluate(
    grids: Annotated[Path, typer.Option("--grids", help="Grids and village offices, GeoJSON.")],
    roster: Annotated[Path, typer.Option("--roster", help="Roster CSV.")],
    positions: Annotated[
        list[str],
        typer.Option(
            "--positions",
            help="Positions CSV or GPX; repeat for more files. WORKER=track.gpx names the "
            "worker of a GPX file without <metadata><name>.",
        ),
    ],
    date_from: Annotated[str, typer.Option("--from", help="First date, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last date (included), YYYY-MM-DD.")],
    profile: Annotated[
        str, typer.Option("--profile", help="Profile name (yangkou-2022, ...) or YAML file.")
    ] = "yangkou-2022",
    signins: Annotated[Path | None, typer.Option("--signins", help="signins.csv")] = None,
    patrols: Annotated[Path | None, typer.Option("--patrols", help="patrols.csv")] = None,
    exemptions: Annotated[Path | None, typer.Option("--exemptions", help="exemptions.csv")] = None,
    cases: Annotated[Path | None, typer.Option(
        "--cases", help="cases.csv (事件: reports and instructions): adds each day's cases and reports")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the JSON here, not stdout; FILE.jsonl: JSON Lines, one day a line.")] = None,
    worker: Annotated[
        list[str] | None, typer.Option("--worker", help="Only this worker id; repeatable.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress on stderr.")] = False,
) -> None:
    """Evaluate patrols and positioning from files and print the JSON of FORMATS.md."""
    import json
    import time

    from checkins.evaluation.files import evaluate_files
    from checkins.formats.errors import FormatError
    from scoring.profiles import ProfileError

    start = time.perf_counter()

    def progress(message: str) -> None:
        if not quiet:
            typer.echo(f"[{time.perf_counter() - start:6.1f} s] {message}", err=True)

    first, last = _date(date_from, "--from"), _date(date_to, "--to")
    if last < first:
        typer.echo(f"error: --to {last} is before --from {first}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        result = evaluate_files(
            grids=grids, roster=roster, positions=positions, date_from=first, date_to=last,
            profile=profile, signins=signins, patrols=patrols, exemptions=exemptions, cases=cases,
            workers=worker or None, progress=progress,
        )
    except (FormatError, ProfileError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OSError as exc:
        typer.echo(f"error: {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if out is not None and out.suffix == ".jsonl":
        # JSON Lines: a header line, then one day a line grouped by worker (dates in order),
        # which `gridpatrol score --days FILE.jsonl` reads one worker at a time
        with out.open("w", encoding="utf-8") as f:
            head = {k: v for k, v in result.items() if k != "days"}
            f.write(json.dumps({"jsonl": "gridpatrol-days", **head}, ensure_ascii=False) + "\n")
            for day in sorted(result.get("days", []), key=lambda d: (d["worker_id"], d["date"])):
                f.write(json.dumps(day, ensure_ascii=False) + "\n")
        progress(f"wrote {out}")
        return
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        progress(f"wrote {out}")
    else:
        typer.echo(text)


def register(app: typer.Typer) -> None:
    """Add the ``evaluate`` subcommand to the ``gridpatrol`` app."""
    app.command("evaluate")(evaluate)
