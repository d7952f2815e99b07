"""Start-up: migrate an empty database, day partitions on PostgreSQL, the maintenance job."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from checkins.db import partitions
from checkins.db.migrate import current_revision, head_revision
from server.bootstrap import database_is_empty, prepare_database, start_maintenance
from server.settings import Settings
from tests.conftest import empty_database


def test_prepare_database_migrates_and_makes_partitions(db_backend, tmp_path):
    with empty_database(db_backend, tmp_path) as url:
        settings = Settings(database_url=url, partition_days_ahead=3)
        engine = prepare_database(settings)
        try:
            assert current_revision(engine) == head_revision()
            assert database_is_empty(engine)
            with engine.connect() as conn:
                names = partitions.list_partitions(conn)
            scheduler = start_maintenance(settings, engine)
            if db_backend == "postgresql":
                today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
                wanted = {partitions.partition_name(today + dt.timedelta(days=d))
                          for d in range(-7, 4)}
                assert wanted | {"position_default"} == set(names)
                assert scheduler is not None
                assert [j.id for j in scheduler.get_jobs()] == ["position_partitions"]
                scheduler.shutdown(wait=False)
            else:
                assert names == [] and scheduler is None
        finally:
            engine.dispose()


def test_demo_on_first_start_is_evaluated_with_demo_logins(db_backend, tmp_path):
    """The run command's demo: the day is judged at once (the office day table is not empty),
    and in development there are office and app logins; in other environments there are none."""
    import sqlalchemy as sa

    from checkins.auth.models import MobileAccount
    from checkins.auth.office_users import authenticate
    from checkins.auth.tokens import verify_password
    from checkins.db.engine import session
    from checkins.evaluation.models import DayResult
    from checkins.township.models import Worker
    from server.bootstrap import load_demo

    for environment in ("development", "test"):
        (tmp_path / environment).mkdir()
        with empty_database(db_backend, tmp_path / environment) as url:
            settings = Settings(database_url=url, environment=environment,
                                secret_key="a-test-secret-that-is-not-the-default",
                                demo_password="demo-pass-1", scheduler_enabled=False)
            engine = prepare_database(settings)
            try:
                counts = load_demo(settings, engine)
                with session(engine) as s:
                    placed = s.scalar(sa.select(sa.func.count()).select_from(Worker))
                    days = s.scalar(sa.select(sa.func.count()).select_from(DayResult))
                    assert counts["days_evaluated"] == days > 0
                    assert days <= placed
                    town = authenticate(s, "town", "demo-pass-1")
                    village = authenticate(s, "v01", "demo-pass-1")
                    accounts = list(s.scalars(sa.select(MobileAccount)))
                    if environment == "development":
                        assert town is not None and town.role == "township_office"
                        assert village is not None and village.village_id == "V01"
                        assert len(accounts) == placed
                        assert verify_password(accounts[0].password_hash, "demo-pass-1")
                    else:
                        assert town is None and village is None and accounts == []
            finally:
                engine.dispose()
