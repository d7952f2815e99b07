"""The office pages in headless Chromium against a real uvicorn server with the demo township.

Fixtures (the server, the browser) in ``tests/browser/conftest.py``. Screenshots go to
``test-output/browser/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, PASSWORD, SHOTS, Demo

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")


def test_office_pages_in_chromium(demo: Demo, browser, db_backend: str) -> None:
    shots = SHOTS / db_backend
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url)
            if not r.url.startswith(demo.url) and not r.url.startswith("data:") else None)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # login (the office home redirects to it), then the day table of V01 on the demo day
    page.goto(f"{demo.url}/office")
    assert "/office/login" in page.url
    page.fill("input[name=username]", "v01")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/office/dashboard")
    page.click("#nav-day")
    page.wait_for_url(f"**/office/villages/V01/days/{demo.day}")
    n_rows = page.locator("#day-table tbody tr[data-worker]").count()
    assert n_rows >= 5
    assert demo.leave_worker_name in page.inner_text("#day-table")
    row_sel = f"#day-table tr[data-worker='{demo.leave_worker}']"
    assert "免除" not in page.inner_text(row_sel)
    assert page.inner_text(f"{row_sel} td.points").strip()  # the worker lost points that day
    assert "暂定" in page.inner_text("#day-table")  # the demo day is within the grace period
    headers = page.inner_text("#day-table thead")
    for word in ("签到", "上午", "下午", "脱岗", "关机", "可疑定位", "扣分"):
        assert word in headers
    page.screenshot(path=str(shots / "1-day-table.png"), full_page=True)

    # sort by points, then the week view
    page.click("#day-table thead >> text=扣分")
    page.wait_for_url("**sort=points**")
    page.click("#week-link")
    page.wait_for_selector("#week-table")
    assert page.locator("#week-table tbody tr").count() == n_rows
    page.screenshot(path=str(shots / "2-week.png"), full_page=True)

    # a worker-day: the Leaflet map with the track, the grids, the office ring; deductions
    page.goto(f"{demo.url}/office/villages/V01/days/{demo.day}")
    page.click(f"#day-table a[href='/office/workers/{demo.leave_worker}/days/{demo.day}']")
    page.wait_for_selector("#map[data-ready='1']")
    n_fix = page.locator("#map path.fix").count()
    assert n_fix > 50, n_fix
    assert page.locator("#map path.leaflet-interactive").count() > n_fix  # grids + office ring
    assert page.locator("#map img.leaflet-tile").count() == 0  # no tile URL: plain background
    assert page.is_visible("#provisional")
    deductions = page.inner_text("#deductions")
    assert "YK-" in deductions or "GEO-" in deductions
    assert page.locator("#timeline .tick").count() == 13
    page.screenshot(path=str(shots / "3-worker-day.png"), full_page=True)

    # live page at mid-morning of the demo day
    page.goto(f"{demo.url}/office/villages/V01/live?at={demo.day}T10:30")
    page.wait_for_selector("#live-table")
    statuses = page.locator("#live-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.status)")
    assert len(statuses) == n_rows
    assert "on_patrol" in statuses
    assert set(statuses) <= {"on_patrol", "in_grid", "off_post", "unreachable", "off_duty"}
    page.screenshot(path=str(shots / "4-live.png"), full_page=True)

    # leave approval: decisions page -> reason -> approve -> the day is re-evaluated
    page.click("#nav-decisions")
    row = page.locator(f"#exemptions tr[data-exemption='{demo.exemption_id}']")
    assert demo.leave_worker_name in row.inner_text()
    page.screenshot(path=str(shots / "5-decisions.png"), full_page=True)
    row.locator("input[name=reason]").fill("病假条已收到")
    row.locator("button[value=approve]").click()
    page.wait_for_selector("#flash")
    assert "已批准" in page.inner_text("#flash")
    assert page.locator(f"#exemptions tr[data-exemption='{demo.exemption_id}']").count() == 0
    page.goto(f"{demo.url}/office/villages/V01/days/{demo.day}")
    line = page.inner_text(row_sel)
    # re-evaluated with the approved sick leave: a patrol is exempt and no points are lost
    assert "免除" in line, line
    assert page.inner_text(f"{row_sel} td.points").strip() == "", line
    page.screenshot(path=str(shots / "6-after-approval.png"), full_page=True)

    # the audit log (township office): the approval and the track view are there
    page.click("header >> text=退出")
    page.wait_for_url("**/office/login")
    page.fill("input[name=username]", "town")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.click("#nav-audit")
    audit = page.inner_text("#audit")
    assert "exemption.approve" in audit and "病假条已收到" in audit and "track.view" in audit
    page.screenshot(path=str(shots / "7-audit.png"), full_page=True)

    assert external == [], external  # nothing fetched from the internet
    assert errors == [], errors
    ctx.close()
