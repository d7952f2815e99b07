"""Jobs: run once under a lock, recorded in job_run, failures visible, the nightly run on
a committed demo day equals ``gridpatrol evaluate`` on the same data as files."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import uuid
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.evaluation.files import evaluate_files
from checkins.evaluation.models import DayResult
from checkins.jobs.models import JobRun
from checkins.jobs.scheduled import run_job, try_lock
from server.settings import Settings
from tests.checkins.jobs.conftest import DAY, TZ, behaviour_worker
from tests.checkins.jobs.dbfiles import export_day_files
from tests.conftest import empty_database

TOKEN = "jobs-test-token"


@pytest.fixture
def job_name(migrated_engine):
    """A job name of this test only; its job_run rows are removed afterwards."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    yield name
    with migrated_engine.begin() as conn:
        conn.execute(sa.delete(JobRun).where(JobRun.name.like(f"{name}%")))


def _runs(engine, name):
    with Session(engine) as s:
        return list(s.scalars(sa.select(JobRun).where(JobRun.name == name).order_by(JobRun.id)))


def test_two_threads_never_run_a_job_twice(migrated_engine, job_name):
    started, release = threading.Event(), threading.Event()
    calls = []

    def slow(_session):
        calls.append(threading.get_ident())
        started.set()
        assert release.wait(120)
        return {"done": True}

    out = {}
    first = threading.Thread(target=lambda: out.setdefault("a", run_job(
        migrated_engine, job_name, slow, holder="thread-a")))
    first.start()
    assert started.wait(120)
    out["b"] = run_job(migrated_engine, job_name, slow, holder="thread-b")
    release.set()
    first.join(120)
    assert out["b"]["status"] == "locked"
    assert out["a"]["status"] == "ok"
    assert len(calls) == 1
    [run] = _runs(migrated_engine, job_name)
    assert run.ok is True and run.host == "thread-a" and run.summary == {"done": True}
    # the lock is free again afterwards
    assert run_job(migrated_engine, job_name, lambda s: None)["status"] == "ok"


def test_another_process_does_not_run_a_locked_job(migrated_engine, job_name):
    url = migrated_engine.url.render_as_string(hide_password=False)
    code = (
        "import sys; from checkins.db.engine import make_engine; "
        "from checkins.jobs.scheduled import run_job; "
        f"out = run_job(make_engine({url!r}), {job_name!r}, lambda s: {{'ran': True}}); "
        "print(out['status'])"
    )
    lock = try_lock(migrated_engine, job_name, holder="main-process")
    assert lock is not None
    try:
        busy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=600)
        assert busy.stdout.strip() == "locked", busy.stderr
    finally:
        lock.release()
    free = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600)
    assert free.stdout.strip() == "ok", free.stderr
    assert [r.ok for r in _runs(migrated_engine, job_name)] == [True]


def test_a_key_that_already_ran_is_not_run_again(migrated_engine, job_name):
    calls = []
    assert run_job(migrated_engine, job_name, calls.append, key="2026-11-23")["status"] == "ok"
    assert run_job(migrated_engine, job_name, calls.append,
                   key="2026-11-23")["status"] == "done_before"
    assert run_job(migrated_engine, job_name, calls.append, key="2026-11-24")["status"] == "ok"
    assert len(calls) == 2


