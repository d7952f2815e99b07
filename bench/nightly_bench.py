"""Benchmark of the nightly evaluation read from PostGIS, and of the live "who is off post now".

Synthetic township of ``bench/geo_bench.py`` (N workers, default 5,000, each with its own
20-vertex grid, one fix every 30 s over the 8-hour duty day = 960 fixes, heartbeats every
10 minutes, silent spells, phones off), seeded into a throwaway PostgreSQL + PostGIS
database with COPY (50 villages' offices, grid assignments, day partitions, GiST + btree
indexes as in production).

Measured, each in a fresh child process (peak RSS is the child's ``ru_maxrss``):

(a) ``flow``: ``checkins.evaluation.flows.evaluate_date`` -- read the day's positions (one binary
    COPY), sign-ins, sessions, exemptions, assignments; the geo engine; deductions and JSON;
    upsert of the ``day_result`` rows; committed. Total and per step.
(b) ``engine``: ``geo.engine.evaluate_days`` alone on the same worker-days already in memory.
    The ratio (a)/(b) is what the database costs.
(c) ``live``: the live check at 16:00 with the last 5 minutes of items new (incremental:
    the check of 15:55 kept its ``live_state``), beside the same check judging the whole day;
    then the one live board (``checkins.office.live.live_map``, every village, 5,000 rows)
    p50/p99 over repeated calls.

Run (a documented command, not a timed test)::

    uv run python bench/nightly_bench.py [--workers 5000] [--runs 3] [--keep]

``--workers 300`` gives a quick run; ``--keep`` keeps the seeded database and
``--reuse DBNAME`` measures it again without seeding. Writes ``bench/out/nightly_bench.json``; figures are in
``docs/performance.md`` ("Nightly evaluation from PostGIS").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.geo_bench import DATE, TZ, make_township  # noqa: E402

PER_VILLAGE = 100
NULL = "\\N"  # NULL in COPY text format
DEFAULT_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat()


def _village_offices(days):
    """One office per village of PER_VILLAGE workers: the office of its first worker."""
    return {f"v{i // PER_VILLAGE:03d}": days[i].office for i in range(0, len(days), PER_VILLAGE)}


def seed(url: str, n_workers: int) -> dict:
    """Migrate an empty database and COPY the township and its day into it; counts, times."""
    import sqlalchemy as sa

    from checkins.db import partitions
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    t0 = time.perf_counter()
    days, _ = make_township(n_workers)
    t_gen = time.perf_counter() - t0
    engine = make_engine(url)
    upgrade(engine)
    offices = _village_offices(days)
    with engine.begin() as conn:
        partitions.ensure_position_partitions(conn, DATE - dt.timedelta(days=1), 3, TZ)
        conn.execute(sa.text("INSERT INTO township (township_id, name, timezone, profile, "
                             "created_at) VALUES ('bench', 'bench', :tz, 'yangkou-2022', now())"),
                     {"tz": TZ})
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        t1 = time.perf_counter()

        def copy(sql: str, lines: list[str]) -> None:
            with cur.copy(sql) as cp:
                for i in range(0, len(lines), 20_000):
                    cp.write("".join(lines[i:i + 20_000]))

        copy("COPY village (village_id, township_id, name, office, created_at) FROM STDIN",
             [f"{v}\tbench\t{v}\tSRID=4326;POINT({p.lon!r} {p.lat!r})\t2026-01-01T00:00:00Z\n"
              for v, p in offices.items()])
        copy("COPY grid (grid_id, village_id, geom, created_at) FROM STDIN",
             [f"{d.grid_id}\tv{i // PER_VILLAGE:03d}\tSRID=4326;{d.grid.wkt}\t"
              "2026-01-01T00:00:00Z\n" for i, d in enumerate(days)])
        copy("COPY worker (worker_id, name, role, village_id, active, created_at) FROM STDIN",
             [f"{d.worker_id}\t{d.worker_id}\t{d.role}\tv{i // PER_VILLAGE:03d}\tt\t"
              "2026-01-01T00:00:00Z\n" for i, d in enumerate(days)])
        copy("COPY grid_assignment (worker_id, grid_id, valid_from, created_at) FROM STDIN",
             [f"{d.worker_id}\t{d.grid_id}\t2026-01-01\t2026-01-01T00:00:00Z\n" for d in days])
        raw.commit()
        t_places = time.perf_counter() - t1
        # positions: binary COPY of fixed-width rows built with numpy (fixes, then heartbeats)
        t2 = time.perf_counter()
        rows = 0
        for heartbeat in (False, True):
            rows += _copy_positions(cur, days, heartbeat)
        raw.commit()
        t_positions = time.perf_counter() - t2
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return {"workers": n_workers, "position_rows": rows, "generate_s": round(t_gen, 2),
            "copy_places_s": round(t_places, 2), "copy_positions_s": round(t_positions, 2),
            "copy_rows_per_s": round(rows / t_positions)}


PG_EPOCH_US = int(dt.datetime(2000, 1, 1, tzinfo=dt.UTC).timestamp()) * 1_000_000
COPY_COLS = ("recorded_at", "received_at", "kind", "worker_id", "lon", "lat", "datum", "geom",
             "accuracy_m", "mock", "app_state", "network")


def _copy_positions(cur, days, heartbeat: bool) -> int:
    """COPY the fixes (or heartbeats) of every worker-day in PostgreSQL's binary format.

    Every row has the same width (text values of one length, NULL columns for heartbeats),
    so the stream is one numpy structured array; geometry goes in as little-endian EWKB.
    """
    parts = []
    for d in days:
        m = d.fixes.is_heartbeat if heartbeat else ~d.fixes.is_heartbeat
        parts.append((d.worker_id, d.fixes, m))
    n = int(sum(int(m.sum()) for _, _, m in parts))
    if n == 0:
        return 0
    t = np.concatenate([f.t[m] for _, f, m in parts])
    wid = np.concatenate([np.full(int(m.sum()), w.encode(), dtype="S6") for w, _, m in parts])
    us = np.round(t * 1e6).astype(np.int64) - PG_EPOCH_US
    values = {"recorded_at": ("i8", us), "received_at": ("i8", us + 5_000_000),
              "kind": ("S9" if heartbeat else "S3", b"heartbeat" if heartbeat else b"fix"),
              "worker_id": ("S6", wid), "datum": ("S5", b"wgs84"), "mock": ("?", None),
              "app_state": ("S10" if not heartbeat else "S10", b"foreground" if not heartbeat
                            else b"background"), "network": ("S2", b"4g")}
    if not heartbeat:
        lon = np.concatenate([f.lon[m] for _, f, m in parts])
        lat = np.concatenate([f.lat[m] for _, f, m in parts])
        ewkb = np.zeros(n, dtype=[("o", "u1"), ("typ", "<u4"), ("srid", "<u4"), ("x", "<f8"),
                                  ("y", "<f8")])
        ewkb["o"], ewkb["typ"], ewkb["srid"], ewkb["x"], ewkb["y"] = 1, 0x20000001, 4326, lon, lat
        values.update({"lon": ("f8", lon), "lat": ("f8", lat), "geom": ("V25", ewkb.view("V25")),
                       "accuracy_m": ("f8", np.concatenate([f.accuracy_m[m] for _, f, m in parts])),
                       "mock": ("?", np.concatenate([f.mock[m] for _, f, m in parts]))})
    else:
        values["mock"] = ("?", False)
    fields = [("n", ">i2")]
    for c in COPY_COLS:
        fields.append((f"{c}_len", ">i4"))
        if c in values:
            typ = values[c][0]
            fields.append((c, (">" + typ) if typ[0] in "if" else typ))
    arr = np.zeros(n, dtype=fields)
    arr["n"] = len(COPY_COLS)
    for c in COPY_COLS:
        if c in values:
            arr[f"{c}_len"] = np.dtype(values[c][0]).itemsize
            arr[c] = values[c][1]
        else:
            arr[f"{c}_len"] = -1
    sql = f"COPY position ({', '.join(COPY_COLS)}) FROM STDIN (FORMAT BINARY)"
    with cur.copy(sql) as cp:
        cp.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8)
        step = 200_000
        for i in range(0, n, step):
            cp.write(arr[i:i + step].tobytes())
        cp.write(b"\xff\xff")
    return n


# ------------------------------------------------------------------------ child phases


def phase_flow(url: str) -> dict:
    """(a) the nightly flow, committed; timings per step, peak RSS."""
    from checkins.db.engine import make_engine, session
    from checkins.evaluation.flows import evaluate_date

    engine = make_engine(url)
    base = _rss_mb()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with session(engine) as s:
        entries = evaluate_date(s, DATE, timings=timings)
        t1 = time.perf_counter()
        s.commit()
        timings["commit_s"] = time.perf_counter() - t1
    total = time.perf_counter() - t0
    engine.dispose()
    return {"total_s": total, "worker_days": len(entries),
            "steps": {k: round(v, 3) for k, v in timings.items()},
            "rss_before_mb": round(base), "peak_rss_mb": round(_rss_mb())}


def phase_engine(url: str, n_workers: int) -> dict:
    """(b) the geo engine alone on the same worker-days in memory (offices as in the DB)."""
    import dataclasses

    from geo.engine import evaluate_days
    from scoring.profiles import load_profile

    params = load_profile("yangkou-2022").geo_params()
    days, index = make_township(n_workers)
    offices = _village_offices(days)
    days = [dataclasses.replace(d, office=offices[f"v{i // PER_VILLAGE:03d}"])
            for i, d in enumerate(days)]
    base = _rss_mb()
    t0 = time.perf_counter()
    results = evaluate_days(days, params, grids=index)
    total = time.perf_counter() - t0
    return {"total_s": total, "worker_days": len(results), "rss_before_mb": round(base),
            "peak_rss_mb": round(_rss_mb()), "fixes": int(sum(len(d.fixes) for d in days))}


# what ingest does to live_state for the items of (a, b] of every worker (note_live), as
# one statement: the benchmark's positions were seeded by COPY, not through ingest
_NOTE_NEW = """
INSERT INTO live_state AS s (worker_id, work_date, ingest_seq, dirty_from, last_seen_at,
                             last_fix_at, last_lon, last_lat, last_grid_id, judged_seq)
