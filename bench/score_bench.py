"""Benchmark of period scores at county scale (issue 21): stored sums against the old full path.

Seeds N workers x D judged days (default 5,000 x 62, the weekdays of 2026Q1 from 5 January)
into a throwaway PostgreSQL database, and 500 x D into a SQLite file, with bulk inserts, then:

* ``build_s``: the first build of the period sums from the stored days (once per period; after
  it every save of a day keeps them current);
* through a real server (``gridpatrol serve`` in a subprocess): ``GET /api/mobile/v1/me/score``
  p50/p99 over ``--requests`` calls cycling over 20 logged-in workers (the first call after a
  change computes the township's ranking from the sums; the rest reuse it), the township ranking
  page ``/office/township/periods/P`` (first and repeated), one sheet with its day-by-day trail
  (``/api/township/periods/P/sheets/W``), the xlsx export; the server's peak RSS growth
  (``VmHWM``) over all requests;
* ``nightly``: one more working day saved for every worker through the ORM (what the nightly
  run's save does) with the sums hook, and the same without it: the difference is what keeping
  the sums current adds to a nightly run;
* ``baseline``: the old path, kept callable: ``checkins.scores.service.compute`` (every day of
  the township read, parsed and scored: what every view of an open period did before), for one
  sheet; in a child process, its time and peak RSS.

Run (a documented command, not a timed test)::

    uv run python bench/score_bench.py [--workers 5000] [--sqlite-workers 500] [--days 62]
        [--backend both|postgresql|sqlite] [--requests 200] [--no-baseline] [--no-verify]

Writes ``bench/out/score_bench.json`` (``workers``, ``days``, ``me_score_p99_ms``,
``ranking_ms`` of the PostgreSQL run, and every figure per backend). Figures are in
``docs/performance.md`` ("Period scores at county scale").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("GRIDPATROL_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PERIOD = "2026Q1"
TOWN = "benchT"
ADMIN = "score-bench-admin-token"
PASSWORD = "bench-password-1"
PER_VILLAGE = 50


def workdays(n: int) -> list[dt.date]:
    out, d = [], dt.date(2026, 1, 5)
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def entry(wid: str, date: dt.date, role: str, k: int) -> dict[str, Any]:
    """A judged day in the ``evaluate`` shape; findings vary with ``k`` (a few per worker)."""
    iso = f"{date.isoformat()}T"
    pm = "short" if k % 11 == 0 else "missing" if k % 37 == 0 else "ok"
    signin = "late" if k % 13 == 0 else "ok"
    phone_off = ([{"rule": "GEO-PHONEOFF", "start": iso + "15:00:00+08:00", "end": iso + "15:40:00+08:00",
                   "duration_s": 2400, "cause": "silent"}] if k % 17 == 0 else [])
    return {"worker_id": wid, "date": date.isoformat(), "role": role, "grid_id": f"g-{wid}",
            "working_day": True,
            "patrols": {"am": {"rule": "YK-PATROL", "status": "ok", "in_grid_s": 7260, "started_in_app": True},
                        "pm": {"rule": "YK-PATROL", "status": pm, "in_grid_s": 7300 if pm == "ok" else 3000,
                               "started_in_app": k % 19 != 0}},
            "signin": {"rule": "GEO-SIGNIN", "status": signin if role == "parttime" else "not_required",
                       "at": iso + "08:41:00+08:00" if role == "parttime" else None},
            "offpost": [], "phone_off": phone_off, "suspect_fixes": 0, "suspect_fix_details": [],
            "online_rate": 0.9 + (k % 10) / 100, "duty_s": 28800, "deductions": []}


def role_of(i: int) -> str:
    j = i % PER_VILLAGE
    return "head" if j == 0 else "fulltime" if j < 3 else "parttime"


def seed(engine: sa.Engine, n: int, days: list[dt.date]) -> dict[str, float]:
    """Township, villages, workers, D day results each (bulk inserts), 20 phone accounts."""
    from sqlmodel import Session

    from checkins import tables as m
    from checkins.auth import phone as auth

    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.insert(m.Township.__table__), [{"township_id": TOWN, "name": "压测镇",
                                                        "profile": "yangkou-2022"}])
        villages = [{"village_id": f"bV{v:03d}", "township_id": TOWN, "name": f"村{v}"}
                    for v in range((n + PER_VILLAGE - 1) // PER_VILLAGE)]
        conn.execute(sa.insert(m.Village.__table__), villages)
        conn.execute(sa.insert(m.Worker.__table__), [
            {"worker_id": f"bw{i:05d}", "name": f"网格员{i}", "role": role_of(i), "active": True,
             "phone": f"139{i:08d}", "village_id": f"bV{i // PER_VILLAGE:03d}"} for i in range(n)])
    evaluated = dt.datetime(2026, 4, 2, tzinfo=dt.UTC)

    def day_rows(i: int) -> Any:
        wid = f"bw{i:05d}"
        for j, d in enumerate(days):
            yield wid, d, json.dumps(entry(wid, d, role_of(i), i * 7 + j), ensure_ascii=False)

    # bulk, no ORM hook (the sums are built afterwards): COPY on PostgreSQL, the driver's
    # executemany on SQLite (SQLAlchemy's per-row JSON binding took most of the 13+ minutes)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            cols = "worker_id, work_date, result, provisional, evaluated_at, needs_reevaluation"
            with cur.copy(f"COPY day_result ({cols}) FROM STDIN") as cp:
                for i in range(n):
                    for wid, d, doc in day_rows(i):
                        cp.write_row((wid, d, doc, False, evaluated, False))
        else:
            batch: list[tuple[Any, ...]] = []
            for i in range(n):
                batch.extend((wid, d.isoformat(), doc, 0, evaluated.strftime("%Y-%m-%d %H:%M:%S.%f"), 0)
                             for wid, d, doc in day_rows(i))
                if len(batch) >= 20_000 or i == n - 1:
                    cur.executemany("INSERT INTO day_result (worker_id, work_date, result, provisional,"
                                    " evaluated_at, needs_reevaluation) VALUES (?, ?, ?, ?, ?, ?)", batch)
                    batch = []
        raw.commit()
    finally:
        raw.close()
    with Session(engine) as s:
        for i in range(20):
            auth.set_password(s, f"bw{i * (n // 20):05d}", PASSWORD)
            auth.register_device(s, worker_id=f"bw{i * (n // 20):05d}", device_uid=f"bdev{i}",
                                 approved=True, actor="bench")
        s.commit()
    return {"seed_s": round(time.perf_counter() - t0, 1), "day_results": n * len(days)}


def _child(fn_name: str, url: str, q: Any, *args: Any) -> None:
    """Run a measured function in a fresh process: its time and peak RSS growth."""
    os.environ["DATABASE_URL"] = url
    import sqlmodel  # noqa: F401  (imported before the clock starts: not the measured cost)
    from sqlalchemy.orm import configure_mappers

    import checkins.evaluation.sums  # noqa: F401
    import checkins.scores.service  # noqa: F401
    import checkins.tables  # noqa: F401
    from checkins.db.engine import make_engine

    configure_mappers()
    engine = make_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    out = globals()[fn_name](engine, *args)
    q.put({"s": round(time.perf_counter() - t0, 3), "peak_rss_mb": round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_growth_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, 1),
        **(out or {})})
    engine.dispose()


def in_child(fn_name: str, url: str, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(fn_name, url, q, *args))
    p.start()
    out = q.get()
    p.join()
    return out


def old_sheet(engine: sa.Engine, worker_id: str) -> dict[str, Any]:
    """The old path of one sheet: the whole township's days read, parsed and scored."""
    from sqlmodel import Session

    from checkins.scores import service as svc
    from checkins.township.models import Township
    from scoring.items import parse_period

    with Session(engine) as s:
        t = s.get(Township, TOWN)
        result, _ = svc.compute(s, t, parse_period(PERIOD))  # with tiers and payouts
        sheet = result.by_subject()[worker_id]
        return {"total": float(sheet.total), "tier": sheet.tier}


