"""Fixtures of the browser tests: Debian's Chromium and a real server with the demo township.

One server per test package run (``scope="package"``): loading and judging the demo is the
slow part. ``/usr/bin/chromium`` driven by Playwright (never ``playwright install``). The
server runs on 127.0.0.1 on a fresh database of the selected backend (SQLite file or a
throwaway PostgreSQL database), loaded with the demo township, its day evaluated by
:func:`checkins.evaluation.flows.evaluate_date`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bench.reliability.harness import ServerProc
from tests.conftest import empty_database

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=zh-CN"]
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "browser"
SECRET = "browser-test-secret-" + "z" * 24
PASSWORD = "demo office pw 1"

# scripts/test.sh installs Debian's chromium; with CI=true (GRIDPATROL_REQUIRE_BROWSER=true)
# a missing browser is a failure, never a skip.
if not Path(CHROMIUM).exists() and os.environ.get("GRIDPATROL_REQUIRE_BROWSER") == "true":
    raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")


@dataclass
class Demo:
    url: str
    day: dt.date
    village_id: str
    leave_worker: str
    leave_worker_name: str
    exemption_id: int



def _prepare(url: str) -> dict:
    """Migrate, load the demo, evaluate its day, add office users and a leave request."""
    from checkins import tables as m
    from checkins.auth.office_users import create_office_user
    from checkins.evaluation.flows import evaluate_date
    from server.bootstrap import load_demo, prepare_database
    from server.settings import Settings

    settings = Settings(environment="test", secret_key=SECRET, database_url=url)
    engine = prepare_database(settings)
    try:
        load_demo(settings, engine)
        with Session(engine) as s:
            tz = ZoneInfo(s.scalar(sa.select(m.Township.timezone)))
            day = s.scalar(sa.select(sa.func.max(m.Signin.signed_at))).astimezone(tz).date()
            evaluate_date(s, day)
            # a village office user of V01, and a sick-leave request of a V01 worker that day
            # whose day has deductions (approving it must change the day table)
            create_office_user(s, username="v01", password=PASSWORD, role="village_office",
                               village_id="V01")
            create_office_user(s, username="town", password=PASSWORD, role="township_office")
            rows = s.execute(sa.select(m.DayResult, m.Worker).join(
                m.Worker, m.Worker.worker_id == m.DayResult.worker_id).where(
                m.Worker.village_id == "V01", m.DayResult.work_date == day)
                .order_by(m.Worker.worker_id)).all()
            target = next((w for r, w in rows if r.result.get("deductions")
                           and r.result["patrols"]["am"]["status"] != "exempt"), rows[0][1])
            start = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
            e = m.Exemption(worker_id=target.worker_id, kind="sick_leave", start_at=start,
                            end_at=start + dt.timedelta(days=1), status="requested",
                            note="发烧就医", requested_by=target.worker_id)
            s.add(e)
            s.commit()
            return {"day": day, "worker": target.worker_id, "name": target.name,
                    "exemption_id": e.id}
    finally:
        engine.dispose()


@pytest.fixture(scope="package")
def demo(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("browser")
    with empty_database(db_backend, tmp) as url:
        info = _prepare(url)
        srv = ServerProc(url, tmp / "data",
                         env={"GRIDPATROL_SECRET_KEY": SECRET,
                              "GRIDPATROL_SCHEDULER_ENABLED": "false"})
        srv.start(timeout_s=120)  # a shared 2-core machine can take a while
        try:
            yield Demo(url=srv.url, day=info["day"], village_id="V01", leave_worker=info["worker"],
                       leave_worker_name=info["name"], exemption_id=info["exemption_id"])
        finally:
            srv.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()
