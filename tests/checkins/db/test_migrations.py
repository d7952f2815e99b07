"""Migrations run up from empty on the selected backend and agree with the models."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
import sqlalchemy as sa

from checkins.db import partitions
from checkins.db.engine import make_engine
from checkins.db.migrate import (
    current_revision,
    downgrade,
    head_revision,
    load_all_models,
    schema_diff,
    upgrade,
)
from tests.conftest import empty_database

CORE_TABLES = {"township", "village", "grid", "worker", "grid_assignment", "device", "position",
               "signin", "patrol_session", "patrol_log", "exemption", "office_user",
               "audit_log", "day_result"}


def _our_tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) & set(load_all_models().tables)


def test_migrations_up_from_empty_and_down_again(db_backend, tmp_path):
    with empty_database(db_backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            assert current_revision(engine) is None
            assert upgrade(engine) == head_revision()
            assert CORE_TABLES <= _our_tables(engine)
            assert _our_tables(engine) == set(load_all_models().tables)
            with engine.connect() as conn:
                assert schema_diff(conn) == []
                if db_backend == "postgresql":
                    assert conn.scalar(sa.text(
                        "SELECT extversion FROM pg_extension WHERE extname='postgis'"))
                    strategy = conn.scalar(sa.text(
                        "SELECT partstrat FROM pg_partitioned_table "
                        "WHERE partrelid = 'position'::regclass"))
                    assert strategy == "r"  # range
                    assert partitions.list_partitions(conn) == ["position_default"]
                    gist = conn.execute(sa.text(
                        "SELECT indexname FROM pg_indexes WHERE indexdef LIKE '%USING gist%' "
                        "AND tablename IN ('grid', 'position')")).scalars().all()
                    assert {"ix_grid_geom", "ix_position_geom"} <= set(gist)
            downgrade(engine, "base")
            assert _our_tables(engine) == set()
            assert current_revision(engine) is None
            assert upgrade(engine) == head_revision()
        finally:
            engine.dispose()


def test_models_and_migrations_agree(connection):
    assert schema_diff(connection) == []


def test_schema_diff_notices_a_drift(connection):
    connection.execute(sa.text("ALTER TABLE village ADD COLUMN stray_note VARCHAR(10)"))
    diff = schema_diff(connection)
    assert any(d[0] == "remove_column" and d[3].name == "stray_note" for d in diff)


def test_position_keys_and_day_partitions(connection, db_backend):
    from checkins import tables as m

    connection.execute(sa.insert(m.Township).values(township_id="t1", name="T",
                                                    created_at=dt.datetime.now(dt.UTC)))
    connection.execute(sa.insert(m.Village).values(village_id="v1", township_id="t1", name="V",
                                                   created_at=dt.datetime.now(dt.UTC)))
    connection.execute(sa.insert(m.Worker).values(worker_id="w1", name="W", role="head",
                                                  village_id="v1",
                                                  created_at=dt.datetime.now(dt.UTC)))
    day = dt.date(2031, 5, 6)
    at = dt.datetime(2031, 5, 6, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    row = {"recorded_at": at, "received_at": at, "worker_id": "w1", "kind": "fix",
           "datum": "wgs84", "client_id": "c1", "geom": shapely.Point(121.2, 32.55)}
    ids = connection.execute(sa.insert(m.Position).returning(m.Position.id), [row]).scalars().all()
    assert ids and ids[0] is not None
    created = partitions.ensure_position_partitions(connection, day, 2, "Asia/Shanghai")
    got = connection.execute(sa.select(m.Position.geom, m.Position.recorded_at).where(
        m.Position.worker_id == "w1", m.Position.client_id == "c1")).one()
    assert got.geom.equals(shapely.Point(121.2, 32.55))
    assert got.recorded_at == at
    if db_backend == "postgresql":
        assert created == ["position_p20310506", "position_p20310507"]
        where = connection.scalar(sa.text(
            "SELECT tableoid::regclass::text FROM position "
            "WHERE worker_id = 'w1' AND client_id = 'c1'"))
        assert where == "position_p20310506"  # moved out of position_default
        assert partitions.ensure_position_partitions(connection, day, 2, "Asia/Shanghai") == []
    else:
        assert created == []


def test_position_dedupe_key(session):
    from checkins import tables as m

    session.add(m.Township(township_id="t1", name="T"))
    session.add(m.Village(village_id="v1", township_id="t1", name="V"))
    session.add(m.Worker(worker_id="w1", name="W", role="head", village_id="v1"))
    session.flush()
    dev = m.Device(device_uid="phone-1", worker_id="w1", status="approved")
    session.add(dev)
    session.flush()
    at = dt.datetime(2031, 5, 6, 1, 0, tzinfo=dt.UTC)
    session.add(m.Position(recorded_at=at, worker_id="w1", device_id=dev.id, client_id="c1"))
    session.flush()
    with pytest.raises(sa.exc.IntegrityError):
        with session.begin_nested():
            session.add(m.Position(recorded_at=at, worker_id="w1", device_id=dev.id,
                                   client_id="c1"))
            session.flush()


def test_naive_timestamps_are_refused(session):
    from checkins import tables as m

    session.add(m.Township(township_id="t1", name="T", created_at=dt.datetime(2030, 1, 1)))
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.flush()


def test_audit_log_is_append_only(connection):
    from checkins import tables as m

    connection.execute(sa.insert(m.AuditLog).values(
        at=dt.datetime.now(dt.UTC), actor="t", action="a", entity="e", hash="h1"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with connection.begin_nested():
            connection.execute(sa.update(m.AuditLog).values(actor="x"))
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with connection.begin_nested():
            connection.execute(sa.delete(m.AuditLog))
