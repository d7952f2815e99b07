"""``gridpatrol evaluate-day``: run the nightly evaluation flow by hand for one date."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Annotated, Any

import typer


def summarize(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of a day's entries: patrol and sign-in statuses, intervals, points by rule."""
    patrols: Counter[str] = Counter()
    signins: Counter[str] = Counter()
    points: Counter[str] = Counter()
    offpost = phone_off = suspect = review = 0
    for e in entries:
        for window, p in sorted(e["patrols"].items()):
            patrols[f"{window}:{p['status']}"] += 1
        signins[e["signin"]["status"]] += 1
        offpost += len(e["offpost"])
        phone_off += len(e["phone_off"])
        suspect += e["suspect_fixes"]
        review += len(e.get("spoof_flags") or [])
        for d in e["deductions"]:
            points[d["rule"]] += d["points"]
    return {"worker_days": len(entries), "patrols": dict(sorted(patrols.items())),
            "signin": dict(sorted(signins.items())), "offpost_intervals": offpost,
            "phone_off_intervals": phone_off, "suspect_fixes": suspect,
            "spoof_review_flags": review, "points": {k: round(v, 2) for k, v in sorted(points.items())}}


def evaluate_day(
    date: Annotated[str, typer.Option("--date", help="the local date, YYYY-MM-DD")],
    village: Annotated[str | None, typer.Option("--village", help="only this village")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the day entries as JSON")]
    = False,
) -> None:
    """Evaluate every worker with a grid on DATE from the database and save the results."""
    from checkins.db.engine import session as new_session
    from checkins.evaluation.flows import evaluate_date
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        typer.echo(f"error: --date {date!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    engine = prepare_database(settings)
    with new_session(engine) as s:
        if village is not None:
            from checkins.township.models import Village

            if s.get(Village, village) is None:
                typer.echo(f"error: --village {village!r} does not exist", err=True)
                raise typer.Exit(2)
        entries = evaluate_date(s, day, village, grace_s=settings.result_grace_hours * 3600)
        s.commit()
    if as_json:
        typer.echo(json.dumps(entries, ensure_ascii=False, indent=1))
        return
    summary = {"date": day.isoformat(), "village": village, **summarize(entries)}
    typer.echo(json.dumps(summary, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add ``evaluate-day`` to the CLI."""
    app.command("evaluate-day")(evaluate_day)
