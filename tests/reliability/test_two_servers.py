"""Two stateless API processes on one database (as behind a load balancer), both running the
scheduler: phones alternate between them on every upload; stored == sent, nothing stored
twice, and the scheduled jobs ran but never two runs of one job at the same time
(smoke of ``bench/reliability/load.py --servers 2``)."""

from __future__ import annotations

import datetime as dt

from bench.reliability.harness import ServerProc, start_all
from bench.reliability.load import job_runs, run_load, scheduler_env, verify


def test_two_server_processes_alternate_store_each_fix_once_jobs_run_one_at_a_time(
        migrated_engine, phones, tmp_path):
    url = migrated_engine.url.render_as_string(hide_password=False)
    servers = [ServerProc(url, tmp_path / f"s{i}", env=scheduler_env(1.0)) for i in range(2)]
    try:
        start_all(servers)
        since = dt.datetime.now(dt.UTC)
        ph = phones(20)
        out = run_load([s.url for s in servers], ph, seconds=6, every_s=1.0, per_batch=5,
                       processes=1, run="two")
        jobs = job_runs(migrated_engine, since)
    finally:
        for s in servers:
            s.stop()
    assert verify(migrated_engine, ph, out) == []
    assert out["failures"] == 0 and out["stored"] == out["fixes_sent"] > 0
    a, b = out["uploads_per_server"]
    assert a > 0 and b > 0 and abs(a - b) <= len(ph)  # every phone alternated
    # the jobs ran (their success is tests/checkins/jobs' business) and never two runs at once
    assert jobs.get("live_checks", {}).get("runs", 0) >= 2
    assert all(j["ok"] + j["failed"] >= j["runs"] - 1 for j in jobs.values())  # at most one running
    assert all(j["overlaps"] == 0 for j in jobs.values())
