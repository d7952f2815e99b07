"""Backups of the whole database, safe while the server runs, and restores.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot
page by page while writers go on (WAL), into a temporary file renamed into place once
``PRAGMA quick_check`` passed; a restore copies the backup over the database the same way.
PostgreSQL: ``pg_dump -Fc`` (one MVCC snapshot, every table, the PostGIS extension) and
``pg_restore`` into an emptied ``public`` schema. A restore over a database holding any row is
refused unless ``force``; stop the server before restoring (its sessions would see the
database change under them).

:func:`nightly_backup` is the scheduled job: a dated file in the backup folder, the oldest
beyond ``keep`` removed (only files this module named).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

BACKUP_PREFIX = "gridpatrol-"


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why."""


def _sqlite_path(engine: Engine) -> Path:
    db = engine.url.database
    if not db or db == ":memory:":
        raise BackupError("an in-memory SQLite database has no file to back up")
    return Path(db)


def libpq_url(engine: Engine) -> str:
    """The engine's URL as libpq takes it (``postgresql://...``, no driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    path = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)),
        None)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client "
                          "(Debian: apt-get install postgresql-client-15)")
    return path


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({res.returncode}): "
                          f"{res.stderr.strip()[-2000:]}")


def _tables(engine: Engine, conn: Any) -> list[str]:
    """The tables (a partitioned table once, not its day partitions), alembic's too."""
    parts: set[str] = set()
    if engine.dialect.name == "postgresql":
        parts = set(conn.scalars(sa.text(
            "SELECT relname FROM pg_class WHERE relispartition")))
    return sorted(n for n in sa.inspect(conn).get_table_names()
                  if not n.startswith("sqlite_") and n != "spatial_ref_sys" and n not in parts)


def table_counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the database."""
    with engine.connect() as conn:
        names = _tables(engine, conn)
        return {n: int(conn.scalar(sa.text(f'SELECT count(*) FROM "{n}"'))) for n in names}


def is_empty(engine: Engine) -> bool:
    """True when no application table holds a row (a migrated, unused database is empty)."""
    with engine.connect() as conn:
        names = [n for n in _tables(engine, conn) if n != "alembic_version"]
        return not any(conn.scalar(sa.text(f'SELECT EXISTS (SELECT 1 FROM "{n}")'))
                       for n in names)


def backup(engine: Engine, target: str | os.PathLike[str]) -> dict[str, Any]:
    """Write a backup of ``engine``'s database to ``target``; ``{"file", "bytes", "backend"}``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    try:
        if engine.dialect.name == "sqlite":
            src = sqlite3.connect(_sqlite_path(engine), timeout=60)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # one step: a consistent snapshot, writers not blocked (WAL)
                ok = dst.execute("PRAGMA quick_check").fetchone()[0]
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                dst.close()
                src.close()
            if ok != "ok":
                raise BackupError(f"the copy failed its integrity check: {ok}")
        elif engine.dialect.name == "postgresql":
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={tmp}", f"--dbname={libpq_url(engine)}"])
            _run([_pg_tool("pg_restore"), "--list", str(tmp)])  # readable back
        else:
            raise BackupError(f"no backup for {engine.dialect.name}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": str(target), "bytes": target.stat().st_size, "backend": engine.dialect.name}


def restore(engine: Engine, source: str | os.PathLike[str], *, force: bool = False) -> None:
    """Replace ``engine``'s database with the backup ``source`` (refused over rows unless
    ``force``). The caller migrates afterwards (a backup of an older version is upgraded)."""
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    if not force and not is_empty(engine):
        raise BackupError("the database is not empty: restoring would replace its data "
                          "(stop the server, then use --force)")
    engine.dispose()
    if engine.dialect.name == "sqlite":
        head = source.read_bytes()[:16]
        if head != b"SQLite format 3\x00":
            raise BackupError(f"{source} is not a SQLite backup (a PostgreSQL dump? use "
                              "copy-data to move between backends)")
        src = sqlite3.connect(source)
        dst = sqlite3.connect(_sqlite_path(engine), timeout=60)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    if engine.dialect.name != "postgresql":
        raise BackupError(f"no restore for {engine.dialect.name}")
    if source.read_bytes()[:5] != b"PGDMP":
        raise BackupError(f"{source} is not a pg_dump -Fc file (a SQLite backup? use copy-data)")
    with engine.begin() as conn:  # an empty public schema: the dump recreates everything
        conn.execute(sa.text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
          f"--dbname={libpq_url(engine)}", str(source)])


def backup_name(backend: str, now: dt.datetime) -> str:
    """``gridpatrol-YYYYmmdd-HHMMSS.db`` (SQLite) or ``.dump`` (PostgreSQL), UTC."""
    return f"{BACKUP_PREFIX}{now.strftime('%Y%m%d-%H%M%S')}.{'db' if backend == 'sqlite' else 'dump'}"


def list_backups(folder: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The backups this module wrote in ``folder``, newest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    files = sorted((p for p in folder.iterdir() if p.name.startswith(BACKUP_PREFIX)
                    and p.suffix in (".db", ".dump")), key=lambda p: p.name, reverse=True)
    return [{"file": p.name, "bytes": p.stat().st_size,
             "at": dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC).isoformat()}
            for p in files]


def nightly_backup(engine: Engine, folder: str | os.PathLike[str], *, keep: int,
                   now: dt.datetime | None = None) -> dict[str, Any]:
    """One dated backup in ``folder``; the oldest beyond ``keep`` are deleted."""
    now = now or dt.datetime.now(dt.UTC)
    out = backup(engine, Path(folder) / backup_name(engine.dialect.name, now))
    removed = []
    for old in list_backups(folder)[max(1, keep):]:
        (Path(folder) / old["file"]).unlink(missing_ok=True)
        removed.append(old["file"])
    return out | {"kept": min(len(list_backups(folder)), max(1, keep)), "removed": removed}


def sqlite_url_for(path: str | os.PathLike[str]) -> str:
    """``sqlite:///<absolute path>``."""
    return str(make_url(f"sqlite:///{Path(path).resolve()}"))
