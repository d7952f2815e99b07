"""``gridpatrol audit``: check the audit log's hash chain; the PostgreSQL application role.

``gridpatrol audit verify`` recomputes every row's hash (``checkins.audit.service.verify_chain``)
and exits 1 naming the first row whose content or link was changed.
``gridpatrol audit app-role NAME`` prints (or with ``--apply`` runs) the GRANT/REVOKE
statements that give the API's database role what it needs and no UPDATE, DELETE or
TRUNCATE on ``audit_log`` (the migrations and the partition/retention jobs run as the
owner role).
"""

from __future__ import annotations

import json
import re
from typing import Annotated

import typer

audit_app = typer.Typer(help="The audit log: verify the hash chain; the app's database role.",
                        no_args_is_help=True)


def app_role_sql(role: str) -> list[str]:
    """GRANT/REVOKE statements for the application's (non-owner) PostgreSQL role."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise ValueError(f"role name {role!r}: lower-case letters, digits, _")
    return [
        f"GRANT USAGE, CREATE ON SCHEMA public TO {role}",  # CREATE: late day partitions
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}",
        f"REVOKE TRUNCATE ON ALL TABLES IN SCHEMA public FROM {role}",
    ]


@audit_app.command("verify")
def verify() -> None:
    """Recompute the audit chain; exit 1 with the first broken row if any row was edited."""
    import sqlalchemy as sa

    from checkins.audit.models import AuditLog
    from checkins.audit.service import verify_chain
    from checkins.db.engine import make_engine, session
    from server.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    with session(engine) as s:
        rows = s.scalar(sa.select(sa.func.count()).select_from(AuditLog))
        broken = verify_chain(s)
    engine.dispose()
    typer.echo(json.dumps({"rows": rows, "broken_at_id": broken,
                           "status": "ok" if broken is None else "broken"}))
    if broken is not None:
        raise typer.Exit(1)


@audit_app.command("app-role")
def app_role(
    role: Annotated[str, typer.Argument(help="the API's database role (must exist)")],
    apply: Annotated[bool, typer.Option("--apply", help="run the statements (as the owner)")]
    = False,
) -> None:
    """Print (or apply) the grants of the application role: no UPDATE/DELETE on audit_log."""
    stmts = app_role_sql(role)
    if not apply:
        typer.echo(";\n".join(stmts) + ";")
        return
    import sqlalchemy as sa

    from checkins.db.engine import make_engine
    from server.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    if engine.dialect.name != "postgresql":
        typer.echo("error: database roles exist on PostgreSQL only", err=True)
        raise typer.Exit(2)
    with engine.begin() as conn:
        for st in stmts:
            conn.execute(sa.text(st))
    engine.dispose()
    typer.echo(f"granted to {role}")


def register(app: typer.Typer) -> None:
    """Add ``audit`` to the CLI."""
    app.add_typer(audit_app, name="audit")
