"""``gridpatrol serve --workers N`` as a real process: answers, and the scheduled jobs run in
exactly one process (the supervisor); the default secrets are refused off localhost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import sqlalchemy as sa

from tests.server.test_cli import _free_port, fresh_db  # noqa: F401 - the fixture


def _env(url: str, tmp_path, **more: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "GRIDPATROL_DATA_DIR": str(tmp_path),
           "GRIDPATROL_LOG_JSON": "true", "GRIDPATROL_DEMO_ON_EMPTY": "false"}
    env.pop("GRIDPATROL_SECRET_KEY", None)
    env.update(more)
    return env


def test_default_secret_refused_off_localhost(tmp_path):
    env = _env(f"sqlite:///{tmp_path}/x.db", tmp_path)
    r = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--host", "0.0.0.0",
                        "--port", str(_free_port())], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "GRIDPATROL_SECRET_KEY" in r.stderr
    assert not (tmp_path / "x.db").exists()  # refused before touching the database
    # the demo's published password too, when the demo would be loaded
    env = _env(f"sqlite:///{tmp_path}/x.db", tmp_path, GRIDPATROL_SECRET_KEY="s" * 40,
               GRIDPATROL_DEMO_ON_EMPTY="true")
    r = subprocess.run([sys.executable, "-m", "server.cli", "serve", "--host", "0.0.0.0",
                        "--port", str(_free_port())], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "GRIDPATROL_DEMO_PASSWORD" in r.stderr


def test_two_workers_one_scheduler(fresh_db, tmp_path):  # noqa: F811
    port = _free_port()
    env = _env(fresh_db, tmp_path, GRIDPATROL_ENVIRONMENT="production",
               GRIDPATROL_SECRET_KEY="serve-workers-test-" + "k" * 24,
               GRIDPATROL_ADMIN_TOKEN="workers-admin-token",
               GRIDPATROL_SCHEDULER_ENABLED="true", GRIDPATROL_LIVE_CHECK_MINUTES="0.02",
               GRIDPATROL_LIVENESS_ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--workers", "2",
                             "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 180  # spawned workers import the app: slow on a loaded machine
        ok = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
                if ok:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ok, proc.stdout.read() if proc.poll() is not None else "no answer"
        for _ in range(20):  # both workers answer (the kernel spreads the connections)
            assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        from checkins.db.engine import make_engine

        engine = make_engine(fresh_db)
        hosts: list[str] = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                hosts = list(conn.scalars(sa.text(
                    "SELECT host FROM job_run WHERE name = 'live_checks'")))
            if len(hosts) >= 4:
                break
            time.sleep(0.5)
        engine.dispose()
        # every run by the supervisor: no worker process runs a scheduler
        assert len(hosts) >= 4 and set(hosts) == {f"{socket.gethostname()}:{proc.pid}"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "workers" in out
