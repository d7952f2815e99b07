"""The worker web app (/app) in headless Debian Chromium against a real uvicorn server.

A worker activates the account on 激活账号 with the office's one-time code (a wrong code, an
expired one, a throttled try and a mistyped repeat password are refused first, each with
its own Chinese message) and a password of their own; the new phone waits
(等待村网格办批准), the office approves it and the app logs in with the new password; 签到 outside then inside the village office circle; a patrol along a track fed
by ``context.set_geolocation`` with the network cut mid-way (``context.set_offline``) and
the page reloaded while offline (the service worker serves the shell, the IndexedDB queue
and the running patrol survive), then the network restored. Every fix is stored exactly
once and in order, and the day's in-grid seconds the app shows (``/me/day``) match
``gridpatrol evaluate`` on the stored track. A patrol log with a photo and a leave request
go through the same queue. At the end the worker logs out, the used code is refused
(已经用过) and the new password logs in again. Screenshots at 390 px:
``test-output/screenshots/<backend>/``.

The profile is the packaged one with patrol windows covering the whole local day, so the
comparison is not vacuous whatever hour the suite runs at.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import shapely
import sqlalchemy as sa
import yaml
from sqlmodel import Session

from bench.reliability.harness import ServerProc
from tests.browser.conftest import CHROMIUM
from tests.conftest import empty_database

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "screenshots"
SECRET = "worker-app-test-secret-" + "q" * 24
PASSWORD = "worker app pw 7"  # chosen by the worker on 激活账号
PHONE = "13900001234"
PHONE2 = "13900005678"  # a second worker whose code has expired
LON0, LAT0 = 118.30, 31.70  # the test grid's centre (WGS-84), the village office there

if not Path(CHROMIUM).exists() and os.environ.get("GRIDPATROL_REQUIRE_BROWSER") == "true":
    raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")


def _profile(tmp: Path) -> Path:
    from scoring.profiles import profile_path

    doc = yaml.safe_load(profile_path("yangkou-2022").read_text(encoding="utf-8"))
    doc["geo"]["patrol_windows"] = {"am": ["00:00", "12:00"], "pm": ["12:00", "23:59"]}
    out = tmp / "allday.yaml"
    out.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return out


def _grid() -> shapely.Polygon:
    return shapely.box(LON0 - 0.004, LAT0 - 0.003, LON0 + 0.004, LAT0 + 0.003)


def _prepare(url: str, profile: Path) -> tuple[str, str]:
    """The township, W1 and W2 (no account yet); their activation codes, W2's expired."""
    from checkins import tables as m
    from checkins.auth.accounts import issue_codes
    from server.bootstrap import prepare_database
    from server.settings import Settings

    settings = Settings(environment="test", secret_key=SECRET, database_url=url,
                        profile=str(profile), demo_on_empty=False)
    engine = prepare_database(settings)
    try:
        with Session(engine) as s:
            s.add(m.Township(township_id="tw", name="测试镇"))
            s.flush()
            s.add(m.Village(village_id="V1", township_id="tw", name="测试村",
                            office=shapely.Point(LON0, LAT0), radius_m=150.0))
            s.flush()
            s.add(m.Grid(grid_id="G1", village_id="V1", name="一网格", geom=_grid()))
            s.add(m.Worker(worker_id="W1", name="张网格", phone=PHONE, role="fulltime",
                           village_id="V1"))
            s.add(m.Worker(worker_id="W2", name="李网格", phone=PHONE2, role="fulltime",
                           village_id="V1"))
            s.flush()
            s.add(m.GridAssignment(worker_id="W1", grid_id="G1", valid_from=dt.date(2020, 1, 1)))
            # what `gridpatrol accounts issue` prints on the village's slips; W2's is 8 days old
            (code,) = issue_codes(s, actor="v1-office", worker_ids=["W1"])
            (old,) = issue_codes(s, actor="v1-office", worker_ids=["W2"],
                                 now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8))
            s.commit()
            return code.code, old.code
    finally:
        engine.dispose()


def _approve_pending(url: str) -> int:
    from checkins import tables as m
    from checkins.auth.phone import approve_device
    from checkins.db.engine import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            dev = s.scalars(sa.select(m.Device).where(m.Device.worker_id == "W1",
                                                      m.Device.status == "pending")).one()
            approve_device(s, device_id=dev.id, actor="v1-office", reason="本人手机")
            s.commit()
            return dev.id
    finally:
        engine.dispose()


