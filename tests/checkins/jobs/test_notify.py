"""Open alerts pushed to a WeCom/DingTalk-style group robot (issue 16), against a local
receiver on 127.0.0.1: the robot's JSON format, retries with backoff, the job_run log."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest
import shapely
from sqlmodel import Session

from checkins import tables as m
from checkins.jobs import scheduled
from checkins.jobs.notify import NotifyError, notify_alerts, post, signed_url


def _verify(secret: str, query: dict[str, list[str]]) -> bool:
    """What a DingTalk robot with 加签 checks, written from DingTalk's documentation (not from
    the code under test): sign = base64(HMAC-SHA256(secret, "timestamp\\nsecret")), and the
    timestamp within an hour of the robot's clock."""
    if "timestamp" not in query or "sign" not in query:
        return False
    ts = query["timestamp"][0]
    want = base64.b64encode(hmac.new(secret.encode(), f"{ts}\n{secret}".encode(),
                                     hashlib.sha256).digest()).decode()
    fresh = abs(time.time() * 1000 - int(ts)) < 3600 * 1000
    return fresh and hmac.compare_digest(query["sign"][0], want)


class Robot:
    """A local group robot: answers ``fail_first`` posts with HTTP 500, then errcode 0; with
    a ``secret`` it is a DingTalk robot with 加签 (a bad signature: errcode 310000)."""

    def __init__(self, fail_first: int = 0, secret: str | None = None) -> None:
        self.fail_first = fail_first
        self.secret = secret
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        robot = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                robot.paths.append(self.path)
                if robot.secret is not None and not _verify(
                        robot.secret, parse_qs(urlsplit(self.path).query)):
                    out = json.dumps({"errcode": 310000, "errmsg": "sign not match"}).encode()
                    self.send_response(200)  # DingTalk answers 200 with an errcode
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                    return
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


def test_dingtalk_signed_robot_verifies_the_signature():
    """加签: with the robot's secret every post carries timestamp and sign that the robot
    verifies (DingTalk's algorithm, re-implemented in the receiver); without the secret, or
    with another one, the robot refuses (errcode 310000) and the post fails after retries."""
    secret = "SEC" + "0123456789abcdef" * 4
    r = Robot(secret=secret)
    try:
        body = {"msgtype": "markdown", "markdown": {"title": "网格巡查提醒", "text": "测试"}}
        out = post(r.url, body, attempts=1, secret=secret)
        assert out["attempts"] == 1 and r.bodies == [body]
        q = parse_qs(urlsplit(r.paths[-1]).query)
        assert q["key"] == ["k"] and set(q) == {"key", "timestamp", "sign"}  # the URL's own kept
        for wrong in (None, secret + "x"):
            with pytest.raises(NotifyError, match="310000"):
                post(r.url, body, attempts=2, backoff_s=0, secret=wrong, sleep=lambda s: None)
        assert r.bodies == [body]
        # the documented example shape: "+" and "/" and "=" of base64 are url-encoded
        u = signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", secret, 1700000000000)
        sign = parse_qs(urlsplit(u).query)["sign"][0]
        assert _verify(secret, {"timestamp": ["1700000000000"], "sign": [sign]}) is False  # stale
        want = base64.b64encode(hmac.new(secret.encode(), f"1700000000000\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
        assert sign == want  # parse_qs decoded it: the URL carried it url-encoded
        assert u == ("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000"
                     f"&sign={quote_plus(want)}")
    finally:
        r.close()
