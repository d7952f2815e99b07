"""Duplicates and retries: every batch sent 3 times at once, batches in random order.

    uv run python bench/reliability/duplicates.py                 # 10,000 batches x 50 fixes
    uv run python bench/reliability/duplicates.py --batches 500   # a shorter run

On a throwaway PostgreSQL database (on ``--pg-admin-url``, default the local server; created
and dropped) a real ``uvicorn server.app:create_app`` (``--workers 2``) is started. Each batch
of 50 unique fixes is POSTed three times concurrently, each copy with its items in its own
random order; batches go in random order, ``--concurrency`` batches in flight. Every tenth
batch has all 50 fixes at the *same* timestamp (the dedupe key is the client id per device,
not the time). A copy that gets a 5xx or a transport error is retried.

Checks: stored rows == distinct (device, client id) == batches x 50; each client id answered
``accepted`` by exactly one copy and ``duplicate`` by the others. Prints a JSON summary and
exits 1 when a check fails. The suite's smoke version: ``tests/reliability/test_duplicates.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from bench.reliability.harness import PREFIX, Phone, fixes  # noqa: E402


def plan(phones: Sequence[Phone], n_batches: int, batch_size: int, run: str,
         t0: dt.datetime) -> list[tuple[Phone, list[dict[str, Any]]]]:
    """The batches: round-robin over phones, unique client ids, every 10th at one timestamp."""
    next_seq = {p.device_id: 0 for p in phones}
    out = []
    for b in range(n_batches):
        p = phones[b % len(phones)]
        a = next_seq[p.device_id]
        next_seq[p.device_id] = a + batch_size
        items = fixes(p, f"{run}-{p.device_id}", range(a, a + batch_size), t0, step_s=2,
                      same_time=(b % 10 == 9))
        if b % 10 == 9:  # one timestamp for the whole batch, still 50 different fixes
            t = (t0 + dt.timedelta(seconds=2 * a)).isoformat()
            for it in items:
                it["recorded_at"] = t
        out.append((p, items))
    return out


async def send_all(url: str, batches: list[tuple[Phone, list[dict[str, Any]]]], *, copies: int = 3,
                   concurrency: int = 8, seed: int = 0, max_tries: int = 20) -> dict[str, Any]:
    """Send every batch ``copies`` times concurrently (shuffled items), retrying failures."""
    rng = random.Random(seed)
    order = list(range(len(batches)))
    rng.shuffle(order)
    accepted: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    latencies: list[float] = []
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency * copies, max_keepalive_connections=concurrency * copies)

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one_copy(p: Phone, items: list[dict[str, Any]]) -> None:
            body = json.dumps({"items": items}, separators=(",", ":"))
            for _ in range(max_tries):
                t = time.perf_counter()
                try:
                    r = await client.post(f"{PREFIX}/positions", content=body, headers=p.headers)
                except httpx.TransportError as exc:
                    failures[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                latencies.append(time.perf_counter() - t)
                if r.status_code >= 500 or r.status_code == 429:
                    failures[f"http_{r.status_code}"] += 1
                    await asyncio.sleep(0.05)
                    continue
                r.raise_for_status()
                for it in r.json()["items"]:
                    statuses[it["status"]] += 1
                    if it["status"] == "accepted":
                        accepted[f"{p.device_id}/{it['client_id']}"] += 1
                return
            failures["gave_up"] += 1

        async def one_batch(k: int) -> None:
            p, items = batches[k]
            async with sem:
                copies_ = []
                for _ in range(copies):
                    shuffled = list(items)
                    rng.shuffle(shuffled)
                    copies_.append(one_copy(p, shuffled))
                await asyncio.gather(*copies_)

        t0 = time.perf_counter()
        await asyncio.gather(*(one_batch(k) for k in order))
        elapsed = time.perf_counter() - t0
    lat = sorted(latencies)

    def pct(q: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else None

    return {"accepted_per_client_id": dict(Counter(accepted.values())),
            "accepted_ids": len(accepted), "statuses": dict(statuses),
            "failures_retried": dict(failures), "requests": len(latencies),
            "elapsed_s": round(elapsed, 1), "p50_ms": pct(0.5), "p99_ms": pct(0.99)}


def check(summary: dict[str, Any], n_expected: int, rows: int, distinct: int) -> list[str]:
    """The failed checks (empty when all hold)."""
    bad = []
    if rows != n_expected:
        bad.append(f"stored {rows} != sent {n_expected}")
    if rows != distinct:
        bad.append(f"{rows - distinct} duplicate rows stored")
    if summary["accepted_ids"] != n_expected or set(summary["accepted_per_client_id"]) != {1}:
        bad.append(f"accepted answers per client id: {summary['accepted_per_client_id']}")
    if summary["failures_retried"].get("gave_up"):
        bad.append("some copies were never answered")
    return bad


def main(argv: list[str] | None = None) -> int:
    """Command line: the full run on a throwaway PostgreSQL database."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=10_000)
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--copies", type=int, default=3)
    ap.add_argument("--phones", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=4, help="batches in flight (x copies requests)")
    ap.add_argument("--server-workers", type=int, default=2)
    ap.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--database-url", help="use this (migrated or empty) database instead")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="bench/out/reliability_duplicates.json")
    args = ap.parse_args(argv)

    import os
    import tempfile
    from contextlib import ExitStack

    from bench.reliability.harness import ServerProc, bench_database, seed_phones, stored_counts

    with ExitStack() as stack:
        url, engine = bench_database(stack, args.database_url, args.pg_admin_url,
                                     "gridpatrol_rel_dup")
        phones = seed_phones(engine, args.phones)
        server = ServerProc(url, Path(tempfile.mkdtemp(prefix="gp-rel-")), workers=args.server_workers)
        server.start()
        stack.callback(server.stop)
        t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=8)
        batches = plan(phones, args.batches, args.batch_size, "dup", t0)
        summary = asyncio.run(send_all(server.url, batches, copies=args.copies,
                                       concurrency=args.concurrency, seed=args.seed))
        rows, distinct = stored_counts(engine, [p.device_id for p in phones])
        n = args.batches * args.batch_size
        bad = check(summary, n, rows, distinct)
        summary.update({"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "batches": args.batches, "batch_size": args.batch_size,
                        "copies": args.copies, "sent_unique": n, "stored": rows,
                        "duplicate_rows": rows - distinct, "load_avg": os.getloadavg(),
                        "ok": not bad, "problems": bad})
        engine.dispose()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
