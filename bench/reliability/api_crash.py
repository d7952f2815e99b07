"""Crash of the API: ``kill -9`` of the server process, again and again, during uploads.

    uv run python bench/reliability/api_crash.py                  # 40 phones, 8 kills
    uv run python bench/reliability/api_crash.py --kills 20 --server-workers 2

Simulated phones (``mobile_api_spec.simulator.PhoneSimulator``, one thread each) record a
fix every few milliseconds and upload their buffer in batches; an upload without an answer
(connection refused or cut, 5xx) stays buffered and is retried with the same client ids.
Meanwhile the server process group is SIGKILLed every ``--kill-every-s`` (jittered) and
started again on the same port. At the end the phones stop recording and flush until their
buffers are empty. Checks: every acknowledged client id (answered ``accepted`` or
``duplicate`` in a 200) is stored; stored == unique created; no fix stored twice.

Default database: a throwaway one on the local PostgreSQL (created and dropped);
``--database-url sqlite:////tmp/x.db`` runs it on SQLite. Smoke version in the suite:
``tests/reliability/test_api_crash.py``.
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
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import httpx  # noqa: E402

from bench.reliability.harness import Phone, ServerProc, stored_ids  # noqa: E402
from mobile_api_spec.simulator import PhoneSimulator, TrackPoint  # noqa: E402


class PhoneThread(threading.Thread):
    """One phone: record fixes, upload in batches, keep what got no answer, retry."""

    def __init__(self, url: str, phone: Phone, stop: threading.Event, *, batch_size: int = 20,
                 record_every_s: float = 0.01, per_round: int = 5) -> None:
        super().__init__(daemon=True)
        self.phone = phone
        self.stop_recording = stop
        self.per_round = per_round
        self.record_every_s = record_every_s
        self.sim = PhoneSimulator(url, phone="-", password="-", device_uid=f"dev{phone.device_id}",
                                  batch_size=batch_size, timeout_s=10.0,
                                  id_prefix=f"crash-{phone.device_id}")
        self.sim.access_token = phone.token  # minted: no argon2 login per phone
        self.t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
        self.created: list[str] = []
        self.errors: list[str] = []

    def _record(self) -> None:
        k = self.sim.seq
        p = TrackPoint(t=self.t0 + dt.timedelta(seconds=k), lon=self.phone.lon + (k % 40) * 1e-5,
                       lat=self.phone.lat + (k % 31) * 1e-5, accuracy_m=9.0)
        self.created.append(self.sim.record(p)["client_id"])

    def run(self) -> None:
        try:
            while not self.stop_recording.is_set():
                for _ in range(self.per_round):
                    self._record()
                self.sim.flush(max_retries=2, backoff_s=0.05)
                time.sleep(self.record_every_s * (0.5 + random.random()))
            deadline = time.monotonic() + 120
            while self.sim.buffer and time.monotonic() < deadline:
                self.sim.flush(max_retries=10, backoff_s=0.1)
        except Exception as exc:  # noqa: BLE001 - reported in the summary
            self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self.sim.close()

    @property
    def acknowledged(self) -> set[str]:
        """Client ids the server answered (accepted or duplicate) in a 200."""
        return {c for c, s in self.sim.results.items() if s in ("accepted", "duplicate")}


def run_crashes(server: ServerProc, phones: Sequence[Phone], *, kills: int, kill_every_s: float,
                down_s: float = 0.3, batch_size: int = 20, seed: int = 0) -> dict[str, Any]:
    """Run the phones while killing and restarting ``server``; the phones' outcome."""
    rng = random.Random(seed)
    stop = threading.Event()
    threads = [PhoneThread(server.url, p, stop, batch_size=batch_size) for p in phones]
    for t in threads:
        t.start()
    restarts: list[float] = []
    for _ in range(kills):
        time.sleep(kill_every_s * (0.5 + rng.random()))
        server.kill9()
        time.sleep(down_s)
        t = time.perf_counter()
        server.start()
        restarts.append(time.perf_counter() - t)
    time.sleep(kill_every_s / 2)
    stop.set()
    for t in threads:
        t.join(timeout=300)
    created = [c for t in threads for c in t.created]
    acked = set().union(*(t.acknowledged for t in threads))
    return {"phones": len(phones), "kills": server.kills, "restart_s_max": round(max(restarts, default=0), 1),
            "created": len(created), "unique_created": len(set(created)), "acknowledged": len(acked),
            "unsent_left": sum(len(t.sim.buffer) for t in threads),
            "failed_uploads_retried": sum(t.sim.stats.failures for t in threads),
            "phone_errors": [e for t in threads for e in t.errors][:5],
            "_created": set(created), "_acked": acked}


def verify(engine: Any, phones: Sequence[Phone], out: dict[str, Any]) -> list[str]:
    """Compare with the database; fills ``stored``, ``lost_acknowledged``, ``duplicate_rows``."""
    ids = stored_ids(engine, [p.device_id for p in phones])
    rows = [c for v in ids.values() for c in v]
    stored = set(rows)
    out["stored"] = len(rows)
    out["duplicate_rows"] = len(rows) - len(stored)
    out["lost_acknowledged"] = len(out["_acked"] - stored)
    out["stored_not_created"] = len(stored - out["_created"])
    bad = []
    if out["lost_acknowledged"]:
        bad.append(f"{out['lost_acknowledged']} acknowledged fixes are not stored")
    if out["duplicate_rows"]:
        bad.append(f"{out['duplicate_rows']} fixes stored twice")
    if len(rows) != out["unique_created"]:
        bad.append(f"stored {len(rows)} != unique created {out['unique_created']}")
    if out["phone_errors"]:
        bad.append(f"phone errors: {out['phone_errors']}")
    return bad


def main(argv: list[str] | None = None) -> int:
    """Command line: the full run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phones", type=int, default=40)
    ap.add_argument("--kills", type=int, default=8)
    ap.add_argument("--kill-every-s", type=float, default=4.0)
    ap.add_argument("--server-workers", type=int, default=1)
    ap.add_argument("--database-url", help="default: a throwaway database on --pg-admin-url")
    ap.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--out", default="bench/out/reliability_api_crash.json")
    args = ap.parse_args(argv)

    from bench.reliability.harness import bench_database, seed_phones

    with ExitStack() as stack:
        url, engine = bench_database(stack, args.database_url, args.pg_admin_url,
                                     "gridpatrol_rel_api")
        phones = seed_phones(engine, args.phones)
        server = ServerProc(url, Path(tempfile.mkdtemp(prefix="gp-rel-api-")),
                            workers=args.server_workers)
        server.start()
        stack.callback(server.stop)
        out = run_crashes(server, phones, kills=args.kills, kill_every_s=args.kill_every_s)
        bad = verify(engine, phones, out)
        engine.dispose()
    out = {k: v for k, v in out.items() if not k.startswith("_")}
    out.update({"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "backend": url.split(":")[0], "server_workers": args.server_workers,
                "load_avg": os.getloadavg(), "ok": not bad, "problems": bad})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))
    return 0 if not bad else 1


_ = httpx  # the phones' client library (PhoneSimulator)

if __name__ == "__main__":
    raise SystemExit(main())
