"""County-size measurement of the office pages (issue 16): 5,000 workers on PostgreSQL.

Seeds a throwaway PostgreSQL database with N workers (default 5,000, 50 per village, one grid
per worker) and D judged days each (default 62, the weekdays of 2026Q1: the township's
history; the period sums built, as a running server keeps them), the fixes of 10 workers on
the last day, a village office and the township office;
then, through a real server (``python -m server.cli serve`` on 127.0.0.1), times each page
``--requests`` times (after 2 warm-up loads) as the village office (its own village) and as
the township office:

* the day table ``/office/villages/V/days/D`` (the township: the same village's table);
* the worker-day page ``/office/workers/W/days/D`` (track, flags, audit row);
* the dashboard ``/office/dashboard?date=D`` (village: its own; township: every village);
* the scores (ranking) page ``/office/township/periods/2026Q1``.

Per page: p50/p99 latency (ms) and the rows of ``day_result`` the server read per request
(``pg_stat_user_tables``: sequential + index tuples, the deltas over the timed requests
divided by their number; the statistics are flushed by the server's backends within a
second, so the bench waits for them), beside the rows the page shows (day results of one
village-day, or of the township's day). A page that reads the township's history reads
~N x D rows per request.

Run (a documented command, not a timed test)::

    uv run python bench/office_pages.py [--workers 5000] [--days 62] [--requests 30]
        [--only day_table worker_day dashboard scores]

Writes ``bench/out/office_load.json``; figures in docs/performance.md ("Office pages at
county size"). State the machine's load with them (other jobs share the machine): the
output records ``os.getloadavg()`` before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
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

from bench.score_bench import (  # noqa: E402
    PER_VILLAGE,
    PERIOD,
    PG_ADMIN,
    build_sums,
    free_port,
    seed,
    workdays,
)

TRACKED = ("day_result", "worker", "position", "flag_decision", "exemption")


def seed_office(engine: sa.Engine, n: int, day: dt.date, tracked: int = 10) -> dict[str, Any]:
    """Grids (one square per worker), fixes of ``tracked`` workers on ``day``, a village
    office (village bV000) and the township office with session tokens."""
    import shapely
    from sqlmodel import Session

    from checkins import tables as m
    from checkins.auth.models import OfficeSession
    from checkins.auth.office import _hash
    from checkins.db.partitions import ensure_position_partitions

    def square(i: int) -> Any:
        x, y = 120.0 + (i % 100) * 0.01, 30.0 + (i // 100) * 0.01
        return shapely.box(x, y, x + 0.009, y + 0.009)

    with engine.begin() as conn:
        conn.execute(sa.insert(m.Grid.__table__), [
            {"grid_id": f"g-bw{i:05d}", "village_id": f"bV{i // PER_VILLAGE:03d}",
             "name": f"网格{i}", "geom": square(i)} for i in range(n)])
        conn.execute(sa.insert(m.GridAssignment.__table__), [
            {"worker_id": f"bw{i:05d}", "grid_id": f"g-bw{i:05d}",
             "valid_from": dt.date(2025, 1, 1)} for i in range(n)])
        ensure_position_partitions(conn, day, 1)
        t0 = dt.datetime.combine(day, dt.time(0, 30), tzinfo=dt.UTC)  # 08:30 local
        rows = []
        for k in range(tracked):
            i = k * PER_VILLAGE // tracked  # workers of village bV000
            x, y = 120.0 + (i % 100) * 0.01 + 0.004, 30.0 + (i // 100) * 0.01 + 0.004
            for j in range(720):  # a fix every 30 s for 6 hours
                lon, lat = x + 0.0001 * (j % 20), y + 0.0001 * (j // 20 % 20)
                rows.append({"recorded_at": t0 + dt.timedelta(seconds=30 * j), "kind": "fix",
                             "worker_id": f"bw{i:05d}", "lon": lon, "lat": lat, "datum": "wgs84",
                             "geom": shapely.Point(lon, lat), "accuracy_m": 8.0,
                             "grid_id": f"g-bw{i:05d}", "mock": False, "suspect": False})
        conn.execute(sa.insert(m.Position.__table__), rows)
    tokens = {}
    with Session(engine) as s:
        for role, vid in (("village_office", "bV000"), ("township_office", None)):
            u = m.OfficeUser(username=f"bench-{role}", password_hash="x", role=role,
                             village_id=vid)
            s.add(u)
            s.flush()
            tok = secrets.token_urlsafe(24)
            s.add(OfficeSession(token_hash=_hash(tok), user_id=u.id,
                                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)))
            tokens[role] = tok
        s.commit()
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    return {"tokens": tokens, "tracked_fixes": len(rows)}


def table_reads(engine: sa.Engine) -> dict[str, int]:
    """Tuples read so far per table (sequential + index fetches), from the statistics."""
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        rows = conn.execute(sa.text(
            "SELECT relname, coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) "
            "FROM pg_stat_user_tables")).all()
    out: dict[str, int] = {}
    for name, n in rows:
        base = "position" if name.startswith("position") else name
        if base in TRACKED:
            out[base] = out.get(base, 0) + int(n)
    return out


def measure(c: httpx.Client, engine: sa.Engine, path: str, token: str, n: int
            ) -> dict[str, Any]:
    h = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        r = c.get(path, headers=h)
        r.raise_for_status()
    time.sleep(11)  # a busy backend flushes its statistics every second, an idle one within 10 s
    before = table_reads(engine)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = c.get(path, headers=h)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    time.sleep(11)
    after = table_reads(engine)
    qs = statistics.quantiles(times, n=100) if n >= 2 else [times[0]] * 99
    return {"path": path, "n": n, "p50_ms": round(qs[49], 1), "p99_ms": round(qs[98], 1),
            "rows_read_per_request": {t: round((after.get(t, 0) - before.get(t, 0)) / n)
                                      for t in TRACKED}}


def run(n: int, d: int, requests: int, only: list[str] | None = None) -> dict[str, Any]:
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"office_pages_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    days = workdays(d)
    day = days[-1]
    out: dict[str, Any] = {"backend": "postgresql", "workers": n, "days": d,
                           "villages": (n + PER_VILLAGE - 1) // PER_VILLAGE,
                           "day_results": n * d, "date": day.isoformat(),
                           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "loadavg_before": [round(x, 2) for x in os.getloadavg()]}}
    tmp = tempfile.mkdtemp(prefix="office-pages-")
    proc = None
    try:
        engine = make_engine(url)
        upgrade(engine)
        print(f"seeding {n} x {d} ...", file=sys.stderr)
        t0 = time.perf_counter()
        seed(engine, n, days)
        office = seed_office(engine, n, day)
        out["seed_s"] = round(time.perf_counter() - t0, 1)
        # the period sums a running server keeps current with every saved day (issue 21);
        # the bulk seed bypassed that hook, so build them once as go-live does
        if not only or "scores" in only:
            t0 = time.perf_counter()
            build_sums(engine)
            out["build_sums_s"] = round(time.perf_counter() - t0, 1)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "GRIDPATROL_DATA_DIR": tmp,
               "GRIDPATROL_LOG_LEVEL": "warning", "GRIDPATROL_SCHEDULER_ENABLED": "false",
               "GRIDPATROL_LIVENESS_ENABLED": "false"}
        proc = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=ROOT)
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        deadline = time.monotonic() + 120
        while True:
            try:
                c.get("/health")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start") from None
                time.sleep(0.3)
        vt, tt = office["tokens"]["village_office"], office["tokens"]["township_office"]
        worker = "bw00000"
        pages = {
            "day_table": f"/office/villages/bV000/days/{day}",
            "worker_day": f"/office/workers/{worker}/days/{day}",
            "dashboard_village": f"/office/dashboard?village_id=bV000&date={day}",
            "dashboard": f"/office/dashboard?date={day}",
            "scores": f"/office/township/periods/{PERIOD}",
        }
        pages = {k: v for k, v in pages.items()
                 if not only or k in only or k.removesuffix("_village") in only}
        if "scores" in pages:  # the first ranking view scores the period from the sums
            t0 = time.perf_counter()
            c.get(pages["scores"], headers={"Authorization": f"Bearer {tt}"}).raise_for_status()
            out["scores_first_view_ms"] = round((time.perf_counter() - t0) * 1000, 1)
        out["village"] = {}
        out["township"] = {}
        for key, path in pages.items():
            if key != "dashboard":
                print(f"village office: {key}", file=sys.stderr)
                out["village"][key] = measure(c, engine, path, vt, requests)
            if key != "dashboard_village":
                print(f"township office: {key}", file=sys.stderr)
                out["township"][key] = measure(c, engine, path, tt, requests)
        out["rows_shown"] = {"village_day": PER_VILLAGE, "township_day": n,
                             "worker_day_fixes": 720, "township_history": n * d}
        engine.dispose()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    out["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--days", type=int, default=62)
    ap.add_argument("--requests", type=int, default=30)
    ap.add_argument("--only", nargs="*", default=None,
                    help="pages to time: day_table worker_day dashboard scores (default: all)")
    args = ap.parse_args(argv)
    out = run(args.workers, args.days, args.requests, args.only)
    dest = ROOT / "bench" / "out" / "office_load.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
