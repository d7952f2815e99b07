"""Phones loading a running server: client processes with httpx lanes, shared by the API
benchmarks (``ingest_bench.py``, ``osmand_bench.py``).

``run_clients`` starts ``clients`` processes; each drives ``concurrency`` lanes (one
connection each) for ``seconds``. A lane takes its share of the workers round-robin and
calls ``send(client, worker, n, lane, state)`` for the worker's ``n``-th request, which
answers the fixes the server accepted, ``None`` for a failed request, or :data:`STOP`
when the worker has nothing more to send (not timed). ``prepare(workers, seconds, tag)``
builds ``state`` in the process before the clock starts (pre-built bodies). Both are
module-level functions (they cross into the client processes).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

STOP = object()
Send = Callable[[Any, dict[str, Any], int, int, Any], Awaitable[Any]]
Prepare = Callable[[list[dict[str, Any]], float, str], Any]


def _client_proc(url: str, workers: list[dict[str, Any]], seconds: float, concurrency: int,
                 send: Send, prepare: Prepare | None, tag: str, q: Any) -> None:
    import httpx

    state = prepare(workers, seconds, tag) if prepare is not None else tag
    lat: list[float] = []
    acked = errors = 0

    async def main() -> None:
        nonlocal acked, errors
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            deadline = time.perf_counter() + seconds

            async def lane(k: int) -> None:
                nonlocal acked, errors
                mine = workers[k::concurrency] or workers
                i = 0
                while time.perf_counter() < deadline:
                    w = mine[i % len(mine)]
                    n = i // len(mine)
                    i += 1
                    t = time.perf_counter()
                    got = await send(client, w, n, k, state)
                    if got is STOP:
                        break
                    lat.append(time.perf_counter() - t)
                    if got is None:
                        errors += 1
                    else:
                        acked += got

            await asyncio.gather(*(lane(k) for k in range(concurrency)))

    t = time.perf_counter()
    asyncio.run(main())
    q.put({"acked": acked, "errors": errors, "lat": lat, "elapsed": time.perf_counter() - t})


def run_clients(url: str, workers: list[dict[str, Any]], *, clients: int, seconds: float,
                concurrency: int, send: Send, tag: str,
                prepare: Prepare | None = None) -> dict[str, Any]:
    """Load ``url`` from ``clients`` processes; requests, fixes accepted, errors, rates and
    latency percentiles over all of them."""
    q: Any = mp.Queue()
    chunks = [workers[i::clients] for i in range(clients)]
    procs = [mp.Process(target=_client_proc, args=(url, chunks[i], seconds, concurrency, send,
                                                   prepare, f"{tag}{i}", q))
             for i in range(clients)]
    for p in procs:
        p.start()
    res = [q.get() for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in res for x in r["lat"])
    elapsed = max(r["elapsed"] for r in res)
    acked = sum(r["acked"] for r in res)
    return {"requests": len(lat), "fixes": acked, "errors": sum(r["errors"] for r in res),
            "seconds": round(elapsed, 2), "requests_per_s": round(len(lat) / elapsed),
            "fixes_per_s": round(acked / elapsed),
            "p50_ms": round(1000 * lat[len(lat) // 2], 1) if lat else None,
            "p99_ms": round(1000 * lat[int(len(lat) * 0.99)], 1) if lat else None,
            "mean_ms": round(1000 * statistics.fmean(lat), 1) if lat else None}
