"""Case pages: queue with clocks and filters, the case page, the forms, the export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl

from checkins.cases import service as svc
from checkins.cases.models import Case
from tests.server.office.scope_cases_cases import _case


def _aged(world, side, hours, status="reported", complex_=False):
    cid = _case(world, side, status)
    c = world.session.get(Case, cid)
    c.reported_at = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)
    c.complex = complex_
    world.session.flush()
    return cid


def test_queue_clocks_filters_and_scope(client, world):
    late = _aged(world, "own", 30)           # not accepted after 30 h: 已超时
    soon = _aged(world, "own", 21)           # 3 h left of 24: 即将超时
    fresh = _aged(world, "own", 1)           # in time
    cx = _aged(world, "own", 24 * 6, "accepted", complex_=True)  # complex: 15 days, in time
    other = _aged(world, "other", 30)
    h = world.headers("village_office")
    page = client.get("/office/cases", headers=h).text
    rows = {cid: page.split(f'data-case="{cid}"')[1].split("</tr>")[0] for cid in (late, soon, fresh, cx)}
    assert "受理已超时" in rows[late] and "受理即将超时" in rows[soon] and "受理时限内" in rows[fresh]
    assert "办结时限内" in rows[cx]
    assert f'data-case="{other}"' not in page and world.villages["other"] not in page
    assert page.index(f'data-case="{late}"') < page.index(f'data-case="{soon}"') < page.index(f'data-case="{fresh}"')
    only = client.get("/office/cases?clock=breached", headers=h).text
    assert f'data-case="{late}"' in only and f'data-case="{soon}"' not in only
    town = client.get("/office/cases?clock=breached", headers=world.headers("township_office")).text
    assert f'data-case="{other}"' in town and f'data-case="{late}"' in town


def test_case_page_dispatch_and_history(client, world):
    cid = _aged(world, "own", 2)
    h = world.headers("village_office")
    page = client.get(f"/office/cases/{cid}", headers=h)
    assert page.status_code == 200 and 'id="map"' in page.text and "派单" in page.text
    r = client.post(f"/office/cases/{cid}/dispatch", headers=h, follow_redirects=False,
                    data={"worker_id": world.workers["own"], "place_text": "村口桥头", "deadline_h": "4",
                          "note": "请尽快到场"})
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    c = world.session.get(Case, cid)
    assert (c.status, c.valid) == ("dispatched", True)  # dispatching a report accepts it
    (ins,) = svc.instructions_of(world.session, cid)
    assert (ins.worker_id, ins.place_text) == (world.workers["own"], "村口桥头")
    assert abs((ins.deadline_at - ins.created_at).total_seconds() - 4 * 3600) < 1
    page = client.get(f"/office/cases/{cid}", headers=h).text
    assert "村口桥头" in page and "派单时受理" in page
    # the other village's worker cannot be sent by this village office
    r = client.post(f"/office/cases/{cid}/dispatch", headers=h, follow_redirects=False,
                    data={"worker_id": world.workers["other"], "deadline_h": "4"})
    assert r.status_code == 303 and "error=" in r.headers["location"]
    r = client.post(f"/office/cases/{cid}/reject", headers=h, follow_redirects=False, data={"reason": "x"})
    assert "error=" in r.headers["location"]  # dispatched cannot become invalid


def test_export_csv_and_xlsx_with_chinese_headers(client, world):
    cid = _aged(world, "own", 30)
    h = world.headers("village_office")
    r = client.get("/office/cases/export.csv?status=open", headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8").lstrip("\ufeff"))))
    row = next(x for x in rows if x["事件编号"] == str(cid))
    assert (row["类别"], row["状态"], row["时限"]) == ("其他", "已上报", "受理已超时")
    assert all(x["村"] == world.villages["own"] for x in rows)
    r = client.get("/office/cases/export.xlsx", headers=h)
    ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
    header = [c.value for c in next(ws.iter_rows(max_row=1))] if ws.max_row else []
    assert "事件编号" in header or any("事件编号" == c.value for r_ in ws.iter_rows(max_row=3) for c in r_)


def test_township_office_edits_the_categories(client, world):
    r = client.post("/office/cases/categories", headers=world.headers("township_office"),
                    data={"names": "安全隐患\n违章搭建\n其他\n"}, follow_redirects=False)
    assert r.status_code == 303 and "msg=" in r.headers["location"]
    town = client.get("/office/cases", headers=world.headers("township_office")).text
    assert "违章搭建" in town and "矛盾纠纷" not in town.split('id="categories"')[0]
    r = client.post("/office/cases/categories", headers=world.headers("village_office"),
                    data={"names": "其他"}, follow_redirects=False)
    assert r.status_code == 403


def test_live_map_case_layer_json_with_clocks_and_scope(client, world):
    late = _aged(world, "own", 30)           # not accepted after 30 h: breached
    soon = _aged(world, "own", 21)           # 3 h left of 24: soon
    done = _aged(world, "own", 2, "closed")  # closed: not on the map
    other = _aged(world, "other", 1)
    h = world.headers("village_office")
    got = client.get("/office/live/cases.json", headers=h).json()
    by = {c["case_id"]: c for c in got["cases"]}
    assert by[late]["clock"] == "breached" and by[late]["clock_zh"] == "受理已超时"
    assert by[soon]["clock"] == "soon" and by[soon]["url"] == f"/office/cases/{soon}"
    assert done not in by and other not in by  # closed cases and another village's are not shown
    assert got["counts"]["breached"] >= 1 and -90 <= by[late]["lat"] <= 90
    # a village office asking for another village: 404, as for its pages
    r = client.get(f"/office/live/cases.json?village_id={world.villages['other']}", headers=h)
    assert r.status_code == 404
    town = client.get(f"/office/live/cases.json?village_id={world.villages['other']}",
                      headers=world.headers("township_office")).json()
    assert [c["case_id"] for c in town["cases"]] == [other]
    # the live page carries the layer (its script and the counts line); not for a past moment
    page = client.get("/office/live", headers=h).text
    assert "live_cases.js" in page and 'id="live-cases"' in page
    past = client.get("/office/live?at=2026-11-23T10:00", headers=h).text
    assert 'id="live-cases"' not in past
