"""PIPL retention: raw positions older than the retention go (PG: day partitions dropped),
off-duty positions no rule reads go after the keep period unless an approved exemption
covers them; day results stay."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

import shapely
import sqlalchemy as sa

from checkins.db import partitions
from checkins.evaluation.models import DayResult
from checkins.field.models import Exemption
from checkins.jobs.scheduled import position_retention
from checkins.positions.models import Position
from checkins.positions.retention import needed_span, purge_positions
from checkins.township.models import Township, Village, Worker
from scoring.profiles import load_profile

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 11, 20, 4, 0, tzinfo=TZ)


def _at(days_ago: int, hh: int, mm: int = 0) -> dt.datetime:
    d = NOW.date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(d, dt.time(hh, mm), tzinfo=TZ)


def _setup(session):  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    session.add(Township(township_id=f"rt{tag}", name="镇", timezone="Asia/Shanghai",
                         profile="yangkou-2022"))
    session.flush()
    session.add(Village(village_id=f"rv{tag}", township_id=f"rt{tag}", name="村",
                        office=shapely.Point(121.0, 32.0)))
    session.flush()
    session.add(Worker(worker_id=f"rw{tag}", name="甲", role="fulltime", village_id=f"rv{tag}"))
    session.flush()
    return f"rw{tag}"


def _fix(worker: str, at: dt.datetime, n: int) -> Position:
    return Position(worker_id=worker, recorded_at=at, client_id=f"c{n}", lon=121.0, lat=32.0,
                    datum="wgs84", geom=shapely.Point(121.0, 32.0), accuracy_m=5.0)


def test_needed_span_covers_duty_and_patrol_windows():
    start, end = needed_span(load_profile("yangkou-2022"))
    assert start <= dt.time(6, 0) and end >= dt.time(20, 0)


def test_purge_keeps_what_rules_need_and_drops_the_rest(session):
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        partitions.ensure_position_partitions(conn, (NOW - dt.timedelta(days=200)).date(), 1)
        partitions.ensure_position_partitions(conn, (NOW - dt.timedelta(days=30)).date(), 31)
    w = _setup(session)
    rows = {
        "old_on_duty": _at(200, 9),          # older than 180 days: gone
        "on_duty": _at(30, 9),                # kept
        "patrol_window_evening": _at(30, 19, 30),  # 19:30: afternoon patrol window, kept
        "night": _at(30, 23, 0),              # off every window, 30 days old: gone
        "early_morning": _at(30, 3, 0),       # off every window: gone
        "night_exempt": _at(29, 23, 0),       # covered by an approved exemption: kept
        "night_recent": _at(2, 23, 0),        # off-window but within the keep period: kept
        "night_denied_exemption": _at(28, 23, 0),  # only a denied exemption: gone
    }
    for n, at in enumerate(rows.values()):
        session.add(_fix(w, at, n))
    session.add(Exemption(worker_id=w, kind="field_duty", start_at=_at(29, 22),
                          end_at=_at(29, 23, 30), status="approved"))
    session.add(Exemption(worker_id=w, kind="special", start_at=_at(28, 22),
                          end_at=_at(28, 23, 30), status="denied"))
    session.add(DayResult(worker_id=w, work_date=_at(200, 9).date(), result={"x": 1},
                          evaluated_at=NOW))
    session.flush()

    out = position_retention(session, now=NOW, retention_days=180, offduty_keep_days=7,
                             timezone="Asia/Shanghai")
    session.expire_all()
    left = set(session.scalars(sa.select(Position.recorded_at).where(
        Position.worker_id == w)).all())
    kept = {k for k, at in rows.items() if at in left}
    assert kept == {"on_duty", "patrol_window_evening", "night_exempt", "night_recent"}
    assert out["deleted_off_duty"] >= 3
    assert session.scalar(sa.select(sa.func.count()).select_from(DayResult).where(
        DayResult.worker_id == w)) == 1
    if conn.dialect.name == "postgresql":
        old = partitions.partition_name(_at(200, 9).date())
        assert old in out["partitions_dropped"]
        assert old not in partitions.list_partitions(conn)
    else:
        assert out["deleted_old"] >= 1


def test_retention_is_a_scheduled_job():
    from server.scheduler import JOB_NAMES, build_scheduler
    from server.settings import Settings

    assert "position_retention" in JOB_NAMES
    s = Settings(environment="test", secret_key="k" * 40, database_url="sqlite://")
    assert s.position_retention_days == 180
    eng = sa.create_engine("sqlite://")
    assert "position_retention" in {j.id for j in build_scheduler(s, eng).get_jobs()}


def test_positions_room_keeps_an_exempt_night_only_when_the_caller_says_so(session):
    """Retention (positions) knows no exemptions (a room above it): the job passes the
    condition; without it an exempt off-window fix goes like any other."""
    if session.connection().dialect.name == "postgresql":
        partitions.ensure_position_partitions(session.connection(), _at(29, 0).date(), 1)
    w = _setup(session)
    night = _at(29, 23, 0)
    session.add(_fix(w, night, 1))
    session.add(Exemption(worker_id=w, kind="field_duty", start_at=_at(29, 22),
                          end_at=_at(29, 23, 30), status="approved"))
    session.flush()
    purge_positions(session, now=NOW, retention_days=180, offduty_keep_days=7)
    session.expire_all()
    assert session.scalars(sa.select(Position).where(Position.worker_id == w)).all() == []
