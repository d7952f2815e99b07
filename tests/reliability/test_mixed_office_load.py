"""Mixed load on a real server process (issue 16): phones uploading, office pages (the
worker-day page writes a track-view audit row), liveness beats and the live job, for a fixed
count of requests each: no 5xx, nothing lost. The longer run: ``bench/office_load.py``."""

from __future__ import annotations

import datetime as dt

from bench.office_load import run_mixed_load, seed_office


def test_mixed_load_has_no_5xx(start_server, phones, migrated_engine) -> None:
    ps = phones(6)
    day = dt.datetime.now(dt.UTC).date()
    vid, token = seed_office(migrated_engine, ps, day)
    srv = start_server(env={"GRIDPATROL_LIVENESS_ENABLED": "true",
                            "GRIDPATROL_LIVENESS_TICK_SECONDS": "1",
                            "GRIDPATROL_OUTAGE_GAP_MINUTES": "1"})
    out = run_mixed_load(srv.url, migrated_engine, ps, village_id=vid, office_token=token,
                         day=day, rounds=6, clerks=3, fixes_per_batch=10)
    assert out["errors"] == [], out
    assert out["server_errors"] == 0
    assert out["status"]["worker_day"] == {200: 18}
    assert out["status"]["upload"] == {200: 36}
    assert out["stored_fixes"] == out["sent_fixes"] == 360
