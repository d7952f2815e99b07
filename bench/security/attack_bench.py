"""Brute force and resource attacks against a real server, with its memory measured.

    uv run python -m bench.security.attack_bench [--seconds 60] [--rate-per-min 1000]
        [--servers 2] [--database-url URL]

Starts ``--servers`` processes of ``uvicorn server.app:create_app`` on 127.0.0.1 (the
reliability harness's ``ServerProc`` with the production rate limits) on one database (a
throwaway SQLite file unless ``--database-url``) and, from threads of this process:

* **brute force**: ``--rate-per-min`` login attempts a minute against one account (wrong
  passwords, a new device id each time, spread round-robin over the servers) for
  ``--seconds``, while a bystander worker logs in every 15 s (also round-robin) and **the
  victim, the account's owner, logs in from their approved phone every 15 s** with the right
  password: counts per status and per server, the owner's and the bystander's answers and
  latency. Each party has its own source address (``X-Forwarded-For``, which uvicorn takes
  from 127.0.0.1 by default): attacker 203.0.113.9, owner 192.0.2.10, bystander 192.0.2.20;
  ``--same-source`` sends all from one address (then the per-address bucket throttles all);
* **resource attacks**, one after another: oversized bodies (50 MiB, with and without
  Content-Length) on the office login, the import and the position upload; 501-item
  batches; ``limit=10**9``; 144-Mpx PNG photo bombs; 30-photo logs. Each: statuses, and the
  first server's resident memory (VmRSS sampled every 50 ms; VmHWM = peak) before and after.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.reliability.harness import ServerProc, start_all
from bench.security.fuzz import seed_worker

M = "/api/mobile/v1"


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, KiB (Linux /proc)."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


ATTACKER, OWNER, BYSTANDER = "203.0.113.9", "192.0.2.10", "192.0.2.20"


def brute_force(bases: list[str], victim: dict[str, str], bystander: dict[str, str],
                seconds: float, rate_per_min: float, same_source: bool = False) -> dict[str, Any]:
    """Throttled attempts at ``rate_per_min`` against one phone, round-robin over ``bases``;
    the owner's logins from their approved phone and the bystander's logins meanwhile."""
    def src(addr: str) -> dict[str, str]:
        return {"X-Forwarded-For": ATTACKER if same_source else addr}

    codes: Counter[int] = Counter()
    per_server: list[Counter[int]] = [Counter() for _ in bases]
    by_codes: Counter[int] = Counter()
    by_ms: list[float] = []
    stop = time.monotonic() + seconds
    gap = 60.0 / rate_per_min

    def attacker() -> None:
        clients = [httpx.Client(base_url=b, timeout=10) for b in bases]
        try:
            i, nxt = 0, time.monotonic()
            while time.monotonic() < stop:
                k = i % len(clients)
                r = clients[k].post(f"{M}/auth/login", json={"phone": victim["phone"],
                                                             "password": f"guess-{i}",
                                                             "device_uid": f"atk-{i}"},
                                     headers=src(ATTACKER))
                codes[r.status_code] += 1
                per_server[k][r.status_code] += 1
                i += 1
                nxt += gap
                time.sleep(max(0.0, nxt - time.monotonic()))
        finally:
            for c in clients:
                c.close()

    owner_codes: Counter[int] = Counter()
    owner_ms: list[float] = []

    def honest(creds: dict[str, str], addr: str, got: Counter[int], ms: list[float],
               offset_s: float) -> None:
        time.sleep(offset_s)
        i = 0
        while time.monotonic() < stop:
            with httpx.Client(base_url=bases[i % len(bases)], timeout=10) as c:
                t0 = time.perf_counter()
                r = c.post(f"{M}/auth/login", json=creds, headers=src(addr))
            ms.append((time.perf_counter() - t0) * 1000)
            got[r.status_code] += 1
            i += 1
            time.sleep(15.0)

    ts = [threading.Thread(target=attacker),
          threading.Thread(target=honest, args=(bystander, BYSTANDER, by_codes, by_ms, 0.0)),
          threading.Thread(target=honest, args=(victim, OWNER, owner_codes, owner_ms, 5.0))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with httpx.Client(base_url=bases[-1], timeout=10) as c:
        right = c.post(f"{M}/auth/login", json=victim, headers=src(OWNER))
    return {"attempts": sum(codes.values()), "by_status": dict(sorted(codes.items())),
            "by_server": [dict(sorted(c.items())) for c in per_server],
            "attempts_per_min": round(sum(codes.values()) * 60.0 / seconds),
            "victim_right_password_after_attack": right.status_code,
            "owner_logins_during_attack": dict(sorted(owner_codes.items())),
            "owner_p50_ms": round(statistics.median(owner_ms), 1) if owner_ms else None,
            "bystander_logins": dict(by_codes),
            "bystander_p50_ms": round(statistics.median(by_ms), 1) if by_ms else None}


def _png(w: int, h: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (w, h)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _sample(pid: int, peak: list[int], done: threading.Event) -> None:
    while not done.is_set():
        peak.append(rss_kib(pid)["VmRSS"])
        time.sleep(0.05)


def resource_attacks(base: str, pid: int, creds: dict[str, str]) -> dict[str, Any]:
    """Each attack: statuses and the server's RSS before/peak/after (KiB)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        tok = c.post(f"{M}/auth/login", json=creds).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    big = 50 * 1024 * 1024
    bomb = _png(12_000, 12_000)
    small = _png(64, 64)
    item = {"client_id": "x", "seq": 1, "kind": "heartbeat",
            "recorded_at": "2026-11-20T10:00:00+08:00", "battery_pct": 5}

    def chunks() -> Any:
        block = b" " * (1 << 20)
        for _ in range(big >> 20):
            yield block

    attacks = {
        "office_login_50MiB": lambda c: c.post("/api/office/login", content=b" " * big,
                                               headers={"content-type": "application/json"}),
        "office_login_50MiB_streamed": lambda c: c.post(
            "/api/office/login", content=chunks(), headers={"content-type": "application/json"}),
        "import_50MiB": lambda c: c.post("/api/office/import/grids",
                                         files={"file": ("a.geojson", b"x" * big)}),
        "positions_50MiB": lambda c: c.post(f"{M}/positions", content=b" " * big,
                                            headers={**h, "content-type": "application/json"}),
        "positions_501_items": lambda c: c.post(f"{M}/positions", headers=h, json={"items": [
            {**item, "client_id": f"c{i}", "seq": i} for i in range(501)]}),
        "requests_limit_1e9": lambda c: c.get(f"{M}/requests?limit=1000000000", headers=h),
        "photo_bomb_144Mpx": lambda c: c.post(f"{M}/patrol-logs", headers=h, data={"text": "x"},
                                              files={"photos": ("a.png", bomb, "image/png")}),
        "photos_30": lambda c: c.post(f"{M}/patrol-logs", headers=h, data={"text": "x"}, files=[
            ("photos", (f"{i}.png", small, "image/png")) for i in range(30)]),
    }
    out: dict[str, Any] = {"rss_start_kib": rss_kib(pid)["VmRSS"]}
    for name, fn in attacks.items():
        before = rss_kib(pid)["VmRSS"]
        peak = [before]
        done = threading.Event()

        t = threading.Thread(target=_sample, args=(pid, peak, done))
        t.start()
        statuses: Counter[int] = Counter()
        t0 = time.perf_counter()
        with httpx.Client(base_url=base, timeout=120) as c:
            for _ in range(5):
                try:
                    statuses[fn(c).status_code] += 1
                except httpx.HTTPError as exc:  # the server may close the connection at 413
                    statuses[type(exc).__name__] += 1  # type: ignore[index]
        done.set()
        t.join()
        out[name] = {"statuses": dict(statuses), "ms_each": round(
            (time.perf_counter() - t0) * 200, 1), "rss_before_kib": before,
            "rss_peak_kib": max(peak), "rss_after_kib": rss_kib(pid)["VmRSS"]}
    out["rss_hwm_kib"] = rss_kib(pid)["VmHWM"]
    return out