def _stored(url: str) -> dict:
    from checkins import tables as m
    from checkins.db.engine import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as s:
            pos = s.execute(sa.select(m.Position.client_id, m.Position.seq, m.Position.kind,
                                      m.Position.recorded_at, m.Position.received_at,
                                      m.Position.lon, m.Position.lat, m.Position.accuracy_m,
                                      m.Position.app_state)
                            .where(m.Position.worker_id == "W1").order_by(m.Position.seq)).all()
            signins = s.execute(sa.select(m.Signin).where(m.Signin.worker_id == "W1")).scalars().all()
            patrols = s.execute(sa.select(m.PatrolSession)
                                .where(m.PatrolSession.worker_id == "W1")).scalars().all()
            logs = s.execute(sa.select(m.PatrolLog).where(m.PatrolLog.worker_id == "W1")).scalars().all()
            reqs = s.execute(sa.select(m.Exemption).where(m.Exemption.worker_id == "W1")).scalars().all()
            return {"positions": pos,
                    "signins": [(x.signed_at, x.geom.x, x.geom.y, x.accuracy_m) for x in signins],
                    "patrols": [(p.started_at, p.ended_at) for p in patrols],
                    "logs": [(lg.text, len(lg.photos or [])) for lg in logs],
                    "requests": [(r.kind, r.status) for r in reqs]}
    finally:
        engine.dispose()


def _evaluate(tmp: Path, profile: Path, data: dict, day: dt.date) -> dict:
    """``gridpatrol evaluate`` on the stored track, as an office would audit the day."""
    grids = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"grid_id": "G1", "village_id": "V1"},
         "geometry": shapely.geometry.mapping(_grid())},
        {"type": "Feature", "properties": {"kind": "village_office", "village_id": "V1",
                                           "radius_m": 150},
         "geometry": {"type": "Point", "coordinates": [LON0, LAT0]}}]}
    (tmp / "grids.geojson").write_text(json.dumps(grids))
    (tmp / "roster.csv").write_text("worker_id,name,role,grid_id,village_id\nW1,张网格,fulltime,G1,V1\n")

    def write(name: str, header: list[str], rows: list[list]) -> Path:  # type: ignore[type-arg]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        (tmp / name).write_text(buf.getvalue())
        return tmp / name

    iso = lambda t: t.isoformat() if t else ""  # noqa: E731
    write("positions.csv", ["worker_id", "recorded_at", "lon", "lat", "accuracy_m", "kind",
                            "received_at"],
          [["W1", iso(p.recorded_at), "" if p.lon is None else p.lon,
            "" if p.lat is None else p.lat, "" if p.accuracy_m is None else p.accuracy_m,
            p.kind, iso(p.received_at)] for p in data["positions"]])
    write("signins.csv", ["worker_id", "signed_at", "lon", "lat", "accuracy_m"],
          [["W1", iso(t), x, y, a] for t, x, y, a in data["signins"]])
    write("patrols.csv", ["worker_id", "started_at", "ended_at"],
          [["W1", iso(a), iso(b)] for a, b in data["patrols"]])
    out = subprocess.run(
        [sys.executable, "-m", "server.cli", "evaluate", "--grids", str(tmp / "grids.geojson"),
         "--roster", str(tmp / "roster.csv"), "--positions", str(tmp / "positions.csv"),
         "--signins", str(tmp / "signins.csv"), "--patrols", str(tmp / "patrols.csv"),
         "--profile", str(profile), "--from", day.isoformat(), "--to", day.isoformat(), "-q"],
        capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout)