SELECT p.worker_id, :d, 1, min(p.recorded_at), max(p.recorded_at),
       max(p.recorded_at) FILTER (WHERE p.kind = 'fix'),
       (array_agg(ST_X(p.geom) ORDER BY p.recorded_at DESC) FILTER (WHERE p.kind = 'fix'))[1],
       (array_agg(ST_Y(p.geom) ORDER BY p.recorded_at DESC) FILTER (WHERE p.kind = 'fix'))[1],
       (array_agg(p.grid_id ORDER BY p.recorded_at DESC) FILTER (WHERE p.kind = 'fix'))[1], 0
FROM position p WHERE p.recorded_at > :a AND p.recorded_at <= :b GROUP BY p.worker_id
ON CONFLICT (worker_id, work_date) DO UPDATE SET ingest_seq = s.ingest_seq + 1,
  dirty_from = least(s.dirty_from, excluded.dirty_from),
  last_seen_at = greatest(s.last_seen_at, excluded.last_seen_at),
  last_fix_at = coalesce(excluded.last_fix_at, s.last_fix_at),
  last_lon = coalesce(excluded.last_lon, s.last_lon),
  last_lat = coalesce(excluded.last_lat, s.last_lat),
  last_grid_id = coalesce(excluded.last_grid_id, s.last_grid_id)
