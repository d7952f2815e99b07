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