def new_sheet(engine: sa.Engine, worker_id: str) -> dict[str, Any]:
    """The new path of the same sheet, cold (a fresh process: the ranking is computed once)."""
    from sqlmodel import Session

    from checkins.scores import service as svc

    with Session(engine) as s:
        got = svc.worker_period_sheet(s, worker_id, PERIOD)["sheet"]
        return {"total": got["total"], "tier": got["tier"]}


def old_close(engine: sa.Engine) -> dict[str, Any]:
    """What closing the period computed before: every day of the township read and scored at
    once (with the inputs digest); nothing is stored."""
    from sqlmodel import Session

    from checkins.scores import service as svc
    from checkins.township.models import Township
    from scoring.items import parse_period

    with Session(engine) as s:
        t = s.get(Township, TOWN)
        result, inputs = svc.compute(s, t, parse_period(PERIOD), digest=True)
        return {"sheets": len(result.sheets), "digest": inputs.digest}


def new_close(engine: sa.Engine) -> dict[str, Any]:
    """What closing computes now: the sums for ranks and tiers, one streamed pass over the
    days for the trails and the digest; nothing is stored."""
    from sqlmodel import Session

    from checkins.scores import service as svc
    from checkins.township.models import Township
    from scoring.items import parse_period

    with Session(engine) as s:
        t = s.get(Township, TOWN)
        doc, summary = svc.closing_doc(s, t, parse_period(PERIOD), svc.township_profile(t))
        return {"sheets": len(doc["sheets"]), "digest": summary["digest"]}