"""
# ingest tags each fix with its grid; the seeded rows are untagged, so tag the kept fix
_TAG_KEPT = """
UPDATE live_state s SET last_grid_id = g.grid_id FROM grid g
WHERE s.last_lon IS NOT NULL AND ST_Contains(g.geom, ST_SetSRID(ST_MakePoint(s.last_lon, s.last_lat), 4326))
"""


def phase_live(url: str, repeats: int) -> dict:
    """(c) the live check at 16:00 with the last 5 minutes new (incremental, after a check
    at 15:55), the same check judging the whole day, then the live board p50/p99."""
    import sqlalchemy as sa

    from checkins.auth.office import OfficeScope
    from checkins.db.engine import make_engine, session
    from checkins.jobs.alerts import live_check
    from checkins.office.live import live_map

    engine = make_engine(url)
    z = ZoneInfo(TZ)
    now = dt.datetime.combine(DATE, dt.time(16, 0), tzinfo=z)
    before = now - dt.timedelta(minutes=5)
    # what ingest keeps for the day up to 15:55, then the check of 15:55 (the whole day:
    # its state is new), then the items of 15:55-16:00 arrive
    with engine.begin() as conn:
        conn.execute(sa.text(_NOTE_NEW), {"d": DATE, "a": now - dt.timedelta(days=1),
                                          "b": before})
        conn.execute(sa.text(_TAG_KEPT))
    t0 = time.perf_counter()
    with session(engine) as s:
        first = live_check(s, now=before)
        s.commit()
    first_s = time.perf_counter() - t0
    with engine.begin() as conn:
        conn.execute(sa.text(_NOTE_NEW), {"d": DATE, "a": before, "b": now})
        conn.execute(sa.text(_TAG_KEPT))
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    with session(engine) as s:
        counts = live_check(s, now=now, timings=timings)
        s.commit()
    check_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with session(engine) as s:
        full = live_check(s, now=now, full=True)
        s.commit()
    full_s = time.perf_counter() - t0
    scope = OfficeScope(username="bench", role="admin", village_id=None)
    lat = []
    with session(engine) as s:
        for _ in range(repeats):
            t = time.perf_counter()
            board = live_map(s, scope, None, now)
            lat.append(time.perf_counter() - t)
            s.rollback()
    rows = board["rows"]
    # the bare question "who is off post or unreachable now": the open alerts of the township
    q = sa.text("SELECT a.worker_id, a.kind, a.start_at, w.village_id FROM alert a"
                " JOIN worker w ON w.worker_id = a.worker_id WHERE a.status = 'open'")
    bare = []
    with engine.connect() as conn:
        for _ in range(repeats):
            t = time.perf_counter()
            n_open = len(conn.execute(q).all())
            bare.append(time.perf_counter() - t)
    bare_ms = sorted(x * 1000 for x in bare)
    lat_ms = sorted(x * 1000 for x in lat)
    return {"live_check_s": check_s, "alerts": counts,
            "live_check_steps_s": {k: round(v, 3) for k, v in timings.items()},
            "live_check_first_at_1555_s": first_s, "first_alerts": first,
            "live_check_full_day_s": full_s, "full_alerts": full,
            "ratio_full_to_incremental": round(full_s / check_s, 1),
            "board_rows": len(rows), "states": board["counts"],
            "board_p50_ms": round(statistics.median(lat_ms), 1),
            "board_p99_ms": round(lat_ms[min(len(lat_ms) - 1, int(0.99 * len(lat_ms)))], 1),
            "open_alerts": n_open, "offpost_now_p50_ms": round(statistics.median(bare_ms), 2),
            "offpost_now_p99_ms": round(bare_ms[min(len(bare_ms) - 1,
                                                    int(0.99 * len(bare_ms)))], 2),
            "peak_rss_mb": round(_rss_mb())}


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"child {args[:2]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3, help="runs of (a) and (b); medians")
    ap.add_argument("--board-repeats", type=int, default=50)
    ap.add_argument("--admin-url", default=os.environ.get("GRIDPATROL_TEST_PG_ADMIN_URL",
                                                          DEFAULT_ADMIN))
    ap.add_argument("--keep", action="store_true", help="keep the benchmark database")
    ap.add_argument("--reuse", metavar="DBNAME",
                    help="use a database kept by an earlier --keep run (no seeding)")
    ap.add_argument("--phase", choices=("seed", "flow", "engine", "live"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.phase:
        res = {"seed": lambda: seed(a.url, a.workers), "flow": lambda: phase_flow(a.url), "engine": lambda: phase_engine(a.url, a.workers),
               "live": lambda: phase_live(a.url, a.board_repeats)}[a.phase]()
        print(json.dumps(res))
        return res

    import sqlalchemy as sa

    admin = sa.create_engine(a.admin_url, isolation_level="AUTOCOMMIT")
    name = a.reuse or f"gridpatrol_bench_{secrets.token_hex(4)}"
    if not a.reuse:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(a.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        if a.reuse:
            seeded = {"workers": a.workers, "reused": name}
        else:
            print(f"seeding {a.workers} workers into {name} ...", file=sys.stderr)
            seeded = _child(["--phase", "seed", "--url", url, "--workers", str(a.workers)])
        print(json.dumps(seeded), file=sys.stderr)
        flows, engines = [], []
        for i in range(a.runs):
            with sa.create_engine(url).begin() as conn:
                conn.execute(sa.text("DELETE FROM day_result"))
            flows.append(_child(["--phase", "flow", "--url", url]))
            engines.append(_child(["--phase", "engine", "--url", url,
                                   "--workers", str(a.workers)]))
            print(f"run {i + 1}: flow {flows[-1]['total_s']:.2f} s, "
                  f"engine {engines[-1]['total_s']:.2f} s", file=sys.stderr)
        with sa.create_engine(url).begin() as conn:
            conn.execute(sa.text("DELETE FROM alert"))
        live = _child(["--phase", "live", "--url", url, "--board-repeats",
                       str(a.board_repeats)])
        med = statistics.median
        flow_s = med(f["total_s"] for f in flows)
        engine_s = med(e["total_s"] for e in engines)
        steps = {k: round(med(f["steps"].get(k, 0.0) for f in flows), 2)
                 for k in flows[0]["steps"]}
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "loadavg": os.getloadavg()},
            "seed": seeded, "runs": a.runs,
            "flow_total_s": round(flow_s, 2), "flow_steps_s": steps,
            "flow_peak_rss_mb": max(f["peak_rss_mb"] for f in flows),
            "flow_rss_before_mb": flows[0]["rss_before_mb"],
            "engine_alone_s": round(engine_s, 2),
            "engine_peak_rss_mb": max(e["peak_rss_mb"] for e in engines),
            "engine_rss_before_mb": engines[0]["rss_before_mb"],
            "ratio_flow_to_engine": round(flow_s / engine_s, 2),
            "fixes": engines[0]["fixes"], "worker_days": flows[0]["worker_days"],
            "live": live,
        }
        out = ROOT / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "nightly_bench.json").write_text(json.dumps(result, indent=1))
        print(json.dumps(result, indent=1))
        return result
    finally:
        if not a.keep and not a.reuse:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
