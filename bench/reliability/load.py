"""Load: N simulated phones for a bounded time, from several client processes.

    uv run python bench/reliability/load.py                       # 5,000 phones, 60 s, 1 server
    uv run python bench/reliability/load.py --servers 2 --phones 500 --seconds 30   # 2 processes

Each phone uploads a batch of ``--fixes-per-batch`` new fixes every ``--upload-every-s``
(random phase), with its minted token, to server ``k % --servers`` on its k-th upload (so
with two server processes every phone alternates between them, as behind a load balancer).
A failed upload (transport error, 5xx, 429) is retried with the same client ids and counted
as a failure. The server(s) run the scheduler with ``live_checks`` and ``reevaluation``
every ``--job-every-s``: the ``job_run`` rows written during the load show whether the jobs
kept running, and that two runs of one job never overlapped (one runs at a time across
processes: PostgreSQL advisory lock / SQLite lock row).

Reports p50/p95/p99 latency, uploads/s, fixes/s, failures, stored == sent, job runs, load
average. Default database: a throwaway one on the local PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.harness import PREFIX, Phone, ServerProc, fixes  # noqa: E402


def _client(urls: list[str], phones: list[Phone], seconds: float, every_s: float, per_batch: int,
            run: str, seed: int, conns: int, q: Any) -> None:
    import httpx

    rng = random.Random(seed)
    t_start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=2)
    lat: list[float] = []
    waits: list[float] = []
    sent: dict[int, int] = {}
    failures = 0
    gave_up = 0
    per_server = [0] * len(urls)

    async def main() -> None:
        nonlocal failures, gave_up
        # the phones queue for ``conns`` connections here (cheap), not in httpx's pool
        slots = asyncio.Semaphore(conns)
        limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            deadline = time.perf_counter() + seconds

            async def phone(p: Phone) -> None:
                nonlocal failures, gave_up
                await asyncio.sleep(rng.random() * every_s)
                k = 0
                seq = 0
                while time.perf_counter() < deadline:
                    t_next = time.perf_counter() + every_s
                    items = fixes(p, f"{run}-{p.device_id}", range(seq, seq + per_batch), t_start,
                                  step_s=1)
                    body = json.dumps({"items": items}, separators=(",", ":"))
                    for _attempt in range(30):
                        srv = k % len(urls)
                        k += 1
                        tq = time.perf_counter()
                        try:
                            async with slots:
                                t = time.perf_counter()
                                waits.append(t - tq)
                                r = await client.post(f"{urls[srv]}{PREFIX}/positions",
                                                      content=body, headers=p.headers)
                        except httpx.TransportError:
                            failures += 1
                            await asyncio.sleep(0.2)
                            continue
                        lat.append(time.perf_counter() - t)
                        if r.status_code != 200:
                            failures += 1
                            await asyncio.sleep(0.2)
                            continue
                        per_server[srv] += 1
                        break
                    else:
                        gave_up += 1
                    seq += per_batch
                    sent[p.device_id] = seq
                    await asyncio.sleep(max(0.0, t_next - time.perf_counter()))

            await asyncio.gather(*(phone(p) for p in phones))

    asyncio.run(main())
    q.put({"lat": lat, "waits": waits, "sent": sent, "failures": failures, "gave_up": gave_up,
           "per_server": per_server})


def run_load(urls: list[str], phones: Sequence[Phone], *, seconds: float, every_s: float,
             per_batch: int, processes: int, run: str = "load", conns: int = 16) -> dict[str, Any]:
    """Drive the phones from ``processes`` client processes; merged client-side figures."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(urls, list(phones[i::processes]), seconds, every_s,
                                               per_batch, run, i, conns, q)) for i in range(processes)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    parts = [q.get(timeout=seconds + 600) for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    lat = sorted(x for part in parts for x in part["lat"])
    waits = sorted(x for part in parts for x in part["waits"])

    def pct(f: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(f * len(lat)))] * 1000, 1) if lat else None

    sent = {d: n for part in parts for d, n in part["sent"].items()}
    per_server = [sum(part["per_server"][i] for part in parts) for i in range(len(urls))]
    return {"phones": len(phones), "client_processes": processes, "seconds": seconds,
            "elapsed_s": round(elapsed, 1), "uploads": len(lat), "uploads_per_server": per_server,
            "uploads_per_s": round(sum(per_server) / seconds, 1),
            "fixes_sent": sum(sent.values()), "fixes_per_s": round(sum(sent.values()) / seconds, 1),
            "failures": sum(part["failures"] for part in parts),
            "gave_up": sum(part["gave_up"] for part in parts),
            "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": pct(1.0),
            "client_queue_p99_ms": round(waits[int(0.99 * (len(waits) - 1))] * 1000, 1) if waits else None,
            "connections": conns * processes,
            "_sent": sent}


