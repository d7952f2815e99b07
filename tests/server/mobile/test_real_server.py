"""The mobile API through a real uvicorn process on 127.0.0.1, driven by the phone simulator.

The server is ``server.app:create_app`` (the whole app, as ``gridpatrol serve`` runs it) on
this run's test database (SQLite file or PostgreSQL+PostGIS), on a random free port.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bench.reliability.harness import ServerProc
from checkins.positions.models import Position
from mobile_api_spec.simulator import PhoneSimulator, TrackPoint, synthetic_track
from tests.server.mobile.conftest import PREFIX, SECRET


@pytest.fixture(scope="module")
def server_url(migrated_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``uvicorn server.app:create_app`` against the test database; yield its URL."""
    data = tmp_path_factory.mktemp("server-data")
    srv = ServerProc(migrated_engine.url.render_as_string(hide_password=False), data,
                     env={"GRIDPATROL_SECRET_KEY": SECRET,
                          "GRIDPATROL_MOBILE_UPLOAD_BURST": "10000",
                          "GRIDPATROL_MOBILE_UPLOAD_PER_S": "10000",
                          "GRIDPATROL_MOBILE_GRID_CACHE_S": "0"})
    srv.start(timeout_s=30)
    try:
        yield srv.url
    finally:
        srv.stop()


def _count(engine: sa.Engine, worker_id: str) -> int:
    with Session(engine) as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Position).where(
            Position.worker_id == worker_id))


def _sim(url: str, w, **kw) -> PhoneSimulator:  # type: ignore[no-untyped-def]
    return PhoneSimulator(url, phone=w.phone, password=w.password, device_uid=w.device_uid, **kw)


def test_simulated_phone_day_with_offline_spell_and_skewed_clock(server_url, make_worker, township,
                                                                  migrated_engine):
    w = make_worker()
    c = township.grid.centroid
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    track = list(synthetic_track(c.x, c.y, start, 240, step_s=30, step_m=15, seed=1))
    offline_from, offline_to = track[60].t, track[150].t  # 45 minutes without network
    sim = _sim(server_url, w, clock_skew_s=-95.0, batch_size=50)
    sim.login()
    stats = sim.replay(track, speed=0, upload_every_s=300,
                       offline=lambda t: offline_from <= t < offline_to, heartbeat_every_s=600)
    assert sim.buffer == [] and stats.failures == 0
    assert stats.accepted == stats.created and stats.duplicates == 0 and stats.rejected == 0
    assert _count(migrated_engine, w.worker_id) == stats.created
    # the offline spell went out late, in one go: no upload happened during it
    assert stats.batches_sent < stats.created / 10
    # the whole day again (a phone that lost its acknowledgements): all duplicates
    again = _sim(server_url, w, batch_size=100, clock_skew_s=-95.0)
    again.login()
    again.replay(track, speed=0, heartbeat_every_s=600)
    assert again.stats.duplicates == again.stats.created and again.stats.accepted == 0
    assert _count(migrated_engine, w.worker_id) == stats.created
    sim.close()
    again.close()


