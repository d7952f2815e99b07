"""Crash of PostgreSQL during uploads, then restart; and a control that must show a loss.

    uv run python bench/reliability/pg_crash.py                 # the run + the control run

Never touches the shared server on 127.0.0.1:5432: each run initdb's a PRIVATE PostgreSQL 15
cluster in a temp dir (own port, own socket dir; as user ``postgres`` when run as root),
creates PostGIS, migrates, seeds phones and starts the API (``uvicorn
server.app:create_app``) on it. Simulated phones (``mobile_api_spec.simulator``) upload
and retry; every ``--crash-every-s`` (jittered) the cluster is crashed: SIGKILL to the
postmaster and every backend, WAL writer and checkpointer at once (nothing gets to flush),
then ``pg_ctl start`` (crash recovery from the WAL). Checks afterwards: every acknowledged
fix is stored, stored == unique created, nothing stored twice.

The **control** run is the same with ``synchronous_commit = off`` and ``wal_writer_delay =
10s``: PostgreSQL then answers COMMIT before the commit's WAL is written, so a crash loses
commits the API already acknowledged; the check must see ``lost_acknowledged > 0``, which
shows it can detect a loss. (Killing the processes loses only what was still in PostgreSQL's
own WAL buffers, not what was handed to the kernel: a power cut would lose more.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.reliability.api_crash import PhoneThread, verify  # noqa: E402
from bench.reliability.harness import PrivateCluster, ServerProc, seed_phones  # noqa: E402

CONTROL = {"synchronous_commit": "off", "wal_writer_delay": "'10s'",
           "wal_writer_flush_after": "'1GB'"}


def one_run(*, control: bool, phones_n: int, crashes: int, crash_every_s: float,
            down_s: float = 0.5, seed: int = 0) -> dict[str, Any]:
    """Private cluster, API, phones, ``crashes`` crashes; the verified outcome."""
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    rng = random.Random(seed)
    cluster = PrivateCluster(settings=CONTROL if control else None)
    server = None
    try:
        cluster.init()
        engine = make_engine(cluster.url)
        upgrade(engine)
        phones = seed_phones(engine, phones_n)
        engine.dispose()
        server = ServerProc(cluster.url, Path(tempfile.mkdtemp(prefix="gp-rel-pg-")))
        server.start()
        stop = threading.Event()
        threads = [PhoneThread(server.url, p, stop, batch_size=20, per_round=5) for p in phones]
        for t in threads:
            t.start()
        killed = []
        recovery_s = []
        for _ in range(crashes):
            time.sleep(crash_every_s * (0.5 + rng.random()))
            killed.append(cluster.kill9())
            time.sleep(down_s)
            t0 = time.perf_counter()
            cluster.start()
            recovery_s.append(time.perf_counter() - t0)
        time.sleep(crash_every_s / 2)
        stop.set()
        for t in threads:
            t.join(timeout=300)
        created = [c for t in threads for c in t.created]
        out: dict[str, Any] = {
            "control_synchronous_commit_off": control, "phones": phones_n, "crashes": len(killed),
            "processes_killed_per_crash": killed,
            "restart_recovery_s_max": round(max(recovery_s, default=0.0), 2),
            "created": len(created), "unique_created": len(set(created)),
            "acknowledged": len(set().union(*(t.acknowledged for t in threads))),
            "failed_uploads_retried": sum(t.sim.stats.failures for t in threads),
            "unsent_left": sum(len(t.sim.buffer) for t in threads),
            "phone_errors": [e for t in threads for e in t.errors][:5],
            "_created": set(created), "_acked": set().union(*(t.acknowledged for t in threads)),
        }
        engine = make_engine(cluster.url)
        out["problems"] = verify(engine, phones, out)
        engine.dispose()
        return {k: v for k, v in out.items() if not k.startswith("_")}
    finally:
        if server is not None:
            server.stop()
        cluster.destroy()


def main(argv: list[str] | None = None) -> int:
    """Command line: the crash run and (unless --no-control) the control run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phones", type=int, default=20)
    ap.add_argument("--crashes", type=int, default=5)
    ap.add_argument("--crash-every-s", type=float, default=4.0)
    ap.add_argument("--no-control", action="store_true")
    ap.add_argument("--only-control", action="store_true")
    ap.add_argument("--out", default="bench/out/reliability_pg_crash.json")
    args = ap.parse_args(argv)
    runs = []
    if not args.only_control:
        runs.append(one_run(control=False, phones_n=args.phones, crashes=args.crashes,
                            crash_every_s=args.crash_every_s, seed=1))
    if not args.no_control:
        runs.append(one_run(control=True, phones_n=args.phones, crashes=args.crashes,
                            crash_every_s=args.crash_every_s, seed=2))
    ok = True
    for r in runs:
        if r["control_synchronous_commit_off"]:
            r["control_detected_loss"] = r["lost_acknowledged"] > 0
            ok &= r["control_detected_loss"]
        else:
            ok &= not r["problems"]
    summary = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "load_avg": os.getloadavg(), "runs": runs, "ok": ok}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
