"""Liveness beats and outage detection inside every API process (GEO-PHONEOFF).

:func:`register` (called by :func:`server.app.create_app`)
wraps the app's lifespan: when ``settings.liveness_on``, the process beats once at
start-up (and looks for outages: the gap that ends with this start is recorded right
away), then an asyncio task on the server's own event loop beats every
``liveness_tick_seconds`` (the database write runs in a worker thread). A beat is
:func:`checkins.outages.service.record_tick`; every ``outage_detect_minutes``, and on the first beat
that succeeds after a failed one (the database was unreachable), it also runs
:func:`checkins.evaluation.outage_days.detect_outages` (records and marks the days) with ``outage_gap_minutes``.

The beat runs on the event loop that serves the requests, so a process whose loop is stuck
stops beating as it stops receiving. Several processes share one tick row per minute, and
detection is idempotent, so ``uvicorn --workers N`` or several hosts need no coordination.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from server.logs import get_logger
from server.settings import Settings

log = get_logger("gridpatrol.liveness")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Liveness:
    """One process's beats; ``clock`` is injectable (tests)."""

    def __init__(self, settings: Settings, engine: Engine,
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self.gap_s = settings.outage_gap_minutes * 60.0
        self.detect_every = dt.timedelta(minutes=settings.outage_detect_minutes)
        self.last_detect: dt.datetime | None = None
        self.failed = False

    def beat(self) -> list[dict[str, Any]]:
        """Write this minute's tick; look for outages when due. The new outages (JSON).

        Never raises: a failed beat is logged and makes the next good one detect.
        """
        from sqlmodel import Session

        from checkins.evaluation.outage_days import detect_outages
        from checkins.outages.service import outage_json, record_tick

        now = self.clock()
        due = (self.failed or self.last_detect is None
               or now - self.last_detect >= self.detect_every)
        new: list[dict[str, Any]] = []
        try:
            with Session(self.engine) as s:
                record_tick(s, now)
                s.commit()
                if due:
                    new = [outage_json(o) for o in
                           detect_outages(s, now=now, gap_s=self.gap_s)]
                    s.commit()
                    self.last_detect = now
            self.failed = False
        except Exception:  # noqa: BLE001 - a beat must never take the server down
            self.failed = True
            log.exception("liveness beat failed")
            return []
        for o in new:
            log.warning("server outage detected", rule="GEO-PHONEOFF", **o)
        return new


async def _beat_forever(live: Liveness, every_s: float, stop: asyncio.Event) -> None:
    while True:
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every_s)
        if stop.is_set():
            return
        await asyncio.to_thread(live.beat)


def register(app: FastAPI) -> None:
    """Hook the beats into the app's lifespan (wrapping any lifespan already set)."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[Any]:
        settings: Settings = a.state.settings
        task = None
        stop = asyncio.Event()
        a.state.liveness = None
        if settings.liveness_on:
            live = Liveness(settings, a.state.engine)
            a.state.liveness = live
            await asyncio.to_thread(live.beat)
            task = asyncio.create_task(
                _beat_forever(live, settings.liveness_tick_seconds, stop))
            log.info("liveness beats started", every_s=settings.liveness_tick_seconds,
                     outage_gap_min=settings.outage_gap_minutes)
        try:
            async with inner(a) as state:
                yield state
        finally:
            if task is not None:
                stop.set()
                await task

    app.router.lifespan_context = lifespan
