"""Mobile API: cases (事件) and instructions; idempotent reports; a worker sees only their own."""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from checkins.cases import service as svc
from checkins.cases.models import Case
from geo import crs
from mobile_api_spec.examples import example_photo
from tests.server.mobile.conftest import PREFIX, bearer, login

PHOTO = ("photos", ("a.jpg", example_photo(), "image/jpeg"))


def _form(township, client_id="rep-1", **over):  # type: ignore[no-untyped-def]
    c = township.grid.centroid
    base = {"client_id": client_id, "category": "安全隐患", "text": "电线裸露", "lon": str(c.x),
            "lat": str(c.y), "datum": "wgs84",
            "reported_at": (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()}
    return base | over


def test_report_sent_three_times_is_stored_once(client, make_worker, township, migrated_engine):
    w = make_worker()
    h = bearer(login(client, w))
    answers = [client.post(f"{PREFIX}/cases", headers=h, data=_form(township), files=[PHOTO]) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200], answers[0].text
    assert [r.json()["duplicate"] for r in answers] == [False, True, True]
    assert len({r.json()["case_id"] for r in answers}) == 1
    first = answers[0].json()
    assert (first["status"], first["grid_id"], first["village_id"]) == ("reported", township.grid_id,
                                                                         township.village_id)
    assert len(first["photos"]) == 1
    with Session(migrated_engine) as s:
        n = s.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.reporter_id == w.worker_id))
    assert n == 1
    assert [c["case_id"] for c in client.get(f"{PREFIX}/cases", headers=h).json()["items"]] == [first["case_id"]]


def test_report_in_gcj02_comes_back_in_wgs84(client, make_worker, township):
    h = bearer(login(client, make_worker()))
    c = township.grid.centroid
    glon, glat = crs.from_wgs84(np.array([c.x]), np.array([c.y]), "gcj02")
    r = client.post(f"{PREFIX}/cases", headers=h,
                    data=_form(township, lon=str(glon[0]), lat=str(glat[0]), datum="gcj02"))
    assert r.status_code == 200, r.text
    assert abs(r.json()["lon"] - c.x) < 1e-6 and abs(r.json()["lat"] - c.y) < 1e-6


def test_bad_reports_name_the_field(client, make_worker, township):
    h = bearer(login(client, make_worker()))
    r = client.post(f"{PREFIX}/cases", headers=h, data=_form(township, category="外星人"))
    assert (r.status_code, r.json()["error"]["field"]) == (422, "category")
    form = _form(township)
    del form["lon"]
    r = client.post(f"{PREFIX}/cases", headers=h, data=form)
    assert r.status_code == 422 and r.json()["error"]["field"] == "lon"
    r = client.post(f"{PREFIX}/cases", headers=h, data=_form(township, client_id="x2"),
                    files=[("photos", ("a.jpg", b"not a photo", "image/jpeg"))])
    assert (r.status_code, r.json()["error"]["field"]) == (422, "photos.0")
    cats = client.get(f"{PREFIX}/cases/categories", headers=h).json()["categories"]
    assert cats == ["安全隐患", "矛盾纠纷", "环境卫生", "设施损坏", "其他"]


def test_instructions_are_only_the_workers_own(client, make_worker, township, migrated_engine):
    a, b = make_worker(), make_worker()
    ha, hb = bearer(login(client, a)), bearer(login(client, b))
    case_id = client.post(f"{PREFIX}/cases", headers=ha, data=_form(township)).json()["case_id"]
    with Session(migrated_engine, expire_on_commit=False) as s:
        ins = svc.dispatch(s, int(case_id), scope=svc.Scope(township.village_id), actor="office:test",
                           worker_id=b.worker_id, place_text="村口桥头")
        s.commit()
    # a reported it but the instruction is b's: a sees none, cannot acknowledge it
    assert client.get(f"{PREFIX}/instructions", headers=ha).json()["items"] == []
    r = client.post(f"{PREFIX}/instructions/{ins.id}/acknowledge", headers=ha)
    assert r.status_code == 404
    assert client.get(f"{PREFIX}/cases", headers=hb).json()["items"] == []  # b reported nothing
    items = client.get(f"{PREFIX}/instructions", headers=hb).json()["items"]
    assert [(i["instruction_id"], i["place_text"]) for i in items] == [(str(ins.id), "村口桥头")]
    r = client.post(f"{PREFIX}/instructions/{ins.id}/acknowledge", headers=hb)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    r = client.post(f"{PREFIX}/instructions/{ins.id}/arrived", headers=hb)
    assert (r.status_code, r.json()["error"]["field"]) == (422, "photos")
    r = client.post(f"{PREFIX}/instructions/{ins.id}/arrived", headers=ha, files=[PHOTO])
    assert r.status_code == 404
    r = client.post(f"{PREFIX}/instructions/{ins.id}/arrived", headers=hb, files=[PHOTO])
    assert r.status_code == 200 and r.json()["arrived_at"] and r.json()["photos"][0]["stage"] == "arrived"
    r = client.post(f"{PREFIX}/instructions/{ins.id}/resolved", headers=hb, data={"text": "已处理"},
                    files=[PHOTO])
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert client.get(f"{PREFIX}/cases", headers=ha).json()["items"][0]["status"] == "resolved"