def test_a_failing_job_is_recorded_and_visible_and_others_still_run(migrated_engine, job_name):
    from server.app import create_app

    def broken(_session):
        raise RuntimeError("grid table is on fire")

    failed = run_job(migrated_engine, f"{job_name}_broken", broken)
    fine = run_job(migrated_engine, f"{job_name}_fine", lambda s: {"n": 1})
    assert failed["status"] == "failed" and "grid table is on fire" in failed["error"]
    assert fine["status"] == "ok"
    [run] = _runs(migrated_engine, f"{job_name}_broken")
    assert run.ok is False and run.finished_at is not None
    assert "RuntimeError: grid table is on fire" in run.error
    settings = Settings(environment="test", secret_key="jobs-secret", admin_token=TOKEN)
    app = create_app(settings, migrated_engine)
    with TestClient(app) as client:
        assert client.get("/api/jobs").status_code == 401
        body = client.get("/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    jobs = {j["name"]: j for j in body["jobs"]}
    assert body["scheduler"] == "off"  # the test environment does not start it
    assert jobs[f"{job_name}_broken"]["state"] == "failed"
    assert "grid table is on fire" in jobs[f"{job_name}_broken"]["runs"][0]["error"]
    assert jobs[f"{job_name}_broken"]["last_failure_at"] is not None
    assert jobs[f"{job_name}_fine"]["state"] == "ok"


def test_the_app_lifespan_starts_and_stops_the_scheduler(migrated_engine, db_backend):
    from server.app import create_app

    settings = Settings(environment="test", secret_key="jobs-secret", admin_token=TOKEN,
                        scheduler_enabled=True, live_check_minutes=60)
    app = create_app(settings, migrated_engine)
    with TestClient(app) as client:
        scheduler = app.state.scheduler
        assert scheduler is not None and scheduler.running
        ids = {j.id for j in scheduler.get_jobs()}
        body = client.get("/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert not scheduler.running
    wanted = {"live_checks", "reevaluation", "nightly_evaluation", "position_retention",
              "nightly_backup"}
    if db_backend == "postgresql":
        wanted.add("position_partitions")
    assert ids == wanted
    assert body["scheduler"] == "running"
    nxt = {j["name"]: j["next_run_at"] for j in body["jobs"]}
    assert all(nxt[n] for n in wanted)
    assert body["backups"]["keep"] == settings.backup_keep  # the nightly copies kept


@pytest.fixture(scope="module")
def demo_db(db_backend, tmp_path_factory):
    """A database of its own with the demo day loaded and committed (the nightly run's view)."""
    from server.bootstrap import load_demo, prepare_database

    with empty_database(db_backend, tmp_path_factory.mktemp("demo_db")) as url:
        settings = Settings(database_url=url, environment="test", secret_key="jobs-secret",
                            timezone=TZ)
        engine = prepare_database(settings)
        try:
            load_demo(settings, engine, seed=7, day=DAY)
            yield settings, engine
        finally:
            engine.dispose()


def test_nightly_job_equals_evaluate_on_the_exported_files(demo_db, demo, tmp_path):
    from server.scheduler import run_named_job

    settings, engine = demo_db
    night = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(1, 30), tzinfo=ZoneInfo(TZ))
    out = run_named_job("nightly_evaluation", settings, engine, now=night)
    assert out["status"] == "ok", out
    assert out["summary"]["date"] == DAY.isoformat()
    assert run_named_job("nightly_evaluation", settings, engine,
                         now=night)["status"] == "done_before"
    with Session(engine) as s:
        rows = {r.worker_id: r for r in s.scalars(sa.select(DayResult).where(
            DayResult.work_date == DAY))}
        export_day_files(s, DAY, tmp_path, TZ)
    files = evaluate_files(
        grids=tmp_path / "grids.geojson", roster=tmp_path / "roster.csv",
        positions=[str(tmp_path / "positions.csv")], signins=tmp_path / "signins.csv",
        patrols=tmp_path / "patrols.csv", exemptions=tmp_path / "exemptions.csv",
        cases=tmp_path / "cases.csv", date_from=DAY, date_to=DAY, profile=demo.profile)
    assert len(rows) == len(files["days"]) == sum(1 for w in demo.workers if w.grid_id)

    def same_district(e):  # the file's district is every grid exported, the DB's the township's
        return {**e, "reports": {**e["reports"], "grid_count": None}}

    for entry in files["days"]:
        assert same_district(rows[entry["worker_id"]].result) == same_district(entry)
        assert rows[entry["worker_id"]].provisional is True


def test_reevaluation_and_live_jobs_on_the_committed_day(demo_db, demo):
    from server.scheduler import run_named_job

    settings, engine = demo_db
    wid = behaviour_worker(demo, "phone_off")
    with engine.begin() as conn:
        conn.execute(sa.update(DayResult).where(DayResult.worker_id == wid,
                                                DayResult.work_date == DAY)
                     .values(needs_reevaluation=True))
    out = run_named_job("reevaluation", settings, engine)
    assert out["status"] == "ok" and out["summary"]["items"] == [f"{wid}@{DAY}"]
    live = run_named_job("live_checks", settings, engine,
                         now=dt.datetime.combine(DAY, dt.time(15, 50), tzinfo=ZoneInfo(TZ)))
    assert live["status"] == "ok" and live["summary"]["opened"] >= 1
    with pytest.raises(ValueError, match="unknown job"):
        run_named_job("no_such_job", settings, engine)


def test_evaluate_day_command_runs_the_flow_by_hand(demo_db, demo):
    import json
    import os

    settings, engine = demo_db
    village = demo.workers[0].village_id
    env = {**os.environ, "DATABASE_URL": settings.resolved_database_url,
           "GRIDPATROL_LOG_LEVEL": "WARNING", "GRIDPATROL_ENVIRONMENT": "test",
           "GRIDPATROL_SECRET_KEY": "jobs-secret"}
    cmd = [sys.executable, "-m", "server.cli", "evaluate-day", "--date", DAY.isoformat()]
    done = subprocess.run([*cmd, "--village", village], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    ids = {w.worker_id for w in demo.workers if w.village_id == village and w.grid_id}
    assert summary["village"] == village and summary["worker_days"] == len(ids)
    assert sum(summary["signin"].values()) == len(ids)
    assert summary["spoof_review_flags"] == 0  # the demo's tracks raise none (docs/security.md §8)
    bad = subprocess.run([*cmd[:-1], "2026-13-01"], capture_output=True, text=True, env=env,
                         timeout=600)
    assert bad.returncode == 2 and "not a date" in bad.stderr
    nobody = subprocess.run([*cmd, "--village", "nope"], capture_output=True, text=True,
                            env=env, timeout=600)
    assert nobody.returncode == 2 and "does not exist" in nobody.stderr
