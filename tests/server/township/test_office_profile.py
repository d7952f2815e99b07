"""A township on the Quanshan profile: the subjects are the offices (villages); items for an
office are scoped by that village; a quarter is not one of its periods."""

from __future__ import annotations

from checkins import tables as m
from tests.server.township.conftest import Quarter

API = "/api/township"


def test_office_subjects_items_and_scope(client, quarter: Quarter, session):
    q = quarter
    session.get(m.Township, f"{q.world.tag}T").profile = "quanshan-positioning"
    session.flush()
    va, vb = q.world.villages["own"], q.world.villages["other"]
    h, hv = q.world.headers("township_office"), q.world.headers("village_office")
    assert client.get(f"{API}/periods/2026Q3?{q.tq()}", headers=h).status_code == 422
    r = client.post(f"{API}/items?{q.tq()}", headers=h, json={
        "subject_id": va, "rule": "QS-TERMINAL", "item": "terminal_lost", "note": "终端遗失 报告",
        "date": "2026-07-15"})
    assert r.status_code == 201, r.text
    assert r.json()["village_id"] == va
    rk = client.get(f"{API}/periods/2026-07?{q.tq()}", headers=h).json()
    subjects = {s["subject_id"] for v in rk["villages"] for s in v["subjects"]}
    assert subjects == {va, vb}
    sheet = client.get(f"{API}/periods/2026-07/sheets/{va}?{q.tq()}", headers=h).json()["sheet"]
    terminal = next(i for i in sheet["items"] if i["rule"] == "QS-TERMINAL")
    assert terminal["points"] == 0 and terminal["trail"][0]["evidence"]["item_id"] == r.json()["item_id"]
    # the village office: its own office's sheet only; items for the other office refused
    assert client.get(f"{API}/periods/2026-07/sheets/{va}", headers=hv).status_code == 200
    assert client.get(f"{API}/periods/2026-07/sheets/{vb}", headers=hv).status_code == 404
    r = client.post(f"{API}/items", headers=hv, json={
        "subject_id": vb, "rule": "QS-TERMINAL", "item": "terminal_lost", "note": "x",
        "date": "2026-07-15"})
    assert r.status_code == 404
    # a worker id is not a subject of an office profile
    r = client.post(f"{API}/items", headers=hv, json={
        "subject_id": q.workers["own"][0], "rule": "QS-TERMINAL", "item": "terminal_lost",
        "note": "x", "date": "2026-07-15"})
    assert r.status_code == 404
