"""Fixtures of the jobs tests: the demo township's simulated day in the test database."""

from __future__ import annotations

import datetime as dt

import pytest

from checkins.demo.service import build_demo, load_demo_township

DAY = dt.date(2026, 11, 23)  # a Monday
TZ = "Asia/Shanghai"


@pytest.fixture(scope="session")
def demo():
    """The demo township and its simulated working day (deterministic)."""
    return build_demo(seed=7, day=DAY, timezone=TZ)


@pytest.fixture
def demo_session(session, demo):
    """The test's rolled-back session with the demo day loaded."""
    if session.get_bind().dialect.name == "postgresql":
        from checkins.db import partitions

        partitions.ensure_position_partitions(session.connection(), DAY - dt.timedelta(days=2),
                                              5, TZ)
    load_demo_township(session, demo)
    session.flush()
    return session


def behaviour_worker(demo, behaviour: str) -> str:
    """The id of the demo worker who shows ``behaviour``."""
    return next(w.worker_id for w in demo.workers if w.behaviour == behaviour)
