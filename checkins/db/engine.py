"""Engines and sessions for both backends, and the database health probe."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

T = TypeVar("T")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
    engine = sa.create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_begin(conn: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL: we emit
    # BEGIN ourselves (SQLAlchemy docs, "Serializable isolation / Savepoints").
    # ``sqlite_begin="IMMEDIATE"`` (an execution option) takes the write lock at BEGIN: a
    # transaction that reads and then writes cannot then fail with "database is locked"
    # when another writer committed in between (WAL snapshots cannot be upgraded; the busy
    # timeout does not apply); it waits for the lock instead
    mode = conn.get_execution_options().get("sqlite_begin", "")
    conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # autocommit at the driver; BEGIN comes from _sqlite_begin
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    if cur.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def end_read_only(session: Session) -> None:
    """End the session's transaction, which has only read, before slow work (a password hash).

    On SQLite a transaction that read keeps its WAL snapshot; if another connection commits
    meanwhile (a rate-limit bucket, an upload) its first write fails at once with "database
    is locked" (busy_timeout does not apply). Call only when nothing was written yet.
    """
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.commit()


def begin_write(session: Session) -> None:
    """Start the session's next transaction holding SQLite's write lock (``BEGIN IMMEDIATE``).

    Reads and writes that follow cannot meet the snapshot error above; the lock is waited
    for (busy_timeout). No effect on PostgreSQL or inside a transaction already begun.
    """
    if not session.in_transaction():
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def write_here(session: Session) -> None:
    """From here on the session writes: end its reading transaction (the request's
    credential checks) and begin the next with SQLite's write lock (``BEGIN IMMEDIATE``).

    Call at the top of a handler that reads and then writes (a decision): its reads and
    writes then cannot meet "database is locked" after another writer committed, which no
    busy timeout covers. No effect on PostgreSQL beyond ending the read transaction.
    """
    end_read_only(session)
    begin_write(session)


def is_lock_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked"/"busy" (a retry may succeed)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return isinstance(exc, sa.exc.OperationalError) and ("locked" in text or "busy" in text)


def write_apart(session: Session, fn: Callable[[Session], T], *, attempts: int = 4) -> T:
    """Run ``fn(session)`` (a small write) in its own transaction, committed, retried on lock.

    For the few writes a reading request makes (the track-view audit row of a page): the
    reads so far are ended (:func:`end_read_only`, the session must hold no pending
    writes), the write begins with SQLite's write lock (:func:`begin_write`, waited for up to
    the busy timeout), and if SQLite still answers "database is locked" the transaction is
    rolled back and tried again after a short random backoff. PostgreSQL: one plain try.
    """
    end_read_only(session)
    for attempt in range(attempts):
        try:  # BEGIN IMMEDIATE itself may time out when the lock is starved
            begin_write(session)
            out = fn(session)
            session.commit()
            return out
        except sa.exc.OperationalError as exc:
            session.rollback()
            if not is_lock_error(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (2 ** attempt) * (1 + random.random()))
    raise AssertionError("unreachable")


def session(engine: Engine) -> Session:
    """A new ORM session (``expire_on_commit=False`` so rows stay readable after commit)."""
    return Session(engine, expire_on_commit=False)


def health(engine: Engine) -> dict[str, Any]:
    """Backend name, reachability, PostGIS version (PG) and schema revision."""
    from checkins.db.migrate import current_revision, head_revision

    out: dict[str, Any] = {"backend": engine.dialect.name, "reachable": False,
                           "postgis": None, "revision": None, "head": head_revision()}
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            out["reachable"] = True
            if engine.dialect.name == "postgresql":
                out["postgis"] = conn.scalar(sa.text(
                    "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"))
            out["revision"] = current_revision(conn)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        out["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return out
