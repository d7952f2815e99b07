"""``gridpatrol score``: period score sheets, tiers and payouts from ``evaluate`` output, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

EXIT_BAD_INPUT = 2


def score(
    period: Annotated[str, typer.Option("--period", help="2026-03, 2026Q1 or 2026.")],
    days: Annotated[
        list[Path], typer.Option("--days", help="evaluate output JSON; repeat for more files.")
    ],
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
) -> None:
    """Score a period from evaluate output and entered items; print the score sheets."""
    import json

    from checkins.formats.errors import FormatError
    from checkins.formats.items import read_items
    from checkins.formats.roster import read_roster
    from scoring.dayjson import DayJsonError, days_from_json, with_villages
    from scoring.items import ItemError, parse_period
    from scoring.period import ScoreError, Subject
    from scoring.profiles import ProfileError, load_profile
    from scoring.score import score as run_score
    from scoring.score import whatif

    def fail(message: str) -> typer.Exit:
        typer.echo(f"error: {message}", err=True)
        return typer.Exit(EXIT_BAD_INPUT)

    if fmt not in ("json", "csv", "xlsx"):
        raise fail(f"--format {fmt!r}: expected json, csv or xlsx")
    if fmt == "xlsx" and out is None:
        raise fail("--format xlsx needs --out FILE.xlsx")
    try:
        per = parse_period(period)
    except ValueError as exc:
        raise fail(f"--period {exc}") from None
    try:
        prof = load_profile(profile)
        other = load_profile(compare) if compare else None
        all_days = []
        seen: dict[tuple[str, str], str] = {}
        notes = []
        for path in days:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise fail(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
            if doc.get("profile") and doc["profile"] != prof.id:
                notes.append(f"{path}: days detected under {doc['profile']}; rules of {prof.id} applied to them")
            for d in days_from_json(doc, str(path)):
                key = (d.result.worker_id, d.result.date.isoformat())
                if key in seen:
                    raise fail(f"{path}: worker {key[0]} on {key[1]} is also in {seen[key]}")
                seen[key] = str(path)
                all_days.append(d)
        subjects = None
        if roster is not None:
            rows = read_roster(roster)
            subjects = {r.worker_id: Subject(r.worker_id, "worker", r.role, r.village_id, r.name) for r in rows}
            all_days = with_villages(all_days, {r.worker_id: r.village_id for r in rows})
        else:
            notes.append("no --roster: villages and names unknown unless the days carry village_id; "
                         "tiers are then ranked per role over all workers")
        entered = []
        for path in items or []:
            entered += read_items(path)
        if other is None:
            result = run_score(prof, per, all_days, _checked(entered, prof, items), subjects)
            doc_out = result.to_json()
            doc_out["notes"] = doc_out["notes"] + notes
        else:
            a, b, diffs = whatif(prof, other, per, all_days, _checked(entered, prof, items), None, subjects)
            result = a
            doc_out = {"period": per.label, "profiles": [prof.id, other.id], "notes": notes,
                       "differences": [d.to_json() for d in diffs if d.changed],
                       "unchanged": [d.subject_id for d in diffs if not d.changed],
                       "a": a.to_json(), "b": b.to_json()}
    except (FormatError, ProfileError, DayJsonError, ItemError, ScoreError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.filename}: {exc.strerror}") from None
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


def _checked(entered, prof, paths):  # type: ignore[no-untyped-def]
    """Items checked against the profile, errors naming the file and line."""
    from checkins.formats.errors import FormatError
    from scoring.items import ItemError, check_items

    try:
        return check_items(entered, prof)
    except ItemError as exc:
        src = exc.item.source if exc.item is not None else None
        if src and ", line " in src:
            file, line = src.rsplit(", line ", 1)
            raise FormatError(file, int(line), exc.field, exc.message) from None
        raise


def register(app: typer.Typer) -> None:
    """Add the ``score`` subcommand to the ``gridpatrol`` app."""
    app.command("score")(score)
