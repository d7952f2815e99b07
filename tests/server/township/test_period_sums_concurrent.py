"""Two sessions saving the first days of a period at once: both deltas kept, no unique-key error.

Each save of the first day in a period creates the period's state row and the worker's
``period_sum`` row. On PostgreSQL the two sessions overlap (the second waits on the first's
uncommitted rows, then adds to them); SQLite has one writer, so there they run one after the
other. Committed data in the run's database, removed afterwards.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from checkins import tables as m
from checkins.evaluation import sums as period_sums
from checkins.township.profile import profile_named
from tests.server.township.conftest import entry

MONTH = "2031-03"  # a period no other test saves days in
DATES = [dt.date(2031, 3, 3), dt.date(2031, 3, 4)]


@pytest.fixture
def town(migrated_engine: sa.Engine) -> Iterator[tuple[str, str]]:
    tag = f"cc{secrets.token_hex(3)}"
    tid, wid = f"{tag}T", f"{tag}w"
    with migrated_engine.begin() as c:
        c.execute(sa.insert(m.Township.__table__).values(township_id=tid, name="并发镇",
                                                         profile="yangkou-2022"))
        c.execute(sa.insert(m.Village.__table__).values(village_id=f"{tag}V", township_id=tid,
                                                        name="并发村"))
        c.execute(sa.insert(m.Worker.__table__).values(worker_id=wid, name="并发", role="parttime",
                                                       active=True, phone=f"1{secrets.randbelow(10**10):010d}",
                                                       village_id=f"{tag}V"))
    try:
        yield tid, wid
    finally:
        with migrated_engine.begin() as c:
            c.execute(sa.delete(m.DayResult.__table__).where(m.DayResult.worker_id == wid))
            c.execute(sa.delete(m.PeriodSum.__table__).where(m.PeriodSum.township_id == tid))
            c.execute(sa.delete(m.PeriodSumState.__table__).where(m.PeriodSumState.township_id == tid))
            c.execute(sa.delete(m.Worker.__table__).where(m.Worker.worker_id == wid))
            c.execute(sa.delete(m.Village.__table__).where(m.Village.township_id == tid))
            c.execute(sa.delete(m.Township.__table__).where(m.Township.township_id == tid))


def test_two_first_saves_of_a_period_at_once(migrated_engine: sa.Engine, town: tuple[str, str]) -> None:
    tid, wid = town
    pg = migrated_engine.dialect.name == "postgresql"

    def save(s: Session, date: dt.date, pm: str) -> None:
        s.add(m.DayResult(worker_id=wid, work_date=date, result=entry(wid, "g1", date, "parttime", pm=pm),
                          provisional=False))
        s.flush()

    errors: list[BaseException] = []
    with Session(migrated_engine) as a:
        save(a, DATES[0], "missing")  # creates the state and the worker's rows, not committed
        b_done = threading.Event()

        def second() -> None:
            try:
                with Session(migrated_engine) as b:
                    save(b, DATES[1], "short")  # waits for the first session's rows
                    b.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
            finally:
                b_done.set()

        t = threading.Thread(target=second)
        if pg:
            t.start()
            assert not b_done.wait(1.0), "the second save did not wait for the first one's rows"
        a.commit()
        if not pg:
            t.start()
        t.join(60)
    assert not errors, errors
    with Session(migrated_engine) as s:
        profile = profile_named("yangkou-2022")
        assert period_sums.verify(s, tid, [MONTH, "2031Q1"], profile) == []
        rows = s.execute(sa.select(m.PeriodSum.period, m.PeriodSum.sums).where(
            m.PeriodSum.township_id == tid, m.PeriodSum.subject_id == wid)).all()
        assert sorted(p for p, _ in rows) == ["2031-03", "2031Q1"]
        assert all(doc["days"] == 2 for _, doc in rows)  # both saves counted
        states = s.execute(sa.select(m.PeriodSumState.period, m.PeriodSumState.profile).where(
            m.PeriodSumState.township_id == tid)).all()
        assert sorted(states) == [("2031-03", "yangkou-2022"), ("2031Q1", "yangkou-2022")]