def main() -> None:
    """Command line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate-per-min", type=float, default=1000.0)
    ap.add_argument("--servers", type=int, default=1, help="API processes on one database")
    ap.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    ap.add_argument("--skip-resources", action="store_true", help="brute force only")
    ap.add_argument("--same-source", action="store_true",
                    help="attacker, owner and bystander from one address")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="gp-attack-") as tmp:
        url = a.database_url or f"sqlite:///{Path(tmp) / 'attack.db'}"
        victim = seed_worker(url, "13900000001")
        bystander = seed_worker(url, "13900000002")
        other = seed_worker(url, "13900000003")
        servers = [ServerProc(url, Path(tmp) / f"s{i}", limits="production")
                   for i in range(a.servers)]
        try:
            start_all(servers)
            res: dict[str, Any] = {"servers": a.servers, "database": url.split(":")[0]}
            res["brute_force"] = brute_force([s.url for s in servers], victim, bystander,
                                             a.seconds, a.rate_per_min, a.same_source)
            if not a.skip_resources:
                res["resources"] = resource_attacks(servers[0].url, servers[0].pid or 0, other)
            res["server_tracebacks"] = sum(
                s.log_path.read_text(errors="replace").count("Traceback") for s in servers)
        finally:
            for s in servers:
                s.stop()
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
