"""Mixed office load on one real server: phones uploading, office pages, beats, the live job.

    uv run python bench/office_load.py                          # SQLite (the default backend)
    uv run python bench/office_load.py --phones 40 --rounds 30  # more
    uv run python bench/office_load.py --database-url postgresql://postgres@127.0.0.1/gp_x

A ``uvicorn server.app:create_app`` process on 127.0.0.1 (liveness beats on, every second)
serves a fresh database; client threads run a fixed number of rounds each:

* ``--phones`` phones upload ``--fixes-per-batch`` fixes per round (``POST /positions``);
* ``--clerks`` office clerks load the worker-day page (it writes a track-view audit row),
  the day table and the live page per round;
* a beat thread writes a liveness tick every 0.1 s, ``--rounds`` times (the server's own
  beats run too, every second; a real server beats every 20 s), and a job
  thread runs the ``live_checks`` job per round (as the scheduler does).

Reports requests, 5xx (must be 0), other non-2xx, p50/p95 latency per kind, fixes stored
== sent. :func:`run_mixed_load` is also what ``tests/server/test_mixed_load.py`` runs,
with small counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reliability.harness import (  # noqa: E402
    PREFIX,
    Phone,
    ServerProc,
    fixes,
    seed_phones,
    stored_counts,
)


def seed_office(engine: Any, phones: list[Phone], day: dt.date) -> tuple[str, str]:
    """A township office user with a session token, and a day result per phone's worker on
    ``day``; the village id and the token."""
    from sqlmodel import Session

    from checkins import tables as m
    from checkins.auth.models import OfficeSession
    from checkins.auth.office import _hash

    token = secrets.token_urlsafe(24)
    with Session(engine) as s:
        w = s.get(m.Worker, phones[0].worker_id)
        vid = w.village_id
        u = m.OfficeUser(username=f"load-{secrets.token_hex(3)}", password_hash="x",
                         role="township_office", village_id=None)
        s.add(u)
        s.flush()
        s.add(OfficeSession(token_hash=_hash(token), user_id=u.id,
                            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=6)))
        for p in phones:
            s.add(m.DayResult(worker_id=p.worker_id, work_date=day, provisional=False, result={
                "worker_id": p.worker_id, "date": day.isoformat(), "role": "fulltime",
                "working_day": True, "offpost": [], "phone_off": [], "suspect_fixes": 0,
                "suspect_fix_details": [], "deductions": []}))
        s.commit()
    return vid, token


def run_mixed_load(server_url: str, engine: Any, phones: list[Phone], *, village_id: str,
                   office_token: str, day: dt.date, rounds: int, clerks: int,
                   fixes_per_batch: int = 20) -> dict[str, Any]:
    """Run the load (blocking); the counts and latencies (see the module docstring)."""
    import httpx
    from sqlmodel import Session

    from checkins.jobs import scheduled
    from checkins.outages.service import record_tick

    lock = threading.Lock()
    lat: dict[str, list[float]] = defaultdict(list)
    status: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    errors: list[str] = []
    sent = 0
    run = secrets.token_hex(3)
    t0 = dt.datetime.combine(day, dt.time(1, 0), tzinfo=dt.UTC)

    def record(kind: str, r: httpx.Response, s: float) -> None:
        with lock:
            lat[kind].append(s)
            status[kind][r.status_code] += 1
            if r.status_code >= 500:
                errors.append(f"{kind} {r.status_code} {r.text[:200]}")

    def phone_loop(p: Phone) -> None:
        nonlocal sent
        with httpx.Client(base_url=server_url, timeout=60) as c:
            for k in range(rounds):
                items = fixes(p, f"{run}-{p.device_id}", range(k * fixes_per_batch,
                                                              (k + 1) * fixes_per_batch), t0)
                t = time.perf_counter()
                r = c.post(f"{PREFIX}/positions", headers=p.headers,
                           content=json.dumps({"items": items}))
                record("upload", r, time.perf_counter() - t)
                if r.status_code < 300:
                    with lock:
                        sent += len(items)

    def clerk_loop(i: int) -> None:
        h = {"Authorization": f"Bearer {office_token}"}
        with httpx.Client(base_url=server_url, timeout=60, headers=h) as c:
            for k in range(rounds):
                w = phones[(i + k) % len(phones)].worker_id
                for kind, path in (("worker_day", f"/office/workers/{w}/days/{day}"),
                                   ("day_table", f"/office/villages/{village_id}/days/{day}"),
                                   ("live", f"/office/villages/{village_id}/live")):
                    t = time.perf_counter()
                    r = c.get(path)
                    record(kind, r, time.perf_counter() - t)

    def beat_loop() -> None:
        for _ in range(rounds):
            try:
                with Session(engine) as s:
                    record_tick(s, dt.datetime.now(dt.UTC))
                    s.commit()
            except Exception as exc:  # noqa: BLE001 - counted: a beat that fails is a bug too
                with lock:
                    errors.append(f"beat {type(exc).__name__}: {exc}")
            time.sleep(0.1)

    def job_loop() -> None:
        for _ in range(max(1, rounds // 3)):
            out = scheduled.run_job(engine, "live_checks",
                                    lambda s: scheduled.live_checks(s))
            if out["status"] not in ("ok", "skipped", "locked"):
                with lock:
                    errors.append(f"live_checks {out}")

    threads = ([threading.Thread(target=phone_loop, args=(p,)) for p in phones]
               + [threading.Thread(target=clerk_loop, args=(i,)) for i in range(clerks)]
               + [threading.Thread(target=beat_loop), threading.Thread(target=job_loop)])
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    rows, distinct = stored_counts(engine, [p.device_id for p in phones])
    out: dict[str, Any] = {
        "wall_s": round(wall, 2), "sent_fixes": sent, "stored_fixes": rows,
        "stored_distinct": distinct, "errors": errors[:20],
        "server_errors": sum(n for s in status.values() for c, n in s.items() if c >= 500),
        "requests": sum(n for s in status.values() for n in s.values()),
        "status": {k: dict(v) for k, v in status.items()}, "latency_ms": {}}
    for kind, xs in lat.items():
        xs = sorted(xs)
        out["latency_ms"][kind] = {
            "n": len(xs), "p50": round(statistics.median(xs) * 1000, 1),
            "p95": round(xs[min(len(xs) - 1, int(len(xs) * 0.95))] * 1000, 1),
            "max": round(xs[-1] * 1000, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phones", type=int, default=20)
    ap.add_argument("--clerks", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--fixes-per-batch", type=int, default=20)
    ap.add_argument("--database-url", default=None,
                    help="default: a fresh SQLite file in a temp dir")
    args = ap.parse_args()

    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="gp-office-load-"))
    url = args.database_url or f"sqlite:///{tmp / 'gridpatrol.db'}"
    engine = make_engine(url)
    upgrade(engine)
    phones = seed_phones(engine, args.phones)
    day = dt.datetime.now(dt.UTC).date()
    vid, token = seed_office(engine, phones, day)
    srv = ServerProc(url, tmp, env={"GRIDPATROL_LIVENESS_ENABLED": "true",
                                    "GRIDPATROL_LIVENESS_TICK_SECONDS": "1",
                                    "GRIDPATROL_OUTAGE_GAP_MINUTES": "1"})
    srv.start()
    try:
        out = run_mixed_load(srv.url, engine, phones, village_id=vid, office_token=token,
                             day=day, rounds=args.rounds, clerks=args.clerks,
                             fixes_per_batch=args.fixes_per_batch)
    finally:
        srv.stop()
    out["backend"] = engine.dialect.name
    out["server_log"] = str(srv.log_path)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    sys.exit(1 if out["server_errors"] or out["stored_fixes"] != out["sent_fixes"] else 0)


if __name__ == "__main__":
    main()
