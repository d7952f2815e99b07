"""Shared pieces of the reliability scripts and their smoke tests (loopback only).

* :class:`ServerProc`: a real ``uvicorn server.app:create_app`` process on 127.0.0.1 that can
  be killed with SIGKILL and started again on the same port;
* :func:`seed_phones`: a township, a grid and ``n`` workers with approved phones and login
  sessions, their access tokens minted directly (argon2 logins are not what is tested);
* :func:`fixes`: position items with client ids ``<prefix>-<seq>``;
* :func:`stored_ids` / :func:`stored_counts`: what the database holds;
* :class:`PrivateCluster`: a throwaway PostgreSQL 15 cluster (initdb in a temp dir, its own
  port and socket dir) that may be SIGKILLed and restarted. The shared server on
  127.0.0.1:5432 is never stopped.
"""

from __future__ import annotations

import datetime as dt
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/api/mobile/v1"
SECRET = "reliability-secret-" + "r" * 32
LON0, LAT0 = 121.30, 32.60  # a township of its own, away from other tests' grids
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def bench_database(stack: Any, database_url: str | None, pg_admin_url: str,
                   name: str) -> tuple[str, sa.Engine]:
    """The run's database URL and a migrated engine: ``database_url`` if given, else a
    throwaway PostgreSQL database ``name_*`` on ``pg_admin_url``, dropped when the
    ``ExitStack`` ``stack`` closes."""
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    os.environ["GRIDPATROL_TEST_PG_ADMIN_URL"] = pg_admin_url
    if database_url:
        url = database_url
    else:
        from tests.conftest import throwaway_pg_database

        url = stack.enter_context(throwaway_pg_database(name))
    engine = make_engine(url)
    upgrade(engine)
    return url, engine


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ the API server
class ServerProc:
    """One uvicorn process serving the whole app (``gridpatrol serve``'s app) on loopback."""

    # generous rate limits, so that reliability and load runs measure storage, not throttling
    TEST_LIMITS = {
        "GRIDPATROL_MOBILE_UPLOAD_BURST": "100000", "GRIDPATROL_MOBILE_UPLOAD_PER_S": "100000",
        "GRIDPATROL_MOBILE_LOGIN_BURST": "1000", "GRIDPATROL_MOBILE_LOGIN_PER_MIN": "60000",
        # every simulated phone logs in from 127.0.0.1
        "GRIDPATROL_MOBILE_LOGIN_IP_BURST": "100000",
        "GRIDPATROL_MOBILE_LOGIN_IP_PER_MIN": "6000000",
    }

    def __init__(self, database_url: str, data_dir: Path, *, port: int | None = None,
                 env: dict[str, str] | None = None, workers: int = 1,
                 factory: str = "server.app:create_app", limits: str = "test",
                 log_name: str | None = None) -> None:
        """``limits``: ``test`` (generous, :attr:`TEST_LIMITS`) or ``production`` (the
        settings' defaults: whatever ``GRIDPATROL_MOBILE_*`` limit this process has in its
        environment is dropped, ``env`` may still set one). ``log_name``: the server log's
        file name in ``data_dir`` (default ``server-<port>.log``)."""
        if limits not in ("test", "production"):
            raise ValueError(f"limits: 'test' or 'production', not {limits!r}")
        self.database_url = database_url
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.extra_env = env or {}
        self.workers = workers
        self.factory = factory
        self.limits = limits
        self.log_name = log_name
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """The server's log (stdout and stderr: tracebacks of any 5xx)."""
        return self.data_dir / (self.log_name or f"server-{self.port}.log")

    @property
    def pid(self) -> int | None:
        """Process id of the server (the uvicorn master with ``workers`` > 1)."""
        return self.proc.pid if self.proc is not None else None

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.limits == "production":
            for k in self.TEST_LIMITS:
                env.pop(k, None)
        env.update({
            "DATABASE_URL": self.database_url,
            "GRIDPATROL_ENVIRONMENT": "test", "GRIDPATROL_SECRET_KEY": SECRET,
            "GRIDPATROL_DATA_DIR": str(self.data_dir), "GRIDPATROL_DEMO_ON_EMPTY": "false",
            "GRIDPATROL_LOG_LEVEL": "WARNING", "GRIDPATROL_MOBILE_GRID_CACHE_S": "5",
        })
        if self.limits == "test":
            env.update(self.TEST_LIMITS)
        env.update(self.extra_env)
        return env

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the process and wait until ``/health`` answers 200."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115
        cmd = [sys.executable, "-m", "uvicorn", self.factory, "--factory", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning"]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, start_new_session=True)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                self.stop()
                raise RuntimeError(f"server did not start on {self.url}:\n{tail}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL the server's whole process group (no shutdown, no cleanup)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.kills += 1

    def stop(self) -> None:
        """Stop the server gracefully (SIGTERM, then SIGKILL after 10 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


# ------------------------------------------------------------------ seeding
@dataclass(frozen=True)
class Phone:
    """An approved phone of one worker, with a minted access token."""

    worker_id: str
    device_id: int
    token: str
    lon: float
    lat: float

    @property
    def headers(self) -> dict[str, str]:
        """Authorization and content type of an upload."""
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}


def seed_phones(engine: sa.Engine, n: int, *, tag: str | None = None, ttl_s: int = 6 * 3600
                ) -> list[Phone]:
    """A township ``r<tag>`` with one grid and ``n`` workers with approved phones and sessions."""
    import shapely
    from sqlmodel import Session

    from checkins.auth.models import Device, MobileAccount, MobileSession
    from checkins.auth.tokens import encode_access_token, new_id
    from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

    tag = tag or secrets.token_hex(3)
    off = int(tag, 16) % 400 * 0.01 if all(c in "0123456789abcdef" for c in tag) else 0.0
    lon, lat = LON0 + off, LAT0
    d = 0.01
    phones = []
    with Session(engine) as s:
        s.add(Township(township_id=f"r{tag}", name=f"可靠{tag}"))
        s.flush()
        s.add(Village(village_id=f"rv{tag}", township_id=f"r{tag}", name=f"村{tag}",
                      office=shapely.Point(lon, lat), radius_m=150.0))
        s.flush()
        s.add(Grid(grid_id=f"rg{tag}", village_id=f"rv{tag}", name="网格",
                   geom=shapely.box(lon - d, lat - d, lon + d, lat + d)))
        s.flush()
        workers = [Worker(worker_id=f"r{tag}w{i}", name=f"员{i}", phone=f"177{tag}{i:05d}"[:20],
                          role="fulltime", village_id=f"rv{tag}") for i in range(n)]
        s.add_all(workers)
        s.flush()
        devices = [Device(device_uid=f"r{tag}-dev-{i}", worker_id=w.worker_id, status="approved")
                   for i, w in enumerate(workers)]
        s.add_all(devices)
        s.add_all([GridAssignment(worker_id=w.worker_id, grid_id=f"rg{tag}",
                                  valid_from=dt.date(2020, 1, 1)) for w in workers])
        s.add_all([MobileAccount(worker_id=w.worker_id, password_hash="x", token_version=1)
                   for w in workers])
        s.flush()
        sessions = []
        for w, dev in zip(workers, devices, strict=True):
            sid = new_id()
            sessions.append(MobileSession(id=sid, worker_id=w.worker_id, device_id=dev.id,
                                          token_version=1))
            tok, _ = encode_access_token(secret=SECRET, worker_id=w.worker_id,
                                         device_id=str(dev.id), session_id=sid, token_version=1,
                                         ttl_s=ttl_s)
            phones.append(Phone(w.worker_id, dev.id, tok, lon, lat))
        s.add_all(sessions)
        s.commit()
    return phones


def fixes(phone: Phone, prefix: str, seqs: Sequence[int], t0: dt.datetime, *, step_s: int = 30,
          same_time: bool = False) -> list[dict[str, Any]]:
    """Fix items ``<prefix>-<seq>`` inside the phone's grid, ``step_s`` apart from ``t0``."""
    out = []
    for k in seqs:
        t = t0 if same_time else t0 + dt.timedelta(seconds=step_s * k)
        out.append({"client_id": f"{prefix}-{k}", "seq": k, "kind": "fix",
                    "recorded_at": t.isoformat(), "lon": round(phone.lon + (k % 50) * 1e-5, 7),
                    "lat": round(phone.lat + (k % 37) * 1e-5, 7), "datum": "wgs84",
                    "accuracy_m": 8.0, "speed_mps": 1.0, "mock": False})
    return out


def stored_ids(engine: sa.Engine, device_ids: Sequence[int]) -> dict[int, list[str]]:
    """Client ids stored per device (with repeats, if a fix were ever stored twice)."""
    out: dict[int, list[str]] = {d: [] for d in device_ids}
    with engine.connect() as conn:
        for i in range(0, len(device_ids), 1000):
            chunk = list(device_ids[i:i + 1000])
            rows = conn.execute(sa.text(
                "SELECT device_id, client_id FROM position WHERE device_id IN :d"
            ).bindparams(sa.bindparam("d", expanding=True)), {"d": chunk})
            for d, c in rows:
                out[d].append(c)
    return out


def stored_counts(engine: sa.Engine, device_ids: Sequence[int]) -> tuple[int, int]:
    """(rows, distinct (device, client_id)) stored for these devices."""
    ids = stored_ids(engine, device_ids)
    rows = sum(len(v) for v in ids.values())
    distinct = sum(len(set(v)) for v in ids.values())
    return rows, distinct


# ------------------------------------------------------------------ a private PostgreSQL
def _pg_user() -> str | None:
    """The user to run a private cluster as (initdb refuses root): ``postgres`` when root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise RuntimeError("running as root and there is no 'postgres' user for initdb") from exc
    return "postgres"


class PrivateCluster:
    """A throwaway PostgreSQL 15 cluster in a temp dir on its own port; SIGKILL-able.

    Never touches the shared server on 127.0.0.1:5432.
    """

    def __init__(self, port: int | None = None, settings: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.user = _pg_user()
        self.dir = Path(tempfile.mkdtemp(prefix="gp-pgcrash-"))
        self.data = self.dir / "data"
        self.settings = {"listen_addresses": "'127.0.0.1'", "port": str(self.port),
                         "unix_socket_directories": f"'{self.dir}'", "fsync": "on",
                         "synchronous_commit": "on", "max_connections": "100",
                         "shared_buffers": "64MB"}
        self.settings.update(settings or {})
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the cluster's ``gridpatrol`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gridpatrol"

    def init(self) -> None:
        """initdb, write the settings, start, create the database and PostGIS."""
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        conf = "\n".join(f"{k} = {v}" for k, v in self.settings.items()) + "\n"
        conf_path = self.data / "postgresql.auto.conf"
        self._run("sh", "-c", f"cat >> '{conf_path}' <<'EOF'\n{conf}EOF\n")
        self.start()
        admin = sa.create_engine(self.url.replace("/gridpatrol", "/postgres"),
                                 isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE gridpatrol"))
        admin.dispose()
        eng = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        eng.dispose()

    def start(self, timeout_s: float = 60.0) -> None:
        """pg_ctl start (crash recovery runs here after a kill) and wait for connections."""
        r = self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "pg.log"),
                      "-w", "-t", str(int(timeout_s)), "start", check=False)
        if r.returncode != 0:
            log = (self.dir / "pg.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {r.stdout}{r.stderr}\n{log}")

    def pids(self) -> list[int]:
        """The postmaster and all its children."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return []
        pm = int(pid_file.read_text().split("\n", 1)[0])
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pm)], capture_output=True,
                             text=True).stdout.split()
        return [pm, *(int(p) for p in out)]

    def kill9(self) -> int:
        """SIGKILL the postmaster and every backend at once (a crash); how many processes."""
        pids = self.pids()
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.05)
        # a killed postmaster may linger as a zombie (PID 1 in a container does not always
        # reap), and its pid in postmaster.pid would then block the restart: the process
        # is gone, so its lock file goes too (as after a reboot)
        if not any(_alive(p) for p in pids):
            self._run("rm", "-f", str(self.data / "postmaster.pid"),
                      str(self.dir / f".s.PGSQL.{self.port}.lock"))
        return len(pids)

    def set(self, name: str, value: str) -> None:
        """ALTER SYSTEM and reload."""
        eng = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with eng.connect() as conn:
            conn.execute(sa.text(f"ALTER SYSTEM SET {name} = '{value}'"))
            conn.execute(sa.text("SELECT pg_reload_conf()"))
        eng.dispose()

    def destroy(self) -> None:
        """Stop the cluster (immediate) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
                      check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def start_all(servers: Sequence[ServerProc]) -> None:
    """Start several servers at once (start-up is mostly import time, in parallel)."""
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(len(servers)) as ex:
        for f in [ex.submit(s.start) for s in servers]:
            f.result()
