"""Case pages (事件) in headless Chromium against a real server with the demo township:
the queue with its clocks, a case page with its map, a dispatch; screenshots at 1400 and
390 px wide under ``test-output/screenshots/<backend>/``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from bench.reliability.harness import ServerProc
from tests.browser.conftest import CHROMIUM, PASSWORD, ROOT, SECRET
from tests.conftest import empty_database

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")

SHOTS = ROOT / "test-output" / "screenshots"


def _prepare(url: str) -> dict:
    """Migrate, load the demo, add a village office user and three cases of V01."""
    from checkins import tables as m
    from checkins.auth.office_users import create_office_user
    from checkins.cases import service as svc
    from server.bootstrap import load_demo, prepare_database
    from server.settings import Settings

    settings = Settings(environment="test", secret_key=SECRET, database_url=url)
    engine = prepare_database(settings)
    try:
        load_demo(settings, engine)
        with Session(engine) as s:
            create_office_user(s, username="v01c", password=PASSWORD, role="village_office", village_id="V01")
            grid = s.scalars(sa.select(m.Grid).where(m.Grid.village_id == "V01").order_by(m.Grid.grid_id)).first()
            worker = s.scalars(sa.select(m.Worker).where(m.Worker.village_id == "V01")
                               .order_by(m.Worker.worker_id)).first()
            p = grid.geom.representative_point()
            now = dt.datetime.now(dt.UTC)
            made = {}
            for key, hours, cat, text in (("late", 30, "安全隐患", "电线裸露，靠近学校"),
                                          ("soon", 21, "环境卫生", "垃圾堆放未清运"),
                                          ("fresh", 1, "设施损坏", "路灯不亮")):
                case, _ = svc.report_case(s, worker_id=worker.worker_id, device_id=None, client_id=f"b-{key}",
                                          category=cat, text=text, lon=float(p.x), lat=float(p.y), datum="wgs84",
                                          reported_at=now - dt.timedelta(hours=hours))
                made[key] = case.id
            s.commit()
            return {"cases": made, "worker": worker.worker_id}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo(db_backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    tmp = tmp_path_factory.mktemp("browser-cases")
    with empty_database(db_backend, tmp) as url:
        info = _prepare(url)
        srv = ServerProc(url, tmp / "data", env={"GRIDPATROL_SECRET_KEY": SECRET,
                                                  "GRIDPATROL_SCHEDULER_ENABLED": "false"})
        srv.start(timeout_s=120)  # a shared 2-core machine can take a while (as conftest)
        try:
            yield srv.url, info
        finally:
            srv.stop()


def _login(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/office/login?next=/office/cases")
    page.fill("input[name=username]", "v01c")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/office/cases")


@pytest.mark.parametrize("width", [1400, 390])
def test_case_queue_page_and_dispatch(demo, browser, db_backend: str, width: int) -> None:
    url, info = demo
    shots = SHOTS / db_backend
    if width == 1400:
        shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, url)

    # the queue: the breached case first, then the one about to breach, then the fresh one
    rows = page.locator("#case-queue tbody tr[data-case]")
    order = [rows.nth(i).get_attribute("data-case") for i in range(rows.count())]
    ids = info["cases"]
    mine = [o for o in order if int(o) in ids.values()]
    if width == 1400:  # (the 390 px run comes second: the late case has been dispatched then)
        assert mine[:3] == [str(ids["late"]), str(ids["soon"]), str(ids["fresh"])]
        assert "受理已超时" in page.inner_text(f"tr[data-case='{ids['late']}']")
    else:
        assert "已派单" in page.inner_text(f"tr[data-case='{ids['late']}']")
    assert "受理即将超时" in page.inner_text(f"tr[data-case='{ids['soon']}']")
    page.screenshot(path=str(shots / f"cases-1-queue-{width}.png"), full_page=True)
    page.select_option("#case-filters select[name=clock]", "breached")
    page.click("#case-filters button[type=submit]")
    page.wait_for_url("**clock=breached**")
    assert page.locator(f"tr[data-case='{ids['soon']}']").count() == 0
    shown = page.locator("#case-queue tbody tr[data-case]")
    breached = [shown.nth(i).get_attribute("data-case") for i in range(shown.count())]
    # ours (the demo's own cases may be breached too: its week-old case is)
    assert [b for b in breached if int(b) in ids.values()] == ([str(ids["late"])] if width == 1400 else [])

    # a case page: the map with the case point and its grid; then dispatch to a worker
    target = ids["late"] if width == 1400 else ids["soon"]
    page.goto(f"{url}/office/cases/{target}")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator("#map path.case-point").count() == 1
    assert page.locator("#map path.leaflet-interactive").count() >= 3  # grid, point, 50 m ring
    page.screenshot(path=str(shots / f"cases-2-case-{width}.png"), full_page=True)
    page.select_option("#form-dispatch select[name=worker_id]", info["worker"])
    page.fill("#form-dispatch input[name=place_text]", "学校东门")
    page.fill("#form-dispatch input[name=deadline_h]", "2")
    page.click("#form-dispatch button[type=submit]")
    page.wait_for_selector("#flash")
    assert "已派单" in page.inner_text("#flash")
    assert "学校东门" in page.inner_text("#instructions")
    assert "已派单" in page.inner_text("#case-facts")
    assert page.locator("#map path.leaflet-interactive").count() >= 4  # + the instruction's place
    page.screenshot(path=str(shots / f"cases-3-dispatched-{width}.png"), full_page=True)
    # nothing wider than the viewport at 390 px (the page scrolls vertically only)
    scroll_w = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_w <= width + 1, scroll_w

    # the live map: the open cases as a layer with their clocks, a click opens the case
    page.goto(f"{url}/office/live")
    page.wait_for_selector("#live-cases[data-cases]")
    n = int(page.get_attribute("#live-cases", "data-cases"))
    assert n >= 2 and page.locator("#live-map .case-pin").count() == n
    assert int(page.inner_text("#live-cases [data-clock='breached']")) >= (1 if width == 1400 else 0)
    page.screenshot(path=str(shots / f"cases-4-live-{width}.png"), full_page=True)
    page.uncheck("#live-cases-on")
    assert page.locator("#live-map .case-pin").count() == 0
    page.check("#live-cases-on")
    assert page.locator("#live-map .case-pin").count() == n
    scroll_w = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_w <= width + 1, scroll_w
    assert errors == []
    ctx.close()