def job_runs(engine: Any, since: dt.datetime) -> dict[str, Any]:
    """job_run rows started since ``since``: counts per job, hosts, overlaps of one job."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT name, host, started_at, finished_at, ok FROM job_run ORDER BY name, started_at"
        )).all()
    out: dict[str, Any] = {}
    for name, host, st, fin, ok in rows:
        st = st if isinstance(st, dt.datetime) else dt.datetime.fromisoformat(st)
        if st.tzinfo is None:
            st = st.replace(tzinfo=dt.UTC)
        if st < since:
            continue
        fin = fin if fin is None or isinstance(fin, dt.datetime) else dt.datetime.fromisoformat(fin)
        if fin is not None and fin.tzinfo is None:
            fin = fin.replace(tzinfo=dt.UTC)
        j = out.setdefault(name, {"runs": 0, "ok": 0, "hosts": set(), "overlaps": 0, "_last_end": None})
        j["runs"] += 1
        # ok: True/False (1/0 on SQLite), None while running
        j["ok"] += ok is not None and bool(ok)
        j["failed"] = j.get("failed", 0) + (ok is not None and not ok)
        j["hosts"].add(host)
        if j["_last_end"] is not None and st < j["_last_end"]:
            j["overlaps"] += 1
        j["_last_end"] = fin or dt.datetime.max.replace(tzinfo=dt.UTC)
    for j in out.values():
        j["hosts"] = len(j.pop("hosts"))
        j.pop("_last_end")
    return out


def scheduler_env(every_s: float) -> dict[str, str]:
    """Server environment: the scheduler on, the interval jobs every ``every_s``."""
    return {"GRIDPATROL_SCHEDULER_ENABLED": "true",
            "GRIDPATROL_LIVE_CHECK_MINUTES": str(every_s / 60),
            "GRIDPATROL_REEVALUATE_MINUTES": str(every_s / 60)}


def verify(engine: Any, phones: Sequence[Phone], out: dict[str, Any]) -> list[str]:
    """stored == sent per phone, nothing twice, 0 failures; fills ``stored``."""
    from bench.reliability.harness import stored_ids

    ids = stored_ids(engine, [p.device_id for p in phones])
    out["stored"] = sum(len(v) for v in ids.values())
    out["duplicate_rows"] = out["stored"] - sum(len(set(v)) for v in ids.values())
    wrong = sum(1 for p in phones if len(set(ids[p.device_id])) != out["_sent"].get(p.device_id, 0))
    bad = []
    if out["stored"] != out["fixes_sent"]:
        bad.append(f"stored {out['stored']} != sent {out['fixes_sent']}")
    if wrong:
        bad.append(f"{wrong} phones with stored != sent")
    if out["duplicate_rows"]:
        bad.append(f"{out['duplicate_rows']} fixes stored twice")
    if out["gave_up"]:
        bad.append(f"{out['gave_up']} uploads never acknowledged")
    return bad


def main(argv: list[str] | None = None) -> int:
    """Command line: the full run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phones", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--upload-every-s", type=float, default=60.0)
    ap.add_argument("--connections", type=int, default=8, help="per client process")
    ap.add_argument("--fixes-per-batch", type=int, default=10)
    ap.add_argument("--client-processes", type=int, default=3)
    ap.add_argument("--servers", type=int, default=1, help="server processes (phones alternate)")
    ap.add_argument("--server-workers", type=int, default=2, help="uvicorn --workers of each")
    ap.add_argument("--job-every-s", type=float, default=10.0)
    ap.add_argument("--database-url", help="default: a throwaway database on --pg-admin-url")
    ap.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--out", default="bench/out/reliability_load.json")
    args = ap.parse_args(argv)

    from bench.reliability.harness import bench_database, seed_phones

    with ExitStack() as stack:
        url, engine = bench_database(stack, args.database_url, args.pg_admin_url,
                                     "gridpatrol_rel_load")
        phones = seed_phones(engine, args.phones)
        servers = []
        for _ in range(args.servers):
            srv = ServerProc(url, Path(tempfile.mkdtemp(prefix="gp-rel-load-")),
                             workers=args.server_workers, env=scheduler_env(args.job_every_s))
            srv.start()
            stack.callback(srv.stop)
            servers.append(srv)
        since = dt.datetime.now(dt.UTC)
        load_before = os.getloadavg()
        out = run_load([s.url for s in servers], phones, seconds=args.seconds,
                       every_s=args.upload_every_s, per_batch=args.fixes_per_batch,
                       processes=args.client_processes, conns=args.connections)
        out["load_avg_before"] = load_before
        out["load_avg_after"] = os.getloadavg()
        out["jobs_during_load"] = job_runs(engine, since)
        bad = verify(engine, phones, out)
        if not out["jobs_during_load"]:
            bad.append("no scheduled job ran during the load")
        for name, j in out["jobs_during_load"].items():
            if j["overlaps"]:
                bad.append(f"job {name}: {j['overlaps']} overlapping runs")
        engine.dispose()
    out = {k: v for k, v in out.items() if not k.startswith("_")}
    out.update({"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "servers": args.servers, "server_workers": args.server_workers,
                "ok": not bad, "problems": bad})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, default=str))
    print(json.dumps(out, indent=2, default=str))
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
