"""Going live as docs/go-live.md tells it, through a real server process on the run's backend.

Empty database -> ``gridpatrol import grids`` and ``import roster`` (the township's own
files) -> ``office-user add`` -> ``accounts issue --out codes.xlsx`` -> ``gridpatrol serve``
(a subprocess on 127.0.0.1, a free port, production environment) -> the worker activates in
the phone simulator with the printed code -> the village office approves the phone through the
office API -> the phone uploads a working day (sign-in, two patrols, fixes and heartbeats,
one offline spell) -> the nightly job -> the stored day results equal ``gridpatrol evaluate``
on the same data as files (same verdicts, same seconds).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlmodel import Session
from typer.testing import CliRunner

from checkins.evaluation.files import evaluate_files
from checkins.evaluation.models import DayResult
from checkins.jobs.models import JobRun
from mobile_api_spec.simulator import PhoneSimulator, TrackPoint, synthetic_track
from server.cli import app as cli
from server.settings import Settings, get_settings
from tests.checkins.factories import LAT0, LON0, ROSTER, D, as_bytes, township_doc
from tests.checkins.jobs.dbfiles import export_day_files
from tests.conftest import empty_database
from tests.server.test_cli import _free_port

TZ = "Asia/Shanghai"
SECRET = "go-live-test-secret-" + "q" * 24
OFFICE_PW = "village office pw 1"
NEW_PW = "my own password 9"


def _last_weekday_before_today() -> dt.date:
    d = dt.datetime.now(ZoneInfo(TZ)).date() - dt.timedelta(days=1)
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


def _run(*args: str) -> str:
    get_settings.cache_clear()
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _start(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180  # a loaded machine imports slowly
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError(proc.communicate()[0][-3000:])


def test_go_live_from_an_empty_database_to_the_first_judged_day(db_backend, tmp_path,
                                                                 monkeypatch):
    day = _last_weekday_before_today()
    z = ZoneInfo(TZ)
    with empty_database(db_backend, tmp_path) as url:
        env = {"DATABASE_URL": url, "GRIDPATROL_DATA_DIR": str(tmp_path / "data"),
               "GRIDPATROL_ENVIRONMENT": "production", "GRIDPATROL_SECRET_KEY": SECRET,
               "GRIDPATROL_DEMO_ON_EMPTY": "false", "GRIDPATROL_LOG_JSON": "false",
               "GRIDPATROL_LOG_LEVEL": "WARNING", "GRIDPATROL_TIMEZONE": TZ,
               "GRIDPATROL_TOWNSHIP_ID": "golive", "GRIDPATROL_TOWNSHIP_NAME": "上线镇",
               # the test runs the nightly job itself, as the scheduler would at 01:30
               "GRIDPATROL_SCHEDULER_ENABLED": "false"}
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        # 1. the township's own files
        (tmp_path / "grids.geojson").write_bytes(as_bytes(township_doc()))
        (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
        _run("import", "grids", str(tmp_path / "grids.geojson"))
        _run("import", "roster", str(tmp_path / "roster.csv"), "--valid-from",
             (day - dt.timedelta(days=30)).isoformat())
        _run("office-user", "add", "xicun", "--role", "village_office", "--village", "V2",
             "--password", OFFICE_PW)
        # 2. activation codes, printed per village
        _run("accounts", "issue", "--out", str(tmp_path / "codes.xlsx"))
        wb = load_workbook(tmp_path / "codes.xlsx")
        lines = {row[1]: row for ws in wb.worksheets
                 for row in ws.iter_rows(min_row=3, values_only=True)}
        assert set(lines) == {"w01", "w02", "w03", "w04"}
        name, wid, phone, code, _ = lines["w03"]  # parttime: signs in and patrols
        assert (name, phone) == ("王五", "13800000003")
        # 3. the server
        port = _free_port()
        proc = _start({**os.environ, **env}, port)
        base = f"http://127.0.0.1:{port}"
        try:
            sim = PhoneSimulator(base, phone=phone, password="-", device_uid="golive-phone-01")
            first = sim.activate(code, NEW_PW)
            assert first["device_status"] == "pending" and first["tokens"] is None
            # the village office approves the phone
            tok = httpx.post(f"{base}/api/office/login", json={
                "username": "xicun", "password": OFFICE_PW}).json()["token"]
            office = {"Authorization": f"Bearer {tok}"}
            pending = httpx.get(f"{base}/api/office/devices", params={"status": "pending"},
                                headers=office).json()
            assert [d_["worker_id"] for d_ in pending] == ["w03"]
            r = httpx.post(f"{base}/api/office/devices/{pending[0]['id']}/decision",
                           json={"decision": "approve", "reason": "本人手机，已核对"},
                           headers=office)
            assert r.status_code == 200, r.text
            # 4. a working day from the phone
            sim.login()
            cx, cy = LON0 + 2.5 * D, LAT0 + 0.5 * D  # 西村's office, inside grid G3
            at = lambda h, m: dt.datetime.combine(day, dt.time(h, m), tzinfo=z)  # noqa: E731
            res = sim.signin(TrackPoint(t=at(8, 25), lon=cx, lat=cy, accuracy_m=8.0))
            assert res["status"] == "ok", res
            for start, stop, seed in ((at(8, 40), at(11, 40), 1), (at(14, 20), at(17, 20), 2)):
                patrol = sim.start_patrol(start)
                track = list(synthetic_track(cx, cy, start, 360, step_s=30, step_m=12,
                                             seed=seed))
                off_a, off_b = start + dt.timedelta(minutes=70), start + dt.timedelta(minutes=110)
                sim.replay(track, speed=0, upload_every_s=300, heartbeat_every_s=600,
                           offline=(lambda t, a=off_a, b=off_b: a <= t < b) if seed == 1
                           else None)
                sim.stop_patrol(patrol["id"], stop)
            assert sim.buffer == [] and sim.stats.rejected == 0 and sim.stats.failures == 0
            assert sim.stats.accepted == sim.stats.created > 720
            sim.close()
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=30)
        assert "Traceback" not in out, out[-3000:]
        # 5. the nightly job (the scheduler's runner), the next night at 01:30
        from checkins.db.engine import make_engine
        from server.scheduler import run_named_job

        settings = Settings()
        engine = make_engine(url)
        night = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(1, 30), tzinfo=z)
        job = run_named_job("nightly_evaluation", settings, engine, now=night)
        assert job["status"] == "ok", job
        # 6. the stored day equals gridpatrol evaluate on the same data as files
        with Session(engine) as s:
            stored = {r_.worker_id: r_.result for r_ in s.scalars(
                sa.select(DayResult).where(DayResult.work_date == day))}
            export_day_files(s, day, tmp_path / "files", TZ)
            assert s.scalar(sa.select(sa.func.count()).select_from(JobRun).where(
                JobRun.name == "nightly_evaluation", JobRun.ok.is_(True))) == 1
        engine.dispose()
        f = tmp_path / "files"
        files = evaluate_files(grids=f / "grids.geojson", roster=f / "roster.csv",
                               positions=[str(f / "positions.csv")], signins=f / "signins.csv",
                               patrols=f / "patrols.csv", exemptions=f / "exemptions.csv",
                               date_from=day, date_to=day, profile=settings.profile)
        judged = {e["worker_id"]: e for e in files["days"]}
        assert set(stored) == set(judged) == {"w01", "w02", "w03"}  # w04 has no grid
        for w in judged:
            # the nightly job lists the day's cases (none in this guide); the file flow lists
            # them only when given --cases
            mine = {k: v for k, v in stored[w].items() if k not in ("cases", "reports")}
            assert stored[w].get("cases", []) == []
            assert json.dumps(mine, sort_keys=True) == json.dumps(judged[w], sort_keys=True)
        w03 = stored["w03"]
        assert w03["signin"]["status"] == "ok"
        assert sum(p["in_grid_s"] for p in w03["patrols"].values()) > 3 * 3600
