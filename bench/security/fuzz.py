"""Fuzz the committed mobile contract (mobile_api_spec/openapi.json) with schemathesis.

    uv run python -m bench.security.fuzz --max-examples 200 --max-time 1200   # at length
    uv run python -m bench.security.fuzz --max-examples 5                     # CI budget

Starts ``uvicorn server.app:create_app`` on 127.0.0.1 (the reliability harness's
``ServerProc``: no login throttle, a day-long access token, no scheduler) against a
throwaway SQLite database (or ``--database-url``), creates a township, a worker with an approved phone and logs in;
then runs ``st run`` with every check (``--checks all``) and all four phases (examples,
coverage, fuzzing, stateful), the worker's bearer token on every request. Prints a JSON
summary: operations, cases per check and failures per check, the exit code; the JSON report
of schemathesis and the server log (tracebacks of any 5xx) are kept in ``--out``.
``--include REGEX`` fuzzes only the operations whose path matches (``'/me/score$'``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.reliability.harness import ServerProc

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "mobile_api_spec" / "openapi.json"
CONFIG = Path(__file__).with_name("schemathesis.toml")
PASSWORD = "fuzzing password 42"


def seed_worker(database_url: str, phone: str = "13900000000") -> dict[str, str]:
    """A township, village, grid and worker with a password and an approved phone."""
    import shapely
    from sqlmodel import Session

    from checkins.auth import phone as auth
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade
    from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

    engine = make_engine(database_url)
    upgrade(engine)
    tag = secrets.token_hex(3)
    lon, lat = 121.05, 32.45
    with Session(engine) as s:
        s.add(Township(township_id=f"fz{tag}", name="镇"))
        s.flush()
        s.add(Village(village_id=f"fv{tag}", township_id=f"fz{tag}", name="村",
                      office=shapely.Point(lon, lat), radius_m=150.0))
        s.flush()
        s.add(Grid(grid_id=f"fg{tag}", village_id=f"fv{tag}",
                   geom=shapely.box(lon - 0.004, lat - 0.004, lon + 0.004, lat + 0.004)))
        s.add(Worker(worker_id=f"fw{tag}", name="网格员", phone=phone, role="fulltime",
                     village_id=f"fv{tag}"))
        s.flush()
        s.add(GridAssignment(worker_id=f"fw{tag}", grid_id=f"fg{tag}",
                             valid_from=dt.date(2020, 1, 1)))
        auth.set_password(s, f"fw{tag}", PASSWORD)
        auth.register_device(s, worker_id=f"fw{tag}", device_uid=f"fuzz-{tag}", approved=True,
                             actor="fuzz")
        s.commit()
    engine.dispose()
    return {"phone": phone, "password": PASSWORD, "device_uid": f"fuzz-{tag}"}


# the fuzzer logs in once and fuzzes for minutes: a long access token, no login throttle
FUZZ_ENV = {"GRIDPATROL_SCHEDULER_ENABLED": "false", "GRIDPATROL_MOBILE_ACCESS_TTL_S": "86400",
            "GRIDPATROL_MOBILE_LOGIN_BURST": "100000",
            "GRIDPATROL_MOBILE_LOGIN_PER_MIN": "1000000",
            "GRIDPATROL_MOBILE_LOGIN_IP_BURST": "100000",
            "GRIDPATROL_MOBILE_LOGIN_IP_PER_MIN": "1000000"}


def count_checks(ndjson: Path) -> dict[str, dict[str, int]]:
    """Passed/failed results per check name from schemathesis' NDJSON event stream."""
    checks: dict[str, dict[str, int]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, v in node.items():
                if key == "checks" and isinstance(v, dict):
                    for results in v.values():
                        for r in results:
                            c = checks.setdefault(r["name"], {"passed": 0, "failed": 0})
                            c["passed" if r["status"] == "success" else "failed"] += 1
                else:
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for line in ndjson.read_text().splitlines():
        if line.strip():
            walk(json.loads(line))
    return checks


def run(max_examples: int, max_time: float | None, database_url: str | None, out: Path,
        seed: int | None, phases: str, include: str | None = None) -> dict[str, Any]:
    """Start the server, fuzz it, stop it; the summary."""
    with tempfile.TemporaryDirectory(prefix="gp-fuzz-") as tmp:
        tmpd = Path(tmp)
        url_db = database_url or f"sqlite:///{tmpd / 'fuzz.db'}"
        creds = seed_worker(url_db)
        server = ServerProc(url_db, tmpd, env=FUZZ_ENV, log_name="server.log")
        server.start()
        base = server.url
        try:
            r = httpx.post(f"{base}/api/mobile/v1/auth/login", json=creds, timeout=10)
            r.raise_for_status()
            token = r.json()["access_token"]
            out.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run",
                   str(SPEC), "--url", base, "--checks", "all", "--phases", phases,
                   "--max-examples", str(max_examples), "--header",
                   f"Authorization: Bearer {token}", "--workers", "1", "--no-color",
                   "--report", "json,ndjson", "--report-dir", str(out),
                   "--generation-database", "none", "--continue-on-failure"]
            if max_time:
                cmd += ["--max-time", str(int(max_time))]
            if seed is not None:
                cmd += ["--seed", str(seed)]
            if include:
                cmd += ["--include-path-regex", include]
            t0 = time.monotonic()
            # logout revokes the token every other operation uses: fuzzed in a run of its own
            res = subprocess.run(cmd + ["--exclude-path-regex", "/auth/logout$"], cwd=ROOT,
                                 capture_output=True, text=True)
            token2 = httpx.post(f"{base}/api/mobile/v1/auth/login", json=creds,
                                timeout=10).json()["access_token"]
            cmd2 = [a.replace(token, token2) for a in cmd]
            cmd2[cmd2.index("--report-dir") + 1] = str(out / "logout")
            if include:  # only the operations asked for: no logout run
                res2 = subprocess.CompletedProcess(cmd2, 0, "", "")
            else:
                res2 = subprocess.run(cmd2 + ["--include-path-regex", "/auth/logout$"],
                                      cwd=ROOT, capture_output=True, text=True)
            elapsed = time.monotonic() - t0
        finally:
            server.stop()
        log_text = server.log_path.read_text(errors="replace")
        (out / "server.log").write_text(log_text)  # the tracebacks of any 5xx
        server_errors = log_text.count("Traceback")
    (out / "st-output.txt").write_text(res.stdout + res.stderr + res2.stdout + res2.stderr)
    checks: dict[str, dict[str, int]] = {}
    failures: dict[str, int] = {}
    cases = 0
    for d in (out,) if include else (out, out / "logout"):
        nd = max(d.glob("*.ndjson"), default=None, key=lambda p: p.stat().st_mtime)
        if nd is not None:
            c = count_checks(nd)
            for k, v in c.items():
                agg = checks.setdefault(k, {"passed": 0, "failed": 0})
                agg["passed"] += v["passed"]
                agg["failed"] += v["failed"]
        js = max(d.glob("*.json"), default=None, key=lambda p: p.stat().st_mtime)
        if js is not None:
            rep = json.loads(js.read_text())
            cases += rep["test_cases"]["generated"]
            for f in rep["failures"]:
                failures[f"{f['code']} {f['title']}"] = failures.get(
                    f"{f['code']} {f['title']}", 0) + f["count"]
    return {"exit_codes": [res.returncode, res2.returncode], "elapsed_s": round(elapsed, 1),
            "max_examples": max_examples, "phases": phases, "test_cases": cases,
            "checks": checks, "failures": failures, "server_tracebacks": server_errors,
            "tail": (res.stdout + res.stderr)[-1200:]}


def main() -> None:
    """Command line entry."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-examples", type=int, default=200)
    ap.add_argument("--max-time", type=float, default=None, help="seconds for the whole run")
    ap.add_argument("--database-url", default=None, help="default: a throwaway SQLite file")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "fuzz")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    ap.add_argument("--include", default=None, metavar="REGEX",
                    help="only the operations whose path matches, e.g. '/me/score$'")
    a = ap.parse_args()
    got = run(a.max_examples, a.max_time, a.database_url, a.out, a.seed, a.phases, a.include)
    print(json.dumps(got, ensure_ascii=False, indent=1))
    sys.exit(0 if got["exit_codes"] == [0, 0] else 1)


if __name__ == "__main__":
    main()
