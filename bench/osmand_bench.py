"""OsmAnd adapter benchmark: single-fix requests/s (Traccar Client) vs the batch path, one run.

    uv run python bench/osmand_bench.py [--seconds 10] [--devices 200] [--clients 2] [--concurrency 16]

Traccar Client sends one fix per request. 5,000 workers at one fix per 30 s need 167
requests/s; the target on this machine kind is >= 1,000 single-fix requests/s with both
cores and p99 < 100 ms. In one run, on one throwaway PostgreSQL + PostGIS database and one
server (``uvicorn --workers 2``, the app ``gridpatrol serve`` runs, logging at WARNING):

1. seeds ``--devices`` workers, each with a phone approved for Traccar Client (an ingest
   secret, argon2-hashed: checked once per server process, then from memory) and a phone
   of the worker app with a login session (for the batch path);
2. **OsmAnd**: ``--clients`` httpx processes x ``--concurrency`` connections send
   ``GET /api/ingest/osmand/<token>?id=..&lat=..&lon=..&timestamp=..&speed=..&batt=..``,
   one fix each, fresh times (no duplicates), for ``--seconds``;
3. **batch**: the same clients post 100-fix batches to ``/api/mobile/v1/positions``;
4. prints requests/s and fixes/s of both, p50/p99 latency, and checks that every
   acknowledged fix is stored (``bench/out/osmand_bench.json``).

Not a timed test: figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api_load import run_clients  # noqa: E402
from bench.ingest_bench import PREFIX, ApiServer, _bodies, count_rows, seed  # noqa: E402

T0 = int(time.time()) - 6 * 3600  # the devices' first fix time (fresh times: no duplicates)


def _add_tokens(url: str, workers: list[dict[str, Any]]) -> None:
    from sqlmodel import Session

    from checkins.auth.ingest_tokens import issue_ingest_token
    from checkins.db.engine import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        for w in workers:
            w["osmand"] = issue_ingest_token(s, worker_id=w["worker_id"], app="traccar",
                                             actor="bench").token
        s.commit()
    engine.dispose()


async def _send_osmand(client: Any, w: dict[str, Any], n: int, _lane: int, tag: str) -> Any:
    # a device belongs to one lane: one fix a second of device time, from 6 hours ago
    r = await client.get(
        f"/api/ingest/osmand/{w['osmand']}",
        params={"id": w["worker_id"], "lat": f"{w['lat'] + (n % 89) * 1e-5:.7f}",
                "lon": f"{w['lon'] + (n % 97) * 1e-5:.7f}", "timestamp": T0 + n,
                "speed": "2.5", "batt": "87", "accuracy": "8"})
    return r.json()["accepted"] if r.status_code == 200 else None


async def _send_batch(client: Any, w: dict[str, Any], n: int, lane: int, tag: str) -> Any:
    body = _bodies(w, f"{tag}{lane}", n * 100, 1, 100)[0]
    r = await client.post(f"{PREFIX}/positions", content=body, headers={
        "Authorization": f"Bearer {w['token']}", "Content-Type": "application/json"})
    return r.json()["accepted"] if r.status_code == 200 else None


def _load(base: str, workers: list[dict[str, Any]], args: argparse.Namespace, mode: str,
          tag: str) -> dict[str, Any]:
    r = run_clients(base, workers, clients=args.clients, seconds=args.seconds,
                    concurrency=args.concurrency, tag=tag,
                    send=_send_osmand if mode == "osmand" else _send_batch)
    return {"mode": mode, **{k: r[k] for k in ("requests", "fixes", "errors", "seconds",
                                               "requests_per_s", "fixes_per_s", "p50_ms",
                                               "p99_ms")}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--grids", type=int, default=100)
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--concurrency", type=int, default=16, help="connections per client")
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--app", default="create")
    args = ap.parse_args()
    args.load, args.batch = "httpx", 100  # what ApiServer reads

    from tests.conftest import throwaway_pg_database

    with throwaway_pg_database("gridpatrol_osmand_bench") as url:
        workers = seed(url, args.grids, args.devices)
        _add_tokens(url, workers)
        with ApiServer(url, workers, args) as srv:
            import httpx

            for w in workers:  # each server process checks each secret once (argon2), here
                for _ in range(args.server_workers * 2):
                    httpx.get(f"{srv.url}/api/ingest/osmand/{w['osmand']}", params={"batt": 50},
                              timeout=60)  # argon2 on a loaded machine
            before = count_rows(url)
            load_before = os.getloadavg()  # the machine is shared: the load goes with the figures
            single = _load(srv.url, workers, args, "osmand", "o")
            mid = count_rows(url)
            batch = _load(srv.url, workers, args, "batch", "b")
            after = count_rows(url)
            load_after = os.getloadavg()
    out = {"at": dt.datetime.now(dt.UTC).isoformat(), "args": vars(args), "cpus": os.cpu_count(),
           "loadavg_before": [round(x, 2) for x in load_before],
           "loadavg_after": [round(x, 2) for x in load_after], "osmand": single,
           "batch": batch, "stored_osmand": mid - before, "stored_batch": after - mid}
    out["all_acknowledged_stored"] = (out["stored_osmand"] == single["fixes"]
                                      and out["stored_batch"] == batch["fixes"])
    (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
    (ROOT / "bench" / "out" / "osmand_bench.json").write_text(json.dumps(out, indent=2))
    print(f"OsmAnd single fix: {single['requests_per_s']} requests/s, p50 {single['p50_ms']} ms, "
          f"p99 {single['p99_ms']} ms, errors {single['errors']}")
    print(f"batch of 100:      {batch['requests_per_s']} requests/s = {batch['fixes_per_s']} fixes/s, "
          f"p50 {batch['p50_ms']} ms, p99 {batch['p99_ms']} ms, errors {batch['errors']}")
    print(f"every acknowledged fix stored: {out['all_acknowledged_stored']}")
    print(f"load average before/after: {out['loadavg_before']} / {out['loadavg_after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
