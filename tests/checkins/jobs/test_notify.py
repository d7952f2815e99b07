"""Open alerts pushed to a WeCom/DingTalk-style group robot (issue 16), against a local
receiver on 127.0.0.1: the robot's JSON format, retries with backoff, the job_run log."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import shapely
from sqlmodel import Session

from checkins import tables as m
from checkins.jobs import scheduled
from checkins.jobs.notify import notify_alerts


class Robot:
    """A local group robot: answers ``fail_first`` posts with HTTP 500, then errcode 0."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.bodies: list[dict] = []
        robot = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robot.bodies.append(body)
                ok = len(robot.bodies) > robot.fail_first
                out = json.dumps({"errcode": 0 if ok else 45009, "errmsg": "ok"}).encode()
                self.send_response(200 if ok else 500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=k"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    r = Robot(fail_first=2)
    yield r
    r.close()


def _world(session, now):
    tag = f"nt{now.microsecond}"
    session.add(m.Township(township_id=tag, name="通知镇", timezone="Asia/Shanghai"))
    session.flush()
    session.add(m.Village(village_id=f"{tag}v", township_id=tag, name="村",
                          office=shapely.Point(121.3, 32.6), radius_m=150))
    session.flush()
    session.add(m.Worker(worker_id=f"{tag}w", name="张三", role="fulltime",
                         village_id=f"{tag}v"))
    session.flush()
    session.add(m.Alert(worker_id=f"{tag}w", village_id=f"{tag}v", work_date=now.date(),
                        kind="phone_off", rule="GEO-PHONEOFF", cause="gps_off",
                        start_at=now - dt.timedelta(minutes=40), end_at=now, opened_at=now))
    session.add(m.Exemption(worker_id=f"{tag}w", kind="sick_leave", status="requested",
                            start_at=now, end_at=now + dt.timedelta(days=1), note="发烧",
                            requested_by=f"{tag}w", requested_at=now))
    session.commit()
    return tag


@pytest.fixture
def engine(migrated_engine):
    """The run's real engine (the job runner commits); the rows made here are removed."""
    made: list[str] = []
    migrated_engine.made = made
    yield migrated_engine
    import sqlalchemy as sa

    with migrated_engine.begin() as conn:
        for tag in made:
            w = f"{tag}w"
            for t in ("alert", "exemption"):
                conn.execute(sa.text(f"DELETE FROM {t} WHERE worker_id = :w"), {"w": w})
            conn.execute(sa.text("DELETE FROM worker WHERE worker_id = :w"), {"w": w})
            conn.execute(sa.text("DELETE FROM village WHERE village_id = :v"), {"v": f"{tag}v"})
            conn.execute(sa.text("DELETE FROM township WHERE township_id = :t"), {"t": tag})


@pytest.mark.parametrize("kind", ["wecom", "dingtalk"])
def test_alerts_reach_the_robot_after_retries_and_the_run_is_logged(engine, robot, kind):
    # never ahead of the clock: the job's own run times are real ones
    now = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).replace(microsecond=123456)
    with Session(engine) as s:
        tag = _world(s, now)
    engine.made.append(tag)
    job = f"notify_alerts_{tag}_{kind}"
    waits: list[float] = []
    out = scheduled.run_job(engine, job, lambda s: notify_alerts(
        s, url=robot.url, kind=kind, now=now, attempts=4, backoff_s=0.5, sleep=waits.append,
        job=job))
    assert out["status"] == "ok", out
    assert out["summary"]["sent"] is True and out["summary"]["attempts"] == 3
    assert waits == [0.5, 1.0]  # exponential backoff between the three posts
    body = robot.bodies[-1]
    assert body["msgtype"] == "markdown"
    text = body["markdown"]["content" if kind == "wecom" else "text"]
    if kind == "dingtalk":
        assert body["markdown"]["title"] == "网格巡查提醒"
    assert "张三" in text and "手机失联" in text and "定位已关闭" in text and "病假" in text
    local = (now - dt.timedelta(minutes=40)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert f"{local:%H:%M} 起" in text  # township time, not UTC
    # the next run has nothing new since the last successful one: nothing posted
    n = len(robot.bodies)
    out = scheduled.run_job(engine, job, lambda s: notify_alerts(
        s, url=robot.url, kind=kind, now=now + dt.timedelta(minutes=5), sleep=waits.append,
        job=job))
    # (other tests' rows in a shared database may be new to it: only ours must not come again)
    assert out["status"] == "ok"
    assert all("张三" not in json.dumps(b, ensure_ascii=False) for b in robot.bodies[n:])
    assert tag


def test_when_every_attempt_fails_the_run_fails_and_the_next_one_sends_again(engine):
    r = Robot(fail_first=100)
    try:
        now = dt.datetime.now(dt.UTC).replace(microsecond=654321)
        with Session(engine) as s:
            tag = _world(s, now)
        engine.made.append(tag)
        job = f"notify_alerts_{tag}"
        out = scheduled.run_job(engine, job, lambda s: notify_alerts(
            s, url=r.url, kind="wecom", now=now, attempts=3, backoff_s=0, sleep=lambda _: None,
            job=job))
        assert out["status"] == "failed" and "after 3 attempts" in out["error"]
        assert len(r.bodies) == 3
        r.fail_first = 0
        out = scheduled.run_job(engine, job, lambda s: notify_alerts(
            s, url=r.url, kind="wecom", now=now, sleep=lambda _: None, job=job))
        assert out["status"] == "ok" and out["summary"]["sent"] is True
    finally:
        r.close()
