"""Token buckets in the database, shared by every API process (table ``rate_bucket``).

The per-process buckets (``server.mobile.ratelimit.TokenBucket``) multiply a limit by the
number of processes behind a load balancer; these rows do not. One bucket is one row keyed
``<name>:<key>``; taking a token is **one statement** (``INSERT … ON CONFLICT DO UPDATE …
RETURNING``) in its own short transaction, so concurrent takes from any process serialise
on the row (PostgreSQL row lock, SQLite's write lock) and the bucket never goes negative.

Time is the processes' wall clock (Unix seconds; hosts keep NTP time): a process whose clock
lags does not refill a bucket (elapsed time is never negative). Rows whose bucket is full
again (``full_at`` passed) mean the same as no row; each process deletes them now and then
(every :data:`PRUNE_EVERY` takes), so a flood of fresh keys leaves no lasting rows.

A refusal is remembered in the process until the wait it answered is over: tokens only come
back with time, so every take of that key before then would be refused too, and is, without
a database round trip.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from checkins.auth.models import RateBucket

PRUNE_EVERY = 500
MAX_REFUSED_KEYS = 100_000
_T = RateBucket.__table__  # type: ignore[attr-defined]
_FOREVER_S = 10 * 365 * 86400.0  # "refill" time of a bucket with rate 0


def _key(name: str, key: str) -> str:
    full = f"{name}:{key}"
    if len(full) <= 160:
        return full
    return f"{name}:#{hashlib.sha256(key.encode()).hexdigest()}"


def _insert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class SharedBuckets:
    """The buckets of one limit (``name``): ``capacity`` tokens, refilled at ``rate_per_s``.

    Same interface as the in-process ``TokenBucket``: :meth:`take` answers 0 when allowed,
    else the seconds to wait. ``bind``: an engine (each call in its own committed
    transaction) or a connection (tests: the statements join its transaction).
    """

    def __init__(self, bind: Engine | Connection, name: str, capacity: float,
                 rate_per_s: float) -> None:
        self.bind = bind
        self.name = name
        self.capacity = float(capacity)
        self.rate_per_s = float(rate_per_s)
        self._takes = itertools.count(1)
        # refusals known here: key -> time before which no take can succeed (tokens only come
        # back with time), answered without a database round trip (an attacker hammering one
        # account costs one statement per refill interval and process, not one per request)
        self._refused: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def _run(self, fn: Any) -> Any:
        if isinstance(self.bind, Engine):
            with self.bind.begin() as conn:
                return fn(conn)
        return fn(self.bind)

    def _refill_s(self, tokens_missing: Any) -> Any:
        return tokens_missing * (1.0 / self.rate_per_s if self.rate_per_s > 0 else _FOREVER_S)

    def take(self, key: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take ``cost`` tokens for ``key``; 0 when allowed, else seconds to wait."""
        now = time.time() if now is None else now
        with self._lock:
            until = self._refused.get(key)
            if until is not None:
                if now < until:
                    return until - now
                del self._refused[key]
        cap, rate = self.capacity, self.rate_per_s
        c = _T.c
        elapsed = sa.case((c.at < now, now - c.at), else_=0.0)
        grown = c.tokens + elapsed * rate
        refilled = sa.case((grown > cap, cap), else_=grown)
        ok = refilled >= cost
        left = sa.case((ok, refilled - cost), else_=refilled)
        first_left = cap - cost if cap >= cost else cap

        def stmt(conn: Connection) -> tuple[float, bool]:
            insert = _insert(conn.dialect.name)
            ins = insert(_T).values(key=_key(self.name, key), tokens=first_left, at=now,
                                    full_at=now + self._refill_s(cap - first_left),
                                    allowed=cap >= cost)
            at_new = sa.case((c.at < now, now), else_=c.at)
            q = ins.on_conflict_do_update(index_elements=[c.key], set_={
                "tokens": left, "at": at_new, "allowed": ok,
                "full_at": at_new + self._refill_s(cap - left),
            }).returning(c.tokens, c.allowed)
            row = conn.execute(q).one()
            if next(self._takes) % PRUNE_EVERY == 0:
                conn.execute(sa.delete(_T).where(c.full_at < now))
            return float(row[0]), bool(row[1])

        tokens, allowed = self._run(stmt)
        if allowed:
            return 0.0
        wait_s = (cost - tokens) / rate if rate > 0 else 3600.0
        if cost == 1.0:
            with self._lock:
                self._refused[key] = now + wait_s
                while len(self._refused) > MAX_REFUSED_KEYS:
                    self._refused.popitem(last=False)
        return wait_s

    def peek(self, key: str, now: float | None = None) -> float:
        """Tokens ``key`` would have now (nothing taken)."""
        now = time.time() if now is None else now
        row = self._run(lambda conn: conn.execute(
            sa.select(_T.c.tokens, _T.c.at).where(_T.c.key == _key(self.name, key))).first())
        if row is None:
            return self.capacity
        return min(self.capacity, float(row[0]) + max(0.0, now - float(row[1])) * self.rate_per_s)

    def clear(self, key: str) -> None:
        """Forget ``key`` (a full bucket again; other processes may still refuse it for
        the rest of the wait they answered)."""
        with self._lock:
            self._refused.pop(key, None)
        self._run(lambda conn: conn.execute(sa.delete(_T).where(_T.c.key == _key(self.name, key))))

    def prune(self, now: float | None = None) -> int:
        """Delete the rows of every limit whose bucket is full again; how many."""
        now = time.time() if now is None else now
        return int(self._run(lambda conn: conn.execute(
            sa.delete(_T).where(_T.c.full_at < now)).rowcount or 0))

    def reset(self) -> None:
        """Forget every key of this limit (tests)."""
        with self._lock:
            self._refused.clear()
        self._run(lambda conn: conn.execute(
            sa.delete(_T).where(_T.c.key.startswith(f"{self.name}:", autoescape=True))))