def test_interrupted_upload_then_retry_stores_each_fix_once(server_url, make_worker, township,
                                                            migrated_engine):
    w = make_worker()
    sim = _sim(server_url, w)
    sim.login()
    c = township.grid.centroid
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    for p in synthetic_track(c.x, c.y, start, 120, seed=2):
        sim.record(p)
    body = json.dumps({"items": sim.buffer}).encode()
    # the connection drops after half of the body was sent
    with socket.create_connection(("127.0.0.1", int(server_url.rsplit(":", 1)[1]))) as s:
        head = (f"POST {PREFIX}/positions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {sim.access_token}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        s.sendall(head + body[: len(body) // 2])
    time.sleep(0.3)
    assert _count(migrated_engine, w.worker_id) == 0
    # the retry: the same items with the same client ids, twice (the first answer "lost")
    first = sim.upload(sim.buffer)
    second = sim.upload(sim.buffer)
    assert first["accepted"] == 120 and second["duplicates"] == 120
    assert _count(migrated_engine, w.worker_id) == 120
    sim.close()


def test_real_server_refuses_oversized_and_unapproved(server_url, make_worker):
    w = make_worker()
    r = httpx.post(f"{server_url}{PREFIX}/positions", content=b"x" * 2_000_000,
                   headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
    assert r.status_code in (401, 413)
    sim = _sim(server_url, w)
    sim.login()
    r = httpx.post(f"{server_url}{PREFIX}/positions", content=b'{"items": []' + b" " * 2_000_000 + b"}",
                   headers={"Content-Type": "application/json",
                            "Authorization": f"Bearer {sim.access_token}"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
    stranger = PhoneSimulator(server_url, phone=w.phone, password=w.password, device_uid="new-phone-x1")
    with pytest.raises(httpx.HTTPStatusError) as exc:
        stranger.login()
    assert exc.value.response.json()["error"]["code"] == "device_pending"
    sim.close()
    stranger.close()


def test_simulator_sends_gcj02_and_signs_in(server_url, make_worker, township, migrated_engine):
    w = make_worker(role="parttime")
    sim = _sim(server_url, w, send_datum="gcj02")
    sim.login()
    c = township.grid.centroid
    a = sim.assignment(datum="gcj02")
    assert a["grid_id"] == township.grid_id and a["datum"] == "gcj02"
    monday = dt.datetime(2026, 3, 2, 8, 40, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    res = sim.signin(TrackPoint(t=monday, lon=c.x, lat=c.y, accuracy_m=10.0))
    assert res["status"] == "ok" and res["counts"] is True
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=40)
    sim.replay(list(synthetic_track(c.x, c.y, start, 30, seed=3)), speed=0)
    assert sim.stats.accepted == 30
    with Session(migrated_engine) as s:
        tags = s.scalars(sa.select(Position.grid_id).where(Position.worker_id == w.worker_id)).all()
        datums = set(s.scalars(sa.select(Position.datum).where(Position.worker_id == w.worker_id)))
    assert datums == {"gcj02"}
    # converted back to WGS-84 before tagging: the walk near the centre stays in the grid
    assert tags.count(township.grid_id) >= 25
    sim.close()


def test_simulator_replays_a_demo_workers_day(server_url, make_worker, migrated_engine):
    """checkins.demo.service's simulated day (GCJ-02 phone, heartbeats, a late upload) goes in whole."""
    from checkins.demo.service import build_demo
    from mobile_api_spec.simulator import load_demo_track

    demo = build_demo()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    points = load_demo_track(demo.workers[0].worker_id, shift_to=yesterday)
    w = make_worker()
    sim = _sim(server_url, w, batch_size=200)
    sim.login()
    stats = sim.replay(points, speed=0, upload_every_s=900)
    assert stats.accepted == len(points) and stats.duplicates == 0
    assert _count(migrated_engine, w.worker_id) == len(points)
    sim.close()


def test_provision_accounts_lets_a_roster_log_in(server_url, make_worker, migrated_engine):
    from checkins.auth import phone as auth
    from checkins.township.models import Worker

    w = make_worker()
    with Session(migrated_engine) as s:
        s.add(Worker(worker_id=w.worker_id + "b", name="新人", phone=w.phone + "0",
                     role="parttime", village_id=w.village_id))
        s.commit()
        assert auth.provision_accounts(s, "first-day-pw", [w.worker_id, w.worker_id + "b"]) == 1
        auth.register_device(s, worker_id=w.worker_id + "b", device_uid=w.device_uid + "b",
                             approved=True, actor="test")
        s.commit()
    sim = PhoneSimulator(server_url, phone=w.phone + "0", password="first-day-pw",
                         device_uid=w.device_uid + "b")
    assert sim.login()["worker_id"] == w.worker_id + "b"
    sim.close()
