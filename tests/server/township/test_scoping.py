"""Scope of the township scoring API and pages: a village office reads and enters its own
village only (other villages' ids in path, query or body: 404), cannot close, reopen,
override quotas or run what-if (403); nobody without a login gets anything (401/redirect)."""

from __future__ import annotations

import sqlalchemy as sa

from checkins import tables as m
from checkins.scores.models import EnteredItem
from tests.server.township.conftest import QUARTER, Quarter

API = "/api/township"


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_village_office_sees_only_its_village(client, quarter: Quarter):
    q, h = quarter, quarter.world.headers("village_office")
    va, vb = q.world.villages["own"], q.world.villages["other"]
    rk = client.get(f"{API}/periods/{QUARTER}", headers=h)
    assert rk.status_code == 200
    assert [v["village_id"] for v in rk.json()["villages"]] == [va]
    assert all(t["village_id"] == va for t in rk.json()["tiering"])
    assert vb not in rk.text and q.workers["other"][0] not in rk.text
    own = client.get(f"{API}/periods/{QUARTER}/sheets/{q.workers['own'][0]}", headers=h)
    assert own.status_code == 200
    for wid in (q.workers["other"][0], q.world.workers["other"], "nobody"):
        r = client.get(f"{API}/periods/{QUARTER}/sheets/{wid}", headers=h)
        assert r.status_code == 404 and wid not in r.text
    # another township's id in the query: 404, not that township's data
    assert client.get(f"{API}/periods/{QUARTER}?township_id=elsewhere", headers=h).status_code == 404
    assert client.get(f"{API}/items?village_id={vb}", headers=h).status_code == 404
    page = client.get(f"/office/township/periods/{QUARTER}", headers=h)
    assert page.status_code == 200 and va in page.text and vb not in page.text
    assert "close-form" not in page.text and "reopen-form" not in page.text
    r = client.get(f"/office/township/periods/{QUARTER}/sheets/{q.workers['other'][0]}", headers=h)
    assert r.status_code == 404


def test_village_office_enters_items_for_its_own_workers_only(client, quarter: Quarter, session):
    q, h = quarter, quarter.world.headers("village_office")
    n_items, n_audit = _count(session, EnteredItem), _count(session, m.AuditLog)
    body = {"rule": "YK-DRESS", "item": "dress_not_worn", "note": "未着装", "date": "2026-07-08"}
    r = client.post(f"{API}/items", headers=h, json={**body, "subject_id": q.workers["other"][0]})
    assert r.status_code == 404 and q.workers["other"][0] not in r.text
    # ids that are not fields of the body are refused, not used (mass assignment)
    for extra in ({"village_id": q.world.villages["own"]}, {"entered_by": "office:someone"},
                  {"township_id": "x"}):
        r = client.post(f"{API}/items", headers=h,
                        json={**body, "subject_id": q.workers["own"][0], **extra})
        assert r.status_code == 422
    csv_other = ("item_id,subject_id,rule,item,date,period,value,note\n"
                 f"S-1,{q.workers['own'][0]},YK-DRESS,dress_not_worn,2026-07-08,,1,a\n"
                 f"S-2,{q.workers['other'][0]},YK-DRESS,dress_not_worn,2026-07-08,,1,b\n").encode()
    r = client.post(f"{API}/items/import", headers=h, files={"file": ("x.csv", csv_other, "text/csv")})
    assert r.status_code == 404
    # township items (county rank, quotas) are the township's
    r = client.post(f"{API}/items", headers=h, json={"subject_id": "town", "rule": "YK-REWARD-FT",
                                                      "item": "county_rank_month", "value": 3,
                                                      "note": "县通报", "period": "2026-07"})
    assert r.status_code == 403
    assert (_count(session, EnteredItem), _count(session, m.AuditLog)) == (n_items, n_audit)
    ok = client.post(f"{API}/items", headers=h, json={**body, "subject_id": q.workers["own"][0]})
    assert ok.status_code == 201 and ok.json()["village_id"] == q.world.villages["own"]
    assert _count(session, m.AuditLog) == n_audit + 1
    # the other village's office cannot see or withdraw it
    hb = q.world.headers("village_office_b")
    iid = ok.json()["item_id"]
    assert client.post(f"{API}/items/{iid}/withdraw", headers=hb, json={"reason": "不是我村"}).status_code == 404
    assert iid not in client.get(f"{API}/items", headers=hb).text
    assert iid in client.get(f"{API}/items", headers=h).text


def test_township_only_actions_are_refused_to_village_offices(client, quarter: Quarter):
    q, h = quarter, quarter.world.headers("village_office")
    base = f"{API}/periods/{QUARTER}"
    assert client.post(f"{base}/close", headers=h, json={}).status_code == 403
    assert client.post(f"{base}/reopen", headers=h, json={"reason": "想改"}).status_code == 403
    assert client.post(f"{base}/quota", headers=h, json={
        "village_id": q.world.villages["own"], "role": "parttime", "excellent": 5,
        "reason": "全部优秀"}).status_code == 403
    assert client.post(f"{base}/whatif", headers=h, json={"profile": "ningbo-district"}).status_code == 403
    assert client.get(f"/office/township/periods/{QUARTER}/whatif", headers=h).status_code == 403


