"""``gridpatrol score``: options and output; the flow is :mod:`checkins.scores.files`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EXIT_BAD_INPUT = 2


def score(
    period: Annotated[str | None, typer.Option("--period", help="2026-03, 2026Q1 or 2026.")] = None,
    days: Annotated[
        list[Path] | None, typer.Option(
            "--days", help="evaluate output: JSON, or JSON Lines (.jsonl, streamed); repeatable.")
    ] = None,
    profile: Annotated[
        str, typer.Option("--profile", help="Profile name (yangkou-2022, ...) or YAML file.")
    ] = "yangkou-2022",
    items: Annotated[
        list[Path] | None, typer.Option("--items", help="Entered items CSV; repeatable.")
    ] = None,
    roster: Annotated[
        Path | None, typer.Option("--roster", help="Roster CSV (names, villages/offices).")
    ] = None,
    compare: Annotated[
        str | None, typer.Option("--compare", help="What-if: also score under this profile and show differences.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv or xlsx (xlsx needs --out).")] = "json",
    verify_period: Annotated[str | None, typer.Option(
        "--verify-period", help="Database: check the stored period sums of this period against "
        "a recomputation from the day results; exit 1 and list the differences.")] = None,
    township: Annotated[str | None, typer.Option(
        "--township", help="With --verify-period: one township (default: all).")] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="With --verify-period: rebuild the periods that differ.")] = False,
) -> None:
    """Score a period from evaluate output and entered items; print the score sheets."""
    import json

    if verify_period is not None:
        raise typer.Exit(_verify(verify_period, township, rebuild))
    if period is None or not days:
        typer.echo("error: --period and --days are required (or --verify-period)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT)

    from checkins.scores.files import ScoreInputError, score_files

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(EXIT_BAD_INPUT)

    if fmt not in ("json", "csv", "xlsx"):
        raise fail(f"--format {fmt!r}: expected json, csv or xlsx")
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE.xlsx")
    try:
        result, doc_out, prof = score_files(period=period, days=days, profile=profile,
                                            items=items or (), roster=roster, compare=compare)
    except ScoreInputError as exc:
        raise fail(str(exc)) from None
    if fmt == "xlsx":
        from checkins.formats.scoresheet import write_xlsx

        write_xlsx(result, out, title=prof.title)  # type: ignore[arg-type]
        typer.echo(f"wrote {out}", err=True)
        return
    if fmt == "csv":
        from checkins.formats.scoresheet import write_csv

        text = write_csv(result)
    else:
        text = json.dumps(doc_out, ensure_ascii=False, indent=2) + "\n"
    if out is not None:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)


def _verify(label: str, township: str | None, rebuild: bool) -> int:
    """Exit code of ``--verify-period``: 0 equal, 1 differences (listed as JSON), 2 bad input."""
    import json

    from checkins.db.engine import session
    from checkins.evaluation.sums import SumsError, verify_period
    from server.bootstrap import prepare_database
    from server.settings import get_settings

    engine = prepare_database(get_settings())
    try:
        with session(engine) as s:
            try:
                out = verify_period(s, label, township, rebuild=rebuild,
                                    progress=lambda n: typer.echo(f"{n} days read", err=True))
            except (SumsError, ValueError) as exc:
                typer.echo(f"error: {exc}", err=True)
                return EXIT_BAD_INPUT
            s.commit()
    finally:
        engine.dispose()
    typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
    n = out["differences"]
    typer.echo(f"{n} difference(s) in {out['period']}" + (f"; rebuilt {', '.join(out['rebuilt'])}"
                                                          if out["rebuilt"] else ""), err=True)
    return 1 if n else 0


def register(app: typer.Typer) -> None:
    """Add the ``score`` subcommand to the ``gridpatrol`` app."""
    app.command("score")(score)
