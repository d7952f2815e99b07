"""Issue 16: no English reaches the township office from any shipped profile. The township is
put on each packaged profile in turn; its ranking and sheet pages, the exports (xlsx, csv) and
the what-if against every other profile (page and JSON) are read like the browser tour reads
a page: no ASCII word outside ids, rule ids and ``translate="no"`` elements."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Any

import openpyxl
import pytest

from checkins import tables as m
from scoring.profiles import list_profiles, load_profile
from tests.browser.test_office_tour import english_words
from tests.server.township.conftest import QUARTER, Quarter

API = "/api/township"
APP = {"App"}  # the phone app's name as Chinese users write it (网格员 App)
# JSON keys whose values are codes or ids, not text for people
CODES = {"evidence", "rule", "subject_id", "kind", "role", "village_id", "period", "profile",
         "profiles", "source", "method", "status", "item", "part", "subject", "tier",
         "worker_id", "item_id", "currency", "key", "group", "mean_of", "detail", "subject_kind",
         "township_id", "quota_source", "mapped_periods", "unchanged", "name", "office_id"}


class _Text(HTMLParser):
    """The text a user reads: outside script/style/title and ``translate="no"``; plus titles
    and placeholders (as the tour)."""

    SKIP = {"script", "style", "title", "noscript"}
    VOID = {"br", "img", "input", "meta", "link", "hr", "col", "area", "base", "source", "wbr"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        skip = bool(self.stack and self.stack[-1]) or tag in self.SKIP or a.get("translate") == "no"
        if not skip:
            self.out += [v for k, v in attrs if k in ("title", "placeholder") and v]
        if tag not in self.VOID:
            self.stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1]) and data.strip():
            self.out.append(data)


def _words(text: str) -> list[str]:
    # a profile id is an id (as a rule id); "v01/fulltime": a word behind an id is a word
    for pid in list_profiles():
        text = text.replace(pid, " ")
    return [w for w in english_words(text.replace("/", " ")) if w not in APP]


def _page_words(html: str) -> list[str]:
    p = _Text()
    p.feed(html)
    return _words("\n".join(p.out))


def _json_words(node: Any, key: str = "") -> list[str]:
    if key in CODES:
        return []
    if isinstance(node, str):
        return _words(node)
    if isinstance(node, dict):
        return [w for k, v in node.items() for w in _json_words(v, k)]
    if isinstance(node, list):
        return [w for v in node for w in _json_words(v, key)]
    return []


def _period(name: str) -> str:
    """The fixture's quarter, or its first month under a profile without quarters."""
    y, n = QUARTER.split("Q")
    return QUARTER if "quarter" in load_profile(name).periods else f"{y}-{(int(n) - 1) * 3 + 1:02d}"


@pytest.mark.parametrize("name", list_profiles())
def test_township_pages_exports_and_whatif_in_chinese(client, quarter: Quarter, session, name: str):
    q = quarter
    session.get(m.Township, f"{q.world.tag}T").profile = name
    session.flush()
    h, per = q.world.headers("township_office"), _period(name)
    english: dict[str, list[str]] = {}

    def check(where: str, words: list[str]) -> None:
        if words:
            english[where] = sorted(set(words))

    r = client.get(f"{API}/periods/{per}?{q.tq()}", headers=h)
    assert r.status_code == 200, r.text
    doc = r.json()
    check("ranking json", _json_words(doc))
    page = client.get(f"/office/township/periods/{per}?{q.tq()}", headers=h)
    assert page.status_code == 200
    check("ranking page", _page_words(page.text))
    subjects = [s["subject_id"] for s in doc.get("sheets", doc.get("ranking", []))
                if isinstance(s, dict) and "subject_id" in s]
    if not subjects:  # the ranking's shape: per village
        subjects = sorted({w for v in q.workers.values() for w in v})
    office = "office" in load_profile(name).subjects[:1]
    for sid in ([q.world.villages["own"]] if office else subjects[:3]):
        s = client.get(f"{API}/periods/{per}/sheets/{sid}?{q.tq()}", headers=h)
        assert s.status_code == 200, (sid, s.text)
        check(f"sheet json {sid}", _json_words(s.json()))
        sp = client.get(f"/office/township/periods/{per}/sheets/{sid}?{q.tq()}", headers=h)
        assert sp.status_code == 200
        check(f"sheet page {sid}", _page_words(sp.text))
    x = client.get(f"{API}/periods/{per}/export.xlsx?{q.tq()}", headers=h)
    assert x.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(x.content))
    cells = [str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
             for c in row if isinstance(c, str)]
    cells += [ws.title for ws in wb.worksheets]
    check("xlsx", _words("\n".join(cells)))
    c = client.get(f"{API}/periods/{per}/export.csv?{q.tq()}", headers=h)
    assert c.status_code == 200
    check("csv", _words(c.content.decode("utf-8-sig")))
    for other in list_profiles():
        if other == name:
            continue
        w = client.post(f"{API}/periods/{per}/whatif?{q.tq()}", headers=h, json={"profile": other})
        assert w.status_code in (200, 422), w.text
        check(f"whatif json {other}", _json_words(w.json()))
        wp = client.get(f"/office/township/periods/{per}/whatif?profile={other}&{q.tq()}",
                        headers=h, follow_redirects=True)
        assert wp.status_code == 200
        check(f"whatif page {other}", _page_words(wp.text))
    assert not english, f"{name}: English in\n" + "\n".join(f"{k}: {v}" for k, v in english.items())