def test_no_login_no_data(client, quarter: Quarter):
    base = f"{API}/periods/{QUARTER}"
    for method, url in (("GET", base), ("GET", f"{base}/sheets/{quarter.workers['own'][0]}"),
                        ("GET", f"{base}/export.xlsx"), ("POST", f"{base}/close"),
                        ("GET", f"{API}/items"), ("POST", f"{API}/items")):
        assert client.request(method, url).status_code == 401, url
    r = client.get(f"/office/township/periods/{QUARTER}", follow_redirects=False)
    assert r.status_code == 303 and "/office/login" in r.headers["location"]


def test_township_pages_render_and_forms_work(client, quarter: Quarter, session):
    q = quarter
    h = q.world.headers("township_office")
    tq = q.tq()
    page = client.get(f"/office/township/periods/{QUARTER}?{tq}", headers=h)
    assert page.status_code == 200
    for text in (q.world.villages["own"], q.world.villages["other"], "优秀", "close-form", "等次名额"):
        assert text in page.text
    sheet = client.get(f"/office/township/periods/{QUARTER}/sheets/{q.workers['own'][3]}?{tq}", headers=h)
    assert sheet.status_code == 200 and "YK-PATROL" in sheet.text and "扣分明细" in sheet.text
    r = client.post(f"/office/township/items?{tq}", headers=h, follow_redirects=False,
                    data={"subject_id": q.workers["own"][1], "rule": "YK-DRESS",
                          "item": "dress_not_worn", "note": "照片", "date": "2026-07-09"})
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    r = client.post(f"/office/township/periods/{QUARTER}/close?{tq}", headers=h,
                    data={"reason": ""}, follow_redirects=False)
    assert r.status_code == 303 and "msg=" in r.headers["location"] and tq in r.headers["location"]
    page = client.get(f"/office/township/periods/{QUARTER}?{tq}", headers=h)
    assert "reopen-form" in page.text and "已结算锁定" in page.text
    r = client.post(f"/office/township/periods/{QUARTER}/reopen?{tq}", headers=h,
                    data={"reason": ""}, follow_redirects=False)
    assert "error=" in r.headers["location"]
    w = client.get(f"/office/township/periods/{QUARTER}/whatif?{tq}&profile=yangkou-2022", headers=h)
    assert w.status_code == 200 and "没有差别" in w.text
    items = client.get(f"/office/township/items?{tq}&period={QUARTER}", headers=h)
    assert items.status_code == 200 and q.workers["own"][1] in items.text


def test_large_ranking_page_lists_villages_then_one_village(client, quarter: Quarter, monkeypatch):
    """Above RANKING_PAGE_ROWS the page shows the villages' summary, and one village's rows
    on its link; a village office asking for another village gets 404, not its rows."""
    from server.township import pages

    q = quarter
    va, vb = q.world.villages["own"], q.world.villages["other"]
    h = q.world.headers("township_office")
    full = client.get(f"/office/township/periods/{QUARTER}?{q.tq()}", headers=h)
    assert full.status_code == 200 and "village-summary" not in full.text
    assert q.workers["own"][0] in full.text and q.workers["other"][0] in full.text
    monkeypatch.setattr(pages, "RANKING_PAGE_ROWS", 1)
    page = client.get(f"/office/township/periods/{QUARTER}?{q.tq()}", headers=h)
    assert page.status_code == 200 and "village-summary" in page.text
    assert f'data-village="{va}"' in page.text and f'data-village="{vb}"' in page.text
    assert q.workers["own"][0] not in page.text  # no subject rows until a village is picked
    one = client.get(f"/office/township/periods/{QUARTER}?village_id={vb}&{q.tq()}", headers=h)
    assert one.status_code == 200 and q.workers["other"][0] in one.text
    assert q.workers["own"][0] not in one.text
    hv = q.world.headers("village_office")
    assert client.get(f"/office/township/periods/{QUARTER}?village_id={vb}&{q.tq()}",
                      headers=hv).status_code == 404


def test_township_pages_list_only_their_townships_villages(client, quarter: Quarter, session):
    """A county's database holds several townships: the ranking's quota form and the items
    filter of one township list its villages, not another township's."""
    from tests.server.office.conftest import build_world

    q = quarter
    other = build_world(session)  # a second township in the same database
    h = q.world.headers("township_office")
    for path in (f"/office/township/periods/{QUARTER}?{q.tq()}", f"/office/township/items?{q.tq()}"):
        page = client.get(path, headers=h)
        assert page.status_code == 200
        assert f'value="{q.world.villages["own"]}"' in page.text
        assert f'value="{other.villages["own"]}"' not in page.text
