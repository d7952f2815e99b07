"""Ingest benchmark: fixes/s end to end through the mobile API vs a raw COPY, side by side.

    uv run python bench/ingest_bench.py [--seconds 8] [--rounds 3] [--app create|create_mobile_only]

What it does, in one run, on a throwaway PostgreSQL + PostGIS database (migrated to head):

1. seeds a township of ``--grids`` square grids and ``--workers`` workers, each with an
   approved phone and a login session (tokens minted directly: argon2 logins are not what
   is measured here);
2. starts ``uvicorn bench.ingest_app:create --factory --workers 2 --loop uvloop --http
   httptools`` (``server.app.create_app``, the app ``gridpatrol serve`` runs, logging at
   WARNING): auth check per request, per-fix dedupe, GEO-VALID, STRtree grid tagging,
   sequence runs, re-evaluation marks, one transaction and COMMIT per batch;
3. for each of ``--rounds`` rounds: **API** load for ``--seconds`` from wrk (``--clients``
   threads x ``--concurrency`` connections; LuaJIT builds each 100-fix body with fresh
   client ids) or from httpx client processes (``--load httpx``), then a **raw COPY** of as
   many rows as the API stored, 100 per ``COPY position ... FROM STDIN`` + COMMIT, from 2
   connections (as many as API workers), into the same partitioned table with the same
   indexes; alternating the two keeps a changing machine load from favouring either;
4. prints the medians over the rounds (and writes every round to
   ``bench/out/ingest_bench.json``): fixes/s of both, the ratio, p50/p99 latency, and
   checks that every acknowledged fix is stored.

Not a timed test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_load import STOP, run_clients  # noqa: E402

SECRET = "bench-secret-" + secrets.token_hex(16)
PREFIX = "/api/mobile/v1"
LON0, LAT0 = 121.0, 32.4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(url: str, n_grids: int, n_workers: int) -> list[dict[str, Any]]:
    """Township, grids, workers with approved phones and sessions; return their tokens."""
    import shapely
    from sqlmodel import Session

    from checkins.auth import phone as auth
    from checkins.auth.models import Device, MobileAccount, MobileSession
    from checkins.auth.tokens import encode_access_token, hash_password, new_id
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade
    from checkins.db.partitions import ensure_position_partitions
    from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

    engine = make_engine(url)
    upgrade(engine)
    side = int(n_grids ** 0.5 + 0.999)
    d = 0.008  # ~800 m squares
    pw = hash_password("bench")
    out = []
    with Session(engine) as s:
        s.add(Township(township_id="tb", name="bench"))
        s.flush()
        s.add(Village(village_id="vb", township_id="tb", name="bench",
                      office=shapely.Point(LON0, LAT0), radius_m=150))
        s.flush()
        for g in range(n_grids):
            x, y = LON0 + (g % side) * d, LAT0 + (g // side) * d
            s.add(Grid(grid_id=f"g{g}", village_id="vb", geom=shapely.box(x, y, x + d, y + d)))
        s.flush()
        for w in range(n_workers):
            wid = f"w{w}"
            s.add(Worker(worker_id=wid, name=wid, phone=f"139{w:08d}", role="fulltime", village_id="vb"))
            s.flush()
            s.add(GridAssignment(worker_id=wid, grid_id=f"g{w % n_grids}", valid_from=dt.date(2020, 1, 1)))
            s.add(MobileAccount(worker_id=wid, password_hash=pw, token_version=1))
            dev = Device(device_uid=f"bench-{w}", worker_id=wid, status="approved")
            s.add(dev)
            s.flush()
            sid = new_id()
            s.add(MobileSession(id=sid, worker_id=wid, device_id=dev.id, token_version=1))
            tok, _ = encode_access_token(secret=SECRET, worker_id=wid, device_id=str(dev.id),
                                         session_id=sid, token_version=1, ttl_s=3600)
            g = w % n_grids
            out.append({"worker_id": wid, "device_id": dev.id, "token": tok,
                        "lon": LON0 + (g % side) * d + d / 2, "lat": LAT0 + (g // side) * d + d / 2})
        s.commit()
        _ = auth  # the tables above are the ones checkins.auth.phone reads
    with engine.begin() as conn:
        today = dt.datetime.now(dt.UTC).date()
        ensure_position_partitions(conn, today - dt.timedelta(days=1), 3)
    engine.dispose()
    return out


def _bodies(worker: dict[str, Any], run: str, start_seq: int, n_batches: int, batch: int) -> list[bytes]:
    """Pre-built JSON bodies: ``batch`` fixes each, distinct client ids, inside the grid."""
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    bodies = []
    seq = start_seq
    for _ in range(n_batches):
        items = []
        for _ in range(batch):
            t = (t0 + dt.timedelta(seconds=seq % 7000)).isoformat()
            items.append(
                f'{{"client_id":"{run}-{seq}","seq":{seq},"kind":"fix","recorded_at":"{t}",'
                f'"lon":{worker["lon"] + (seq % 97) * 1e-5:.7f},"lat":{worker["lat"] + (seq % 89) * 1e-5:.7f},'
                f'"datum":"wgs84","accuracy_m":8.5,"speed_mps":1.2,"mock":false}}')
            seq += 1
        bodies.append(('{"items":[' + ",".join(items) + "]}").encode())
    return bodies


def _prepare_bodies(workers: list[dict[str, Any]], seconds: float, run: str, *,
                    batch: int) -> dict[str, list[bytes]]:
    per_worker = max(4, int(seconds * 400 / max(1, len(workers))) + 4)
    return {w["worker_id"]: _bodies(w, f"{run}-{w['worker_id']}", 0, per_worker, batch) for w in workers}


async def _send_batch(client: Any, w: dict[str, Any], n: int, _lane: int,
                      bodies: dict[str, list[bytes]]) -> Any:
    if n >= len(bodies[w["worker_id"]]):
        return STOP
    r = await client.post(f"{PREFIX}/positions", content=bodies[w["worker_id"]][n],
                          headers={"Authorization": f"Bearer {w['token']}",
                                   "Content-Type": "application/json"})
    return r.json()["accepted"] if r.status_code == 200 else None


_WRK_LUA = """
local tokens = {%(tokens)s}
local lons = {%(lons)s}
local lats = {%(lats)s}
local times = {%(times)s}
local run = "%(run)s"
local nthreads = 0
function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
end
function init(args)
  n = 0
