"""A tour of every office and township page in Chromium at 1400 px and at 390 px (a phone).

On every page and width: no horizontal overflow (``scrollWidth`` <= the viewport), no page
error and no console error, no English word in what a user reads, and a full-page screenshot
under ``test-output/screenshots/<backend>/``. Then the dashboard, the live map and the track
replay are used as a clerk would: a number leads to its rows, the map polls without a reload
and shows nobody as unreachable at night, the replay plays and seeks.

The English check reads the visible text nodes, input placeholders and select options. Not
words: tokens with a digit or an underscore (worker, grid and village ids, dates, profile
ids), rule ids (``GEO-OFFPOST``, ``YK-PATROL``: upper-case words joined by hyphens, RULES.md),
and text inside ``translate="no"`` elements, HTML's own mark for "an identifier, not
language" (user names, audit actions and their JSON, device ids, item codes, the CSV column
names of the import format). :data:`ALLOWED` are the only words allowed: file formats as
Chinese office software itself names them.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import time
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM, PASSWORD, ROOT, Demo

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")

WIDTHS = (1400, 390)
ALLOWED = {"CSV", "Excel"}
RULE_ID = re.compile(r"^[A-Z]{2,}(-[A-Z0-9]+)+$")
TOKEN = re.compile(r"[A-Za-z0-9_'.:/-]*[A-Za-z][A-Za-z0-9_'.:/-]*")

# the visible text of the page, outside translate="no" (see the module docstring)
VISIBLE_TEXT = """() => {
  const out = [];
  const skip = el => !el || el.closest('[translate="no"], script, style, noscript, title');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (skip(el) || !n.textContent.trim()) continue;
    if (!el.getClientRects().length || getComputedStyle(el).visibility === 'hidden') continue;
    out.push(n.textContent);
  }
  document.querySelectorAll('input[placeholder], textarea[placeholder]').forEach(i => {
    if (!skip(i)) out.push(i.placeholder); });
  document.querySelectorAll('select option').forEach(o => { if (!skip(o)) out.push(o.text); });
  document.querySelectorAll('[title]').forEach(e => { if (!skip(e)) out.push(e.title); });
  return out.join('\\n');
}"""


def english_words(text: str) -> list[str]:
    """ASCII words of ``text`` that are neither ids, rule ids nor allowed (sorted, unique)."""
    out = set()
    for tok in TOKEN.findall(text):
        tok = tok.strip("'.:/-")
        if not tok or any(c.isdigit() or c == "_" for c in tok) or RULE_ID.match(tok):
            continue
        if tok in ALLOWED or len(re.sub(r"[^A-Za-z]", "", tok)) < 2:
            continue
        out.add(tok)
    return sorted(out)


def test_english_words_probe() -> None:
    """The probe itself: ids and rule ids pass, words do not."""
    text = ("w001 V01-G01 2026Q4 GEO-OFFPOST YK-REWARD-FT 导出 CSV 12:30 ±8 米 "
            "afternoon patrol missing; 暂定 (provisional) mock_location UTC yangkou-2022 km")
    assert english_words(text) == ["UTC", "afternoon", "km", "missing", "patrol",
                                   "provisional"]


def _pages(demo: Demo, worker: str) -> list[tuple[str, str, str | None]]:
    """(name, path, selector that says the page's script is done) of every page."""
    day = demo.day
    monday = day - dt.timedelta(days=day.weekday())
    quarter = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return [
        ("dashboard", "/office/dashboard", "body[data-charts='4']"),
        ("dashboard-village", f"/office/dashboard?village_id=V01&date={day}",
         "body[data-charts='4']"),
        ("day", f"/office/villages/V01/days/{day}", "table.labelled"),
        ("day-problems", f"/office/villages/V01/days/{day}?status=problem&sort=points&desc=true",
         "table.labelled"),
        ("week", f"/office/villages/V01/weeks/{monday}", "table.labelled"),
        ("worker-day", f"/office/workers/{worker}/days/{day}", "#map[data-ready='1']"),
        ("live-township", f"/office/live?at={day}T10:30", "#live-map[data-grids]"),
        ("live-village", f"/office/villages/V01/live?at={day}T15:00", "#live-map[data-grids]"),
        ("decisions", "/office/decisions?status=", None),
        ("audit", "/office/audit", None),
        ("ranking", f"/office/township/periods/{quarter}", None),
        ("sheet", f"/office/township/periods/{quarter}/sheets/{worker}", None),
        ("items", "/office/township/items", None),
        ("whatif", f"/office/township/periods/{quarter}/whatif", None),
    ]


def _until(page, cond, timeout_s: float = 15.0) -> None:
    """Poll ``cond`` from Python (the pages' CSP forbids the string eval of wait_for_function)."""
    end = time.monotonic() + timeout_s
    while not cond():
        assert time.monotonic() < end, "condition not met in time"
        page.wait_for_timeout(100)


def _login(page, url: str, user: str) -> None:
    page.goto(f"{url}/office/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/office/dashboard")


def test_every_page_at_both_widths(demo: Demo, browser, db_backend: str) -> None:
    shots = ROOT / "test-output" / "screenshots" / db_backend
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    english: dict[str, list[str]] = {}
    errors: list[str] = []
    for width in WIDTHS:
        ctx = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        page.on("pageerror", lambda e: errors.append(f"pageerror {e}"))
        page.on("console", lambda m: errors.append(f"console {m.text}")
                if m.type == "error" else None)
        pages = [("login", "/office/login", "#login-form")]
        page.goto(demo.url + pages[0][1])
        for name, path, ready in pages + _pages(demo, demo.leave_worker):
            if name != "login":
                if page.url.endswith("/office/login"):
                    _login(page, demo.url, "town")
                page.goto(demo.url + path)
            if ready:
                page.wait_for_selector(ready, state="attached")
            page.wait_for_load_state("networkidle")
            where = f"{name}@{width}"
            assert "/office/login" not in page.url or name == "login", where
            sw = page.evaluate("document.documentElement.scrollWidth")
            if sw > width:
                problems.append(f"{where}: scrollWidth {sw} > {width}")
            if errors:
                problems.append(f"{where}: {errors}")
                errors.clear()
            words = english_words(page.evaluate(VISIBLE_TEXT))
            if words:
                english[where] = words
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        ctx.close()
    assert not problems, "\n".join(problems)
    assert not english, "English words in the office pages:\n" + "\n".join(
        f"{k}: {v}" for k, v in english.items())


def test_dashboard_live_map_and_replay_in_use(demo: Demo, browser) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, demo.url, "v01")

    # the dashboard of the village: four ECharts charts; a number leads to the rows behind it
    page.wait_for_selector("body[data-charts='4']")
    assert page.locator(".chart svg").count() == 4
    tile = page.locator("#dash-today a[data-num='patrols']")
    done, required = (int(x) for x in re.findall(r"\d+", tile.inner_text())[:2])
    assert 0 < done <= required
    dashboard = page.url
    seen = 0
    for key, status in (("offpost", "offpost"), ("problem_days", "deducted"),
                        ("suspect", "suspect"), ("phone_off", "phoneoff")):
        page.goto(dashboard)
        n = int(page.locator(f"#dash-today a[data-num='{key}'] .num").inner_text())
        page.locator(f"#dash-today a[data-num='{key}']").click()
        page.wait_for_url(f"**status={status}")
        rows = page.locator("#day-table tbody tr[data-worker]").count()
        # a worker-day can hold more than one off-post or phone-off interval
        assert (rows == n) if key in ("problem_days", "suspect") else (0 < rows <= n or n == 0)
        seen += n
    assert seen > 0  # the demo day has something to click through to

    # the live map at mid-morning: markers over the grids, states, polling without a reload
    page.goto(f"{demo.url}/office/villages/V01/live?at={demo.day}T10:30")
    page.wait_for_selector("#live-map[data-grids]")
    states = page.locator("#live-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.status)")
    assert "on_patrol" in states
    assert set(states) <= {"on_patrol", "in_grid", "off_post", "unreachable", "off_duty"}
    assert page.locator("#live-map path.worker").count() >= len(states) - 1
    with page.expect_response(lambda r: "/office/live.json" in r.url and r.status == 200):
        page.evaluate("window.gpLive.poll()")
    _until(page, lambda: page.locator("#live-table tbody tr").count() > 0)
    assert page.locator("#live-table tbody tr").count() == len(states)
    # at night nobody is unreachable: everyone is off duty
    page.goto(f"{demo.url}/office/villages/V01/live?at={demo.day}T22:30")
    night = page.locator("#live-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.status)")
    assert night and set(night) == {"off_duty"}, night
    assert "工作时间外" in page.inner_text("#off-hours")

    # the replay: start and end markers, lanes, play moves the position, the slider seeks
    page.goto(f"{demo.url}/office/workers/{demo.leave_worker}/days/{demo.day}")
    page.wait_for_selector("#map[data-ready='1']")
    assert page.locator(".pin.start").count() == 1 and page.locator(".pin.end").count() == 1
    assert page.locator("#lanes .lane").count() == 3
    assert page.locator("#lanes .lane-patrol .seg").count() >= 1
    last = page.get_attribute("#map", "data-replay-index")
    page.evaluate("""() => { const s = document.getElementById('replay-slider');
        s.value = s.min; s.dispatchEvent(new Event('input')); }""")
    assert page.get_attribute("#map", "data-replay-index") == "0"
    page.select_option("#replay-speed", "1200")
    page.click("#replay-play")
    _until(page, lambda: int(page.get_attribute("#map", "data-replay-index")) > 0)
    page.click("#replay-play")  # pause
    assert page.inner_text("#replay-play") == "播放"
    assert int(page.get_attribute("#map", "data-replay-index")) <= int(last)
    assert errors == [], errors
    ctx.close()
