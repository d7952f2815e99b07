"""``gridpatrol copy-data --to postgresql://...``: move a whole SQLite township into PostGIS.

The target is migrated first and must be empty; every table is copied (grids, roster
history, accounts, phones, positions, records, results, decisions, the audit chain, scores),
then verified: the same rows per table, an intact audit chain, and the latest judged day
judged again on the target identical to the stored one. Afterwards point ``DATABASE_URL`` at
the target (docs/go-live.md, "Growing up").
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer


def verify_copy(src: Any, dst: Any) -> dict[str, Any]:
    """Counts per table on both sides, the target's audit chain, a re-judged day."""
    from sqlmodel import Session

    from checkins.audit.service import verify_chain
    from checkins.db.backup import table_counts
    from checkins.db.copy import SKIP_TABLES

    a = {k: v for k, v in table_counts(src).items() if k not in SKIP_TABLES}
    b = {k: v for k, v in table_counts(dst).items() if k not in SKIP_TABLES}
    out: dict[str, Any] = {"tables": len(a), "rows": sum(a.values()),
                           "count_differences": {k: (a.get(k), b.get(k))
                                                 for k in sorted(set(a) | set(b))
                                                 if a.get(k) != b.get(k)}}
    with Session(dst) as s:
        out["audit_chain_broken_at"] = verify_chain(s)
    out |= rejudge_latest_day(dst)
    out["ok"] = (not out["count_differences"] and out["audit_chain_broken_at"] is None
                 and out["rejudged_differences"] == 0)
    return out


def rejudge_latest_day(engine: Any) -> dict[str, Any]:
    """Judge the latest day with stored results again (nothing saved); how many differ."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from checkins.evaluation.flows import judge_worker_days
    from checkins.evaluation.models import DayResult

    with Session(engine) as s:
        day = s.scalar(sa.select(sa.func.max(DayResult.work_date)).where(
            DayResult.provisional.is_(False))) or s.scalar(
                sa.select(sa.func.max(DayResult.work_date)))
        if day is None:
            return {"rejudged_date": None, "rejudged": 0, "rejudged_differences": 0}
        stored = {r.worker_id: r.result for r in s.scalars(
            sa.select(DayResult).where(DayResult.work_date == day))}
        judged = {e["worker_id"]: e for _, e in judge_worker_days(
            s, [(w, day) for w in sorted(stored)])}
        s.rollback()
    diff = sorted(w for w in stored if json.dumps(stored[w], sort_keys=True, default=str)
                  != json.dumps(judged.get(w), sort_keys=True, default=str))
    return {"rejudged_date": day.isoformat(), "rejudged": len(stored),
            "rejudged_differences": len(diff), "rejudged_differing_workers": diff[:10]}


def copy_data(
    to: Annotated[str, typer.Option("--to", help="target: postgresql://user@host/db (empty)")],
) -> None:
    """Copy the whole configured (SQLite) database into an empty PostGIS database, verified."""
    from checkins.db.backup import is_empty
    from checkins.db.copy import copy_tables
    from checkins.db.engine import make_engine
    from checkins.tables import metadata
    from server.bootstrap import prepare_database
    from server.logs import configure_logging
    from server.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    src = make_engine(settings.resolved_database_url)
    if not to.startswith(("postgresql://", "postgresql+psycopg://")):
        typer.echo("error: --to must be a postgresql:// URL", err=True)
        raise typer.Exit(2)
    dst = make_engine(to)
    if src.url == dst.url:
        typer.echo("error: source and target are the same database", err=True)
        raise typer.Exit(2)
    prepare_database(settings, src)  # both at the same schema revision
    prepare_database(settings.model_copy(update={"database_url": to}), dst)
    if not is_empty(dst):
        typer.echo("error: the target database is not empty; copy-data only fills an empty "
                   "one", err=True)
        raise typer.Exit(2)
    last: dict[str, int] = {}

    def progress(table: str, done: int, total: int) -> None:
        if done == total or done - last.get(table, 0) >= 50_000:
            last[table] = done
            typer.echo(f"  {table}: {done}/{total}", err=True)

    typer.echo(f"copying {src.url.render_as_string()} -> {dst.url.render_as_string()}", err=True)
    copy_tables(src, dst, metadata.sorted_tables, timezone=settings.timezone, progress=progress)
    typer.echo("verifying: rows per table, audit chain, a re-judged day", err=True)
    report = verify_copy(src, dst)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    src.dispose()
    dst.dispose()
    if not report["ok"]:
        typer.echo("error: the copy differs from the source (see above); do not switch",
                   err=True)
        raise typer.Exit(1)
    typer.echo(f"done: set DATABASE_URL={to} and restart the server", err=True)


def register(app: typer.Typer) -> None:
    """Add ``copy-data`` to the CLI."""
    app.command("copy-data")(copy_data)
