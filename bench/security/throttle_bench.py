"""Cost of a shared (database) rate-limit take against an in-process one.

    uv run python -m bench.security.throttle_bench [--database-url URL] [--takes 2000]

For each store: ``--takes`` takes from 1 and from 4 threads (distinct keys, as many devices
or phones), then 4 threads on one key (one account under attack: the row is contended).
Prints per case the takes per second and p50/p99 latency in ms as JSON. Default database:
a throwaway SQLite file; pass a PostgreSQL URL for the other backend.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from checkins.auth.throttle import SharedBuckets
from checkins.db.engine import make_engine
from checkins.db.migrate import upgrade
from server.mobile.ratelimit import TokenBucket


def run_case(bucket: Any, takes: int, threads: int, one_key: bool) -> dict[str, float]:
    """Takes spread over ``threads``; throughput and latency."""
    lat: list[float] = []
    lock = threading.Lock()
    per = takes // threads

    def work(t: int) -> None:
        mine = []
        for i in range(per):
            key = "victim" if one_key else f"dev-{t}-{i % 50}"
            t0 = time.perf_counter()
            bucket.take(key)
            mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            lat.extend(mine)

    ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    return {"takes_per_s": round(len(lat) / wall), "p50_ms": round(statistics.median(lat), 3),
            "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 3)}


def main() -> None:
    """Command line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--takes", type=int, default=2000)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gp-throttle-") as tmp:
        url = a.database_url or f"sqlite:///{Path(tmp) / 'throttle.db'}"
        engine = make_engine(url)
        upgrade(engine)
        out: dict[str, Any] = {"database": engine.dialect.name}
        stores = {"process": lambda: TokenBucket(1e9, 1e9),
                  "database": lambda: SharedBuckets(engine, f"bench{time.time_ns()}", 1e9, 1e9)}
        for name, make in stores.items():
            out[name] = {f"{th}_threads{'_one_key' if one else ''}": run_case(
                make(), a.takes, th, one) for th, one in ((1, False), (4, False), (4, True))}
        engine.dispose()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