def build_sums(engine: sa.Engine) -> dict[str, Any]:
    from sqlmodel import Session

    from checkins.evaluation.sums import verify_period

    with Session(engine) as s:
        out = verify_period(s, PERIOD, TOWN, rebuild=True)
        s.commit()
    return {"built": out["rebuilt"]}


def verify_sums(engine: sa.Engine) -> dict[str, Any]:
    from sqlmodel import Session

    from checkins.evaluation.sums import verify_period

    with Session(engine) as s:
        return {"differences": verify_period(s, PERIOD, TOWN)["differences"]}


def nightly(engine: sa.Engine, n: int, date: str, hook: bool) -> dict[str, Any]:
    """One more day for every worker saved through the ORM, as the nightly run saves them."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session as OrmSession
    from sqlmodel import Session

    from checkins import tables as m
    from checkins.evaluation import sums

    if not hook:
        event.remove(OrmSession, "before_flush", sums._day_results_flushed)
    d = dt.date.fromisoformat(date)
    with Session(engine) as s:  # a first flush warms the session and the statement caches
        wid = "bw00000"
        s.add(m.DayResult(worker_id=wid, work_date=d + dt.timedelta(days=1),
                          result=entry(wid, d, role_of(0), 1), provisional=True))
        s.flush()
        s.rollback()
    with Session(engine) as s:
        t0 = time.perf_counter()
        for i in range(n):
            wid = f"bw{i:05d}"
            s.add(m.DayResult(worker_id=wid, work_date=d, result=entry(wid, d, role_of(i), i + 3),
                              provisional=True))
        s.flush()
        took = time.perf_counter() - t0
        s.rollback()  # measured, not kept: the next run sees the same database
    return {"save_s": round(took, 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def through_server(url: str, n: int, requests: int, tmp: str) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "GRIDPATROL_DATA_DIR": tmp, "GRIDPATROL_LOG_LEVEL": "warning",
           "GRIDPATROL_ADMIN_TOKEN": ADMIN, "GRIDPATROL_LOG_JSON": "true"}
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {}
    try:
        c = httpx.Client(base_url=base, timeout=600)
        deadline = time.monotonic() + 120
        while True:
            try:
                c.get("/health")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.3)
        # the server runs as a child of the CLI process or itself: measure the process listening
        pid = proc.pid
        start_hwm = hwm_mb(pid)
        tokens = []
        for i in range(20):
            r = c.post("/api/mobile/v1/auth/login", json={"phone": f"139{i * (n // 20):08d}",
                                                          "password": PASSWORD, "device_uid": f"bdev{i}"})
            r.raise_for_status()
            tokens.append({"Authorization": f"Bearer {r.json()['access_token']}"})
        office = {"Authorization": f"Bearer {ADMIN}"}

        def timed(method: str, path: str, headers: dict[str, str]) -> tuple[float, httpx.Response]:
            t0 = time.perf_counter()
            r = c.request(method, path, headers=headers)
            ms = (time.perf_counter() - t0) * 1000
            r.raise_for_status()
            return ms, r

        ms, _ = timed("GET", f"/api/mobile/v1/me/score?period={PERIOD}", tokens[0])
        out["me_score_first_ms"] = round(ms, 1)  # computes the township's ranking from the sums
        times = [timed("GET", f"/api/mobile/v1/me/score?period={PERIOD}", tokens[k % 20])[0]
                 for k in range(requests)]
        qs = statistics.quantiles(times, n=100)
        out["me_score_p50_ms"], out["me_score_p99_ms"] = round(qs[49], 1), round(qs[98], 1)
        page = f"/office/township/periods/{PERIOD}?township_id={TOWN}"
        out["ranking_ms"] = round(statistics.median([timed("GET", page, office)[0] for _ in range(5)]), 1)
        api = f"/api/township/periods/{PERIOD}?township_id={TOWN}"
        out["ranking_api_ms"] = round(statistics.median([timed("GET", api, office)[0] for _ in range(5)]), 1)
        w = f"bw{n // 2:05d}"
        ms, r = timed("GET", f"/api/township/periods/{PERIOD}/sheets/{w}?township_id={TOWN}", office)
        trail = sum(len(it["trail"]) for it in r.json()["sheet"]["items"])
        out["sheet_with_trail_ms"], out["sheet_trail_entries"] = round(ms, 1), trail
        ms, r = timed("GET", f"/api/township/periods/{PERIOD}/export.xlsx?township_id={TOWN}", office)
        out["export_xlsx_ms"], out["export_xlsx_bytes"] = round(ms, 1), len(r.content)
        out["server_rss_growth_mb"] = round(hwm_mb(pid) - start_hwm, 1)
        out["server_peak_rss_mb"] = round(hwm_mb(pid), 1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def run(backend: str, n: int, d: int, requests: int, baseline: bool, verify: bool = True) -> dict[str, Any]:
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="score-bench-")
    admin = None
    if backend == "postgresql":
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"score_bench_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp}/bench.db"
    out: dict[str, Any] = {"backend": backend, "workers": n, "days": d,
                           "loadavg_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        engine = make_engine(url)
        upgrade(engine)
        days = workdays(d)
        print(f"[{backend}] seeding {n} x {d} ...", file=sys.stderr)
        out.update(seed(engine, n, days))
        engine.dispose()
        print(f"[{backend}] building the sums ...", file=sys.stderr)
        out["build"] = in_child("build_sums", url)
        if verify:
            out["verify"] = in_child("verify_sums", url)
        mid = f"bw{n // 2:05d}"
        out["new_sheet_cold"] = in_child("new_sheet", url, mid)
        print(f"[{backend}] through the server ...", file=sys.stderr)
        out.update(through_server(url, n, requests, tmp))
        # a day of a new period (its state and rows created) and a day inside the built one
        for name, day in (("nightly", dt.date(2026, 4, 1)), ("nightly_in_period", dt.date(2026, 3, 28))):
            with_hook = in_child("nightly", url, n, day.isoformat(), True)
            without = in_child("nightly", url, n, day.isoformat(), False)
            out[name] = {"date": day.isoformat(), "save_with_sums_s": with_hook["save_s"],
                         "save_without_sums_s": without["save_s"],
                         "sums_added_s": round(with_hook["save_s"] - without["save_s"], 3)}
        print(f"[{backend}] closing: old and new path ...", file=sys.stderr)
        out["close_new"] = in_child("new_close", url)
        if baseline:
            out["close_old"] = in_child("old_close", url)
            out["close_same_digest"] = out["close_old"]["digest"] == out["close_new"]["digest"]
        if baseline:
            print(f"[{backend}] the old path (baseline) ...", file=sys.stderr)
            out["baseline_old_sheet"] = in_child("old_sheet", url, mid)
            ok = out["baseline_old_sheet"].get("total") == out["new_sheet_cold"].get("total")
            out["baseline_same_total"] = ok
        out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--sqlite-workers", type=int, default=500)
    ap.add_argument("--days", type=int, default=62)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--backend", choices=["both", "postgresql", "sqlite"], default="both")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--no-verify", action="store_true", help="skip the verify pass (a second full read)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "score_bench.json")
    a = ap.parse_args(argv)
    runs = {}
    load_before = os.getloadavg()
    if a.backend in ("both", "postgresql"):
        runs["postgresql"] = run("postgresql", a.workers, a.days, a.requests, not a.no_baseline,
                                not a.no_verify)
    if a.backend in ("both", "sqlite"):
        runs["sqlite"] = run("sqlite", a.sqlite_workers, a.days, a.requests, not a.no_baseline,
                            not a.no_verify)
    first = runs.get("postgresql") or runs["sqlite"]
    doc = {"workers": first["workers"], "days": first["days"], "me_score_p99_ms": first["me_score_p99_ms"],
           "ranking_ms": first["ranking_ms"], "machine": {"python": platform.python_version(),
                                                          "cpus": os.cpu_count(), "shared": True,
                                                          "loadavg_before": [round(x, 2) for x in load_before],
                                                          "loadavg_after": [round(x, 2) for x in os.getloadavg()]},
           "runs": runs}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(doc, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