def _shot(page, shots: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


def _track(n: int) -> list[tuple[float, float]]:
    """A walk east from the office at ~1.3 m per step, inside the grid."""
    return [(LON0 + 0.0001 + k * 0.0000137, LAT0 - 0.0005) for k in range(n)]


def test_worker_app_in_chromium(db_backend: str, tmp_path: Path, browser: Any) -> None:
    shots = SHOTS / db_backend
    shots.mkdir(parents=True, exist_ok=True)
    profile = _profile(tmp_path)
    with empty_database(db_backend, tmp_path) as url:
        code, expired = _prepare(url, profile)
        srv = ServerProc(url, tmp_path / "data",
                         env={"GRIDPATROL_SECRET_KEY": SECRET, "GRIDPATROL_PROFILE": str(profile),
                              "GRIDPATROL_SCHEDULER_ENABLED": "false",
                              "GRIDPATROL_DEMO_ON_EMPTY": "false"})
        srv.start(timeout_s=90)
        try:
            # one sync Playwright per process: the package's shared Chromium (conftest.py)
            with contextlib.nullcontext():
                ctx = browser.new_context(viewport={"width": 390, "height": 844},
                                          device_scale_factor=1, locale="zh-CN",
                                          # the test's own probes (wait_for_function) are
                                          # evaluated strings, which the CSP refuses; the
                                          # app itself runs no eval
                                          bypass_csp=True,
                                          timezone_id="Asia/Shanghai",
                                          permissions=["geolocation"],
                                          geolocation={"longitude": LON0, "latitude": LAT0,
                                                       "accuracy": 8})
                page = ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                _run(page, ctx, srv.url, url, shots, tmp_path, profile, code, expired)
                assert errors == [], errors
                ctx.close()  # the browser is the package's (conftest.py)
        finally:
            srv.stop()


def _activate(page, phone: str, code: str, password: str, again: str | None = None) -> None:  # type: ignore[no-untyped-def]
    page.fill("#act-phone", phone)
    page.fill("#act-code", code)
    page.fill("#act-password", password)
    page.fill("#act-password2", password if again is None else again)
    page.click("#activate-btn")


def _run(page, ctx, base: str, url: str, shots: Path, tmp: Path, profile: Path, code: str,
         expired: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(base + "/app/")
    expect(page.locator("#s-login")).to_be_visible()
    # the service worker controls the page before anything goes offline
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
    _shot(page, shots, "01-login")

    # -- 激活账号: the refusals first, each in words the worker can act on
    page.click("#to-activate")
    expect(page.locator("#s-activate")).to_be_visible()
    expect(page.locator("#tabs")).to_be_hidden()
    _shot(page, shots, "02a-activate")
    msg = page.locator("#activate-msg")
    _activate(page, PHONE, "ABCD-EFGH-JKMN", PASSWORD)  # a wrong code
    expect(msg).to_contain_text("激活码不正确")
    assert "err" in (msg.get_attribute("class") or "")
    _shot(page, shots, "02b-activate-wrong-code")
    _activate(page, PHONE2, expired, PASSWORD)  # W2's code is 8 days old (valid 7)
    expect(msg).to_contain_text("激活码已过期")
    _shot(page, shots, "02c-activate-expired")
    _activate(page, PHONE, code, PASSWORD, again=PASSWORD + "x")  # checked on the phone
    expect(msg).to_contain_text("两次输入的新密码不一样")
    # throttled (429 + Retry-After): the app says how long to wait
    ctx.route("**/api/mobile/v1/auth/activate", lambda route: route.fulfill(
        status=429, headers={"Retry-After": "300", "Content-Type": "application/json"},
        body=json.dumps({"error": {"code": "rate_limited", "message": "too many attempts",
                                   "field": None}})))
    _activate(page, PHONE, code, PASSWORD)
    expect(msg).to_contain_text("尝试次数过多")
    expect(msg).to_contain_text("5 分钟后再试")
    _shot(page, shots, "02d-activate-throttled")
    ctx.unroute("**/api/mobile/v1/auth/activate")
    # the code as a worker may type it from the slip: lower case, spaces for dashes
    _activate(page, PHONE, code.lower().replace("-", " "), PASSWORD)
    # -- the new phone is pending until the office approves it; the app logs in by itself
    expect(page.locator("#s-login")).to_be_visible()
    expect(page.locator("#login-msg")).to_contain_text("账号已激活")
    expect(page.locator("#login-msg")).to_contain_text("等待村网格办批准")
    _shot(page, shots, "02e-activated-pending")
    _approve_pending(url)
    expect(page.locator("#s-today")).to_be_visible(timeout=20000)  # the app retries by itself
    # the first /me/day compiles the geo engine (numba) in the server: allow for it
    expect(page.locator("#progress tbody tr")).to_have_count(2, timeout=180000)
    expect(page.locator("#map path")).to_have_count(3, timeout=10000)  # grid, office circle, centre
    _shot(page, shots, "03-today")

    # -- 签到 outside the office circle (400 m east, inside the grid), then inside
    page.click("nav a[href='#signin']")
    ctx.set_geolocation({"longitude": LON0 + 0.0037, "latitude": LAT0, "accuracy": 10})
    page.click("#signin-btn")
    expect(page.locator("#signin-result")).to_contain_text("不在村网格办签到范围内")
    assert page.get_attribute("#signin-result", "data-counts") == "false"
    _shot(page, shots, "04-signin-outside")
    ctx.set_geolocation({"longitude": LON0 + 0.0002, "latitude": LAT0, "accuracy": 10})
    page.click("#signin-btn")
    expect(page.locator("#signin-result")).to_contain_text("签到有效")
    assert page.get_attribute("#signin-result", "data-counts") == "true"
    _shot(page, shots, "05-signin-ok")

    # -- a patrol; the network is cut after a third of the track, the page reloaded offline
    page.click("nav a[href='#patrol']")
    track = _track(36)
    ctx.set_geolocation({"longitude": track[0][0], "latitude": track[0][1], "accuracy": 6})
    page.click("#patrol-start")
    expect(page.locator("#patrol-stop")).to_be_visible()
    sent = []
    for k, (lon, lat) in enumerate(track):
        if k == 12:
            ctx.set_offline(True)
        if k == 18:
            page.reload()  # offline: the shell from the service worker, the queue from IndexedDB
            expect(page.locator("#patrol-stop")).to_be_visible()
            expect(page.locator("#pending")).to_contain_text("待上传")
            _shot(page, shots, "06-patrol-offline")
        if k == 26:
            ctx.set_offline(False)
        ctx.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 6})
        sent.append((lon, lat))
        page.wait_for_timeout(1000)
    page.click("#patrol-stop")
    expect(page.locator("#patrol-start")).to_be_visible()
    page.wait_for_function("document.getElementById('pending').dataset.count === '0'",
                           timeout=30000)
    _shot(page, shots, "07-patrol-done")

    # -- 巡查日志 with a photo, 申请 (leave)
    from PIL import Image

    photo = tmp / "photo.jpg"
    Image.new("RGB", (64, 48), (30, 120, 60)).save(photo, "JPEG")
    page.click("nav a[href='#log']")
    page.fill("#log-text", "巡查了三组，路灯一处损坏已上报")
    page.set_input_files("#log-photos", str(photo))
    page.click("#log-form button[type=submit]")
    expect(page.locator("#log-msg")).to_contain_text("日志已上传")
    _shot(page, shots, "08-log")
    page.click("nav a[href='#request']")
    page.select_option("#req-kind", "personal_leave")
    tomorrow = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%d")
    page.fill("#req-start", f"{tomorrow}T08:00")
    page.fill("#req-end", f"{tomorrow}T12:00")
    page.fill("#req-reason", "家中有事")
    page.click("#request-form button[type=submit]")
    expect(page.locator("#request-list")).to_contain_text("待审批")
    _shot(page, shots, "09-request")

    # -- stored exactly once, in order
    data = _stored(url)
    pos = data["positions"]
    fixes = [p for p in pos if p.kind == "fix"]
    seqs = [p.seq for p in pos]
    assert seqs == list(range(len(pos))), "every queued fix and heartbeat once, no gap"
    assert len({p.client_id for p in pos}) == len(pos)
    assert [p.recorded_at for p in fixes] == sorted(p.recorded_at for p in fixes)
    # the browser delivers a fix per geolocation change: the stored fixes are the track, in order
    stored_track = [(round(p.lon, 7), round(p.lat, 7)) for p in fixes]
    want = [(round(x, 7), round(y, 7)) for x, y in sent]
    assert stored_track[-len(want):] == want or _is_subsequence(want, stored_track), stored_track
    assert len(fixes) >= len(want)
    assert len(data["signins"]) == 2 and len(data["patrols"]) == 1 and data["patrols"][0][1]
    assert data["logs"] == [("巡查了三组，路灯一处损坏已上报", 1)]
    assert data["requests"] == [("personal_leave", "requested")]

    # -- the day's in-grid seconds: the app's /me/day against gridpatrol evaluate
    page.click("nav a[href='#today']")  # after the reload: filled when /me/day answers
    expect(page.locator("#progress tbody tr")).to_have_count(2, timeout=120000)
    shown = {tr.get_attribute("data-window"): int(tr.get_attribute("data-in-grid-s"))
             for tr in page.locator("#progress tbody tr").all()}
    day = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    result = _evaluate(tmp, profile, data, day)
    (entry,) = [d for d in result["days"] if d["worker_id"] == "W1"]
    judged = {w: v["in_grid_s"] for w, v in entry["patrols"].items()}
    assert shown == judged, (shown, judged)
    assert sum(shown.values()) >= 20, shown  # the walk really counted
    _shot(page, shots, "10-today-after")
    page.click("nav a[href='#score']")
    expect(page.locator("#score-month")).to_contain_text("已扣")
    _shot(page, shots, "11-score")
    page.click("nav a[href='#data']")
    page.click("#export-btn")
    expect(page.locator("#export-link")).to_be_visible()
    _shot(page, shots, "12-data")

    # -- log out; the code is used up; the worker's own password logs in again
    page.click("#logout-btn")
    expect(page.locator("#s-login")).to_be_visible()
    page.click("#to-activate")
    _activate(page, PHONE, code, PASSWORD)
    expect(page.locator("#activate-msg")).to_contain_text("已经用过")
    _shot(page, shots, "13-activate-used")
    page.click("#to-login")
    page.fill("#phone", PHONE)
    page.fill("#password", PASSWORD)
    page.click("#login-btn")
    expect(page.locator("#s-today")).to_be_visible(timeout=20000)


def _is_subsequence(small: list, big: list) -> bool:  # type: ignore[type-arg]
    it = iter(big)
    return all(x in it for x in small)