end
function request()
  n = n + 1
  local k = ((n * 7919 + tid * 104729) %% #tokens) + 1
  local parts = {}
  for j = 1, %(batch)d do
    local seq = n * %(batch)d + j
    parts[j] = string.format('{"client_id":"%%s-%%d-%%d","seq":%%d,"kind":"fix","recorded_at":"%%s","lon":%%.7f,"lat":%%.7f,"datum":"wgs84","accuracy_m":8.5,"speed_mps":1.2,"mock":false}',
      run, tid, seq, seq, times[(seq %% #times) + 1], lons[k] + (seq %% 97) * 1e-5, lats[k] + (seq %% 89) * 1e-5)
  end
  local body = '{"items":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format("POST", "%(path)s", {["Authorization"] = "Bearer " .. tokens[k], ["Content-Type"] = "application/json"}, body)
end
function done(summary, latency, requests)
  io.write(string.format('WRKJSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"mean_us":%%.1f,"status_errors":%%d,"connect_errors":%%d,"timeouts":%%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    summary.errors.status, summary.errors.connect, summary.errors.timeout))
end
"""


def _wrk_load(url: str, workers: list[dict[str, Any]], args: argparse.Namespace,
              tag: str = "") -> dict[str, Any]:
    """Drive the API with wrk (LuaJIT builds each 100-fix body with fresh client ids)."""
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    script = _WRK_LUA % {
        "tokens": ",".join(f'"{w["token"]}"' for w in workers),
        "lons": ",".join(f'{w["lon"]:.7f}' for w in workers),
        "lats": ",".join(f'{w["lat"]:.7f}' for w in workers),
        "times": ",".join(f'"{(t0 + dt.timedelta(seconds=10 * i)).isoformat()}"' for i in range(600)),
        "run": "wrk" + tag + secrets.token_hex(3), "batch": args.batch, "path": f"{PREFIX}/positions",
    }
    lua = ROOT / "bench" / "out" / "ingest_wrk.lua"
    lua.parent.mkdir(parents=True, exist_ok=True)
    lua.write_text(script)
    out = subprocess.run(
        ["wrk", "-t", str(args.clients), "-c", str(args.clients * args.concurrency),
         "-d", f"{max(1, round(args.seconds))}s", "--timeout", "30s", "-s", str(lua), url],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr}{out.stdout}")
    out = out.stdout
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    w = json.loads(line[len("WRKJSON "):])
    ok = w["requests"] - w["status_errors"]
    secs = w["duration_us"] / 1e6
    return {"load": "wrk", "fixes": ok * args.batch, "errors": w["status_errors"] + w["connect_errors"] + w["timeouts"],
            "batches": w["requests"], "seconds": round(secs, 2),
            "fixes_per_s": round(ok * args.batch / secs), "batches_per_s": round(w["requests"] / secs),
            "p50_ms": round(w["p50_us"] / 1000, 1), "p99_ms": round(w["p99_us"] / 1000, 1),
            "mean_ms": round(w["mean_us"] / 1000, 1)}


class ApiServer:
    """``uvicorn`` with the app on the benchmark database, for the whole run."""

    def __init__(self, url_db: str, workers: list[dict[str, Any]], args: argparse.Namespace) -> None:
        self.url_db, self.workers, self.args = url_db, workers, args
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def __enter__(self) -> ApiServer:
        import httpx

        port = _free_port()
        env = dict(os.environ, DATABASE_URL=self.url_db, GRIDPATROL_ENVIRONMENT="bench",
                   GRIDPATROL_SECRET_KEY=SECRET, GRIDPATROL_DEMO_ON_EMPTY="false",
                   GRIDPATROL_LOG_LEVEL="WARNING", GRIDPATROL_DATA_DIR=str(ROOT / "bench" / "out"),
                   GRIDPATROL_MOBILE_UPLOAD_BURST="1000000", GRIDPATROL_MOBILE_UPLOAD_PER_S="1000000")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", f"bench.ingest_app:{self.args.app}", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.args.server_workers),
             "--loop", "uvloop", "--http", "httptools", "--log-level", "warning", "--no-access-log"],
            env=env, cwd=ROOT)
        self.url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        # warm-up: the server workers load their grid index, profile and pools
        w = self.workers[0]
        for b in _bodies(w, "warm", 10**9, 8, 10):
            httpx.post(f"{self.url}{PREFIX}/positions", content=b, timeout=30,
                       headers={"Authorization": f"Bearer {w['token']}", "Content-Type": "application/json"})
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)

    def load(self, seconds: float, round_no: int) -> dict[str, Any]:
        """One load phase of ``seconds`` with wrk or httpx client processes."""
        args = argparse.Namespace(**{**vars(self.args), "seconds": seconds})
        if args.load == "wrk":
            return _wrk_load(self.url, self.workers, args, tag=f"r{round_no}")
        r = run_clients(self.url, self.workers, clients=args.clients, seconds=seconds,
                        concurrency=args.concurrency, send=_send_batch,
                        prepare=functools.partial(_prepare_bodies, batch=args.batch),
                        tag=secrets.token_hex(3))
        return {"load": "httpx", "fixes": r["fixes"], "errors": r["errors"],
                "batches": r["requests"], "seconds": r["seconds"],
                "fixes_per_s": r["fixes_per_s"], "batches_per_s": r["requests_per_s"],
                "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "mean_ms": r["mean_ms"]}


_COPY_COLS = ("recorded_at", "received_at", "kind", "worker_id", "device_id", "client_id", "seq",
              "lon", "lat", "datum", "geom", "accuracy_m", "speed_mps", "mock", "grid_id", "suspect")


def run_copy(url_db: str, workers: list[dict[str, Any]], n_rows: int, batch: int,
             connections: int) -> dict[str, Any]:
    """COPY the same kind of rows, ``batch`` per COPY + COMMIT, from ``connections`` threads."""
    import psycopg

    dsn = url_db.replace("postgresql+psycopg://", "postgresql://")
    t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    now = dt.datetime.now(dt.UTC)
    per_conn = n_rows // connections // batch
    run = secrets.token_hex(3)

    def rows_for(k: int, b: int) -> list[tuple[Any, ...]]:
        w = workers[(k * 7919 + b) % len(workers)]
        out = []
        for j in range(batch):
            seq = b * batch + j
            lon, lat = w["lon"] + (seq % 97) * 1e-5, w["lat"] + (seq % 89) * 1e-5
            out.append((t0 + dt.timedelta(seconds=seq % 7000), now, "fix", w["worker_id"], w["device_id"],
                        f"copy{run}-{k}-{seq}", seq, lon, lat, "wgs84",
                        f"SRID=4326;POINT({lon:.7f} {lat:.7f})", 8.5, 1.2, False, None, False))
        return out

    prepared = [[rows_for(k, b) for b in range(per_conn)] for k in range(connections)]
    lat: list[float] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        with psycopg.connect(dsn) as conn:
            for rows in prepared[k]:
                t = time.perf_counter()
                with conn.cursor() as cur, cur.copy(
                        f"COPY position ({', '.join(_COPY_COLS)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)
                conn.commit()
                with lock:
                    lat.append(time.perf_counter() - t)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    n = per_conn * batch * connections
    lat.sort()
    return {"fixes": n, "seconds": round(elapsed, 2), "fixes_per_s": round(n / elapsed),
            "connections": connections, "p50_ms": round(1000 * lat[len(lat) // 2], 2),
            "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 2)}


def count_rows(url_db: str, prefix: str = "") -> int:
    import psycopg

    with psycopg.connect(url_db.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SELECT count(*) FROM position WHERE client_id NOT LIKE 'copy%%' "
                            "AND client_id NOT LIKE 'warm%%'").fetchone()[0]


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs)) if xs else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0, help="API load per round")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of (API load, raw COPY of as many rows); medians are reported")
    ap.add_argument("--clients", type=int, default=3, help="wrk threads / client processes")
    ap.add_argument("--concurrency", type=int, default=2, help="requests in flight per client")
    ap.add_argument("--batch", type=int, default=100, help="fixes per batch")
    ap.add_argument("--workers", type=int, default=300, help="simulated workers (phones)")
    ap.add_argument("--grids", type=int, default=300)
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--copy-connections", type=int, default=2)
    ap.add_argument("--app", choices=["create", "create_mobile_only"], default="create",
                    help="the whole app (default) or only the mobile API")
    ap.add_argument("--load", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx",
                    help="load generator: wrk (Debian package) or httpx client processes")
    args = ap.parse_args()

    from tests.conftest import throwaway_pg_database

    rounds = []
    ok = True
    with throwaway_pg_database("gridpatrol_bench") as url_db:
        t = time.perf_counter()
        workers = seed(url_db, args.grids, args.workers)
        print(f"seeded {args.workers} workers / {args.grids} grids in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
        with ApiServer(url_db, workers, args) as server:
            stored_before = count_rows(url_db)
            for r in range(args.rounds):
                api = server.load(args.seconds, r)
                time.sleep(0.5)  # let requests still in flight finish
                stored = count_rows(url_db)
                new_rows = stored - stored_before
                stored_before = stored
                # wrk stops with requests in flight: stored, but not counted as acknowledged
                slack = args.clients * args.concurrency * args.batch if api["load"] == "wrk" else 0
                if not api["fixes"] <= new_rows <= api["fixes"] + slack or api["errors"]:
                    print(f"MISMATCH round {r}: acknowledged {api['fixes']}, stored {new_rows}, "
                          f"errors {api['errors']}", file=sys.stderr)
                    ok = False
                copy = run_copy(url_db, workers, new_rows, args.batch, args.copy_connections)
                rounds.append({"api": api, "api_stored_rows": new_rows, "copy": copy,
                               "api_vs_copy": round(api["fixes_per_s"] / copy["fixes_per_s"], 3)})
                print(f"round {r}: API {api['fixes_per_s']} fixes/s (p50 {api['p50_ms']} ms, "
                      f"p99 {api['p99_ms']} ms), raw COPY {copy['fixes_per_s']} fixes/s, "
                      f"ratio {rounds[-1]['api_vs_copy']}", file=sys.stderr)
    result = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_1m_after": round(os.getloadavg()[0], 2)},
        "args": vars(args),
        "median": {
            "api_fixes_per_s": round(_median([r["api"]["fixes_per_s"] for r in rounds])),
            "api_batches_per_s": round(_median([r["api"]["batches_per_s"] for r in rounds])),
            "api_p50_ms": _median([r["api"]["p50_ms"] for r in rounds]),
            "api_p99_ms": _median([r["api"]["p99_ms"] for r in rounds]),
            "copy_fixes_per_s": round(_median([r["copy"]["fixes_per_s"] for r in rounds])),
            "copy_p50_ms": _median([r["copy"]["p50_ms"] for r in rounds]),
            "api_vs_copy": _median([r["api_vs_copy"] for r in rounds]),
        },
        "acknowledged_equals_stored": ok,
        "rounds": rounds,
    }
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ingest_bench.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("when", "machine", "args", "median",
                                             "acknowledged_equals_stored")}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
