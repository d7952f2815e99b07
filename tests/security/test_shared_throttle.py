"""Login throttles shared by every API process: the ``rate_bucket`` table (checkins.auth.throttle).

Unit part: two ``SharedBuckets`` objects on one database behave as one bucket (as two
processes do), concurrent takes never over-grant, full buckets are pruned. Real part: two
``uvicorn`` processes (the reliability harness's ``ServerProc``) with the production limits
on the run's database, a brute force spread over both against one account: throttled as with
one process, other accounts unaffected (smoke of ``bench.security.attack_bench --servers 2``).
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from bench.reliability.harness import ServerProc, start_all
from checkins.auth.models import RateBucket
from checkins.auth.office_users import create_office_user
from checkins.auth.throttle import PRUNE_EVERY, SharedBuckets
from tests.server.mobile.conftest import PREFIX

T0 = 1_800_000_000.0  # a fixed "now" (Unix seconds) for the unit part


def _rows(engine: sa.Engine, prefix: str) -> int:
    with engine.connect() as c:
        return c.execute(sa.select(sa.func.count()).select_from(RateBucket).where(
            RateBucket.key.startswith(prefix))).scalar_one()


def test_two_processes_share_one_bucket(migrated_engine):
    name = f"t{secrets.token_hex(3)}"
    a = SharedBuckets(migrated_engine, name, capacity=5, rate_per_s=5 / 60)  # "process" A
    b = SharedBuckets(migrated_engine, name, capacity=5, rate_per_s=5 / 60)  # "process" B
    waits = [(a if i % 2 else b).take("13900000001", now=T0) for i in range(8)]
    assert waits[:5] == [0.0] * 5 and all(w == 12.0 for w in waits[5:])  # 1 token / 12 s
    assert b.take("13900000002", now=T0) == 0.0  # another key is unaffected
    assert a.take("13900000001", now=T0 + 12.0) == 0.0  # refilled one token
    assert b.take("13900000001", now=T0 + 12.0) > 0
    # a process whose clock lags refills nothing (elapsed time is never negative)
    assert a.take("13900000001", now=T0 - 600) > 0
    assert abs(a.peek("13900000001", now=T0 + 12 + 48) - 4.0) < 1e-9  # one token per 12 s
    assert a.peek("13900000001", now=T0 + 12 + 600) == 5.0  # never above the capacity
    a.clear("13900000001")
    assert b.peek("13900000001", now=T0) == 5.0
    long_key = "x" * 500  # hashed into the 160-character key
    assert [a.take(long_key, now=T0) for _ in range(6)][-1] > 0
    assert b.take(long_key, now=T0) > 0


def test_a_refusal_is_answered_from_memory_until_its_wait_is_over(migrated_engine):
    from checkins.db.engine import make_engine

    engine = make_engine(migrated_engine.url.render_as_string(hide_password=False))
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *a: statements.append(a[2]) if "rate_bucket" in a[2] else None)
    name = f"r{secrets.token_hex(3)}"
    a = SharedBuckets(engine, name, capacity=2, rate_per_s=0.1)
    other = SharedBuckets(migrated_engine, name, capacity=2, rate_per_s=0.1)  # another process
    assert [a.take("k", now=T0) for _ in range(2)] == [0.0, 0.0]
    assert a.take("k", now=T0) == 10.0
    n = len(statements)
    waits = [a.take("k", now=T0 + i) for i in range(10)]
    assert len(statements) == n and waits == [10.0 - i for i in range(10)]  # no round trip
    assert other.take("k", now=T0 + 5) > 0  # the other process asks the database
    assert a.take("k", now=T0 + 10) == 0.0 and len(statements) == n + 1  # one refilled token
    engine.dispose()


def test_concurrent_takes_never_over_grant(migrated_engine):
    name = f"c{secrets.token_hex(3)}"
    procs = [SharedBuckets(migrated_engine, name, capacity=7, rate_per_s=0.0) for _ in range(2)]
    got: Counter[bool] = Counter()
    lock = threading.Lock()

    def worker(k: int) -> None:
        for _ in range(10):
            ok = procs[k % 2].take("victim") == 0.0
            with lock:
                got[ok] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == Counter({True: 7, False: 53})


def test_full_buckets_are_pruned_and_others_kept(migrated_engine):
    name = f"p{secrets.token_hex(3)}"
    b = SharedBuckets(migrated_engine, name, capacity=2, rate_per_s=1.0)
    for i in range(20):
        b.take(f"dev-{i}", now=T0)  # full again at T0 + 1
    b.take("busy", cost=2, now=T0 + 5)  # full again at T0 + 7
    assert _rows(migrated_engine, f"{name}:") == 21
    assert b.prune(now=T0 + 3) >= 20
    assert _rows(migrated_engine, f"{name}:") == 1
    assert b.peek("busy", now=T0 + 5) == 0.0
    # and the takes prune by themselves now and then
    b2 = SharedBuckets(migrated_engine, name, capacity=2, rate_per_s=1.0)
    for i in range(PRUNE_EVERY):
        b2.take(f"flood-{i}", now=T0 + 10 + i * 0.01)
    assert _rows(migrated_engine, f"{name}:flood-") < PRUNE_EVERY


def _office_user(engine: sa.Engine) -> str:
    name = f"thr-{secrets.token_hex(4)}"
    with Session(engine) as s:
        create_office_user(s, username=name, password="right password 1", role="township_office")
        s.commit()
    return name


# the attacker's address (uvicorn takes X-Forwarded-For from 127.0.0.1)
ATTACKER = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}


def test_brute_force_over_two_server_processes_is_throttled_as_one(
        migrated_engine, make_worker, tmp_path: Path):
    victim, bystander = make_worker(), make_worker()
    office_victim, office_other = _office_user(migrated_engine), _office_user(migrated_engine)
    url = migrated_engine.url.render_as_string(hide_password=False)
    servers = [ServerProc(url, tmp_path / f"s{i}", limits="production") for i in range(2)]
    try:
        start_all(servers)
        clients = [httpx.Client(base_url=s.url, timeout=30) for s in servers]
        codes: list[Counter[int]] = [Counter(), Counter()]
        for i in range(40):  # one account, a new "phone" every time, alternating processes
            r = clients[i % 2].post(f"{PREFIX}/auth/login", json={
                "phone": victim.phone, "password": f"guess-{i}", "device_uid": f"atk-{i}"},
                headers=ATTACKER)
            codes[i % 2][r.status_code] += 1
        total = codes[0] + codes[1]
        # the production burst is 5 per phone (+1 a minute refilled during the run at most):
        # with per-process buckets this would be 10 (5 on each process)
        assert total[401] in (5, 6) and total[429] == 40 - total[401], codes
        assert codes[0][429] > 0 and codes[1][429] > 0
        # the right password from a phone not approved for the number: throttled on both;
        # the owner on the approved phone (another address): in (issue 15, finding 7)
        stolen = {"phone": victim.phone, "password": victim.password, "device_uid": "atk-x"}
        assert [c.post(f"{PREFIX}/auth/login", json=stolen, headers=ATTACKER).status_code
                for c in clients] == [429] * 2
        right = {"phone": victim.phone, "password": victim.password,
                 "device_uid": victim.device_uid}
        assert [c.post(f"{PREFIX}/auth/login", json=right).status_code for c in clients] == [200] * 2
        by = {"phone": bystander.phone, "password": bystander.password,
              "device_uid": bystander.device_uid}
        assert [c.post(f"{PREFIX}/auth/login", json=by).status_code for c in clients] == [200] * 2
        # office logins: 10 failures in all, then 429 on both processes, for that name only
        office = [clients[i % 2].post("/api/office/login", json={
            "username": office_victim, "password": f"bad-{i}"}, headers=ATTACKER).status_code
            for i in range(16)]
        assert office.count(401) == 10 and office[-6:] == [429] * 6, office
        assert clients[1].post("/api/office/login", json={
            "username": office_other, "password": "right password 1"}).status_code == 200
        for c in clients:
            c.close()
        logs = "".join(s.log_path.read_text(errors="replace") for s in servers)
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        for s in servers:
            s.stop()


def test_upload_limit_can_be_shared_too(migrated_engine, make_worker, tmp_path: Path):
    """``upload_limit_store=database``: two apps (two processes) share a device's bucket."""
    from fastapi.testclient import TestClient

    from server.mobile import build_mobile_app
    from tests.server.mobile.conftest import _mobile_settings, _settings, bearer, login

    ms = _mobile_settings(upload_limit_store="database", upload_burst=3, upload_per_s=0.001)
    apps = [build_mobile_app(migrated_engine, _settings(tmp_path), ms) for _ in range(2)]
    w = make_worker()
    item = {"client_id": "h", "seq": 1, "kind": "heartbeat",
            "recorded_at": "2026-11-20T10:00:00+08:00", "battery_pct": 50}
    with TestClient(apps[0]) as c0, TestClient(apps[1]) as c1:
        h = bearer(login(c0, w))
        codes = [(c0, c1)[i % 2].post(f"{PREFIX}/positions", headers=h, json={"items": [
            {**item, "client_id": f"h{i}", "seq": i}]}).status_code for i in range(6)]
        other = make_worker()
        ok = c1.post(f"{PREFIX}/positions", headers=bearer(login(c1, other)),
                     json={"items": [item]}).status_code
    assert codes == [200, 200, 200, 429, 429, 429] and ok == 200
