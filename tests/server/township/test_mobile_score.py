"""``GET /api/mobile/v1/me/score``: the worker's own sheet only, frozen after closing."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins import tables as m
from checkins.auth.office import admin_scope
from checkins.scores import service as svc
from tests.server.mobile.conftest import (  # noqa: F401  (fixtures re-used)
    PREFIX,
    _cheap_password_hashing,
    bearer,
    login,
    make_worker,
    mobile_app,
    township,
)
from tests.server.township.conftest import entry

DAYS = [dt.date(2026, 1, 5) + dt.timedelta(days=7 * i) for i in range(4)]


def _store_days(engine, worker_id: str, grid_id: str, short: int) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        for i, d in enumerate(DAYS):
            s.add(m.DayResult(worker_id=worker_id, work_date=d, provisional=False,
                              result=entry(worker_id, grid_id, d, "parttime",
                                           pm="short" if i < short else "ok")))
        s.commit()


def test_own_sheet_only_frozen_after_close(mobile_app, migrated_engine, township, make_worker):  # noqa: F811
    a, b = make_worker(role="parttime"), make_worker(role="parttime")
    _store_days(migrated_engine, a.worker_id, a.grid_id, short=1)
    _store_days(migrated_engine, b.worker_id, b.grid_id, short=3)
    with TestClient(mobile_app) as c:
        h = bearer(login(c, a))
        r = c.get(f"{PREFIX}/me/score", params={"period": "2026Q1", "worker_id": b.worker_id}, headers=h)
        assert r.status_code == 200, r.text
        me = r.json()
        assert me["worker_id"] == a.worker_id and not me["frozen"]
        trail = [t for it in me["items"] for t in it["trail"] if t["rule"] == "YK-PATROL"]
        assert [t["evidence"]["date"] for t in trail] == [DAYS[0].isoformat()]
        assert b.worker_id not in r.text
        # a 2-worker village: 0.4/1.2/0.4 -> floors 0/1/0, the place left goes to the larger
        # remainder (0.4: excellent and pass tie, excellent first in remainder_tie_order)
        assert me["tier_label"] == "优秀" and me["payout_total"] == 600
        hb = bearer(login(c, b))
        mine_b = c.get(f"{PREFIX}/me/score", params={"period": "2026Q1"}, headers=hb).json()
        assert mine_b["worker_id"] == b.worker_id and mine_b["total"] < me["total"]
        assert (mine_b["tier_label"], mine_b["payout_total"]) == ("良好", 450)
        # the same numbers as the township's sheet
        with Session(migrated_engine) as s:
            t = s.get(m.Township, township.township_id)
            office = svc.sheet(s, admin_scope(), t, "2026Q1", a.worker_id)["sheet"]
            assert office["total"] == me["total"]

            def flat(items):  # type: ignore[no-untyped-def]
                return [(t["rule"], t["points"], t["reason"], t["evidence"]) for i in items for t in i["trail"]]

            assert flat(office["items"]) == flat(me["items"])
            svc.close_period(s, admin_scope(), t, "2026Q1")
            row = s.scalars(sa.select(m.DayResult).where(m.DayResult.worker_id == a.worker_id,
                                                         m.DayResult.work_date == DAYS[3])).one()
            row.result = entry(a.worker_id, a.grid_id, DAYS[3], "parttime", pm="missing")
            s.commit()
        frozen = c.get(f"{PREFIX}/me/score", params={"period": "2026Q1"}, headers=h).json()
        assert frozen["frozen"] and frozen["total"] == me["total"]
        for bad in ("2026Q5", "2026W03", ""):
            r = c.get(f"{PREFIX}/me/score", params={"period": bad}, headers=h)
            assert r.status_code == 422 and r.json()["error"]["code"] == "validation_failed"
        assert c.get(f"{PREFIX}/me/score", params={"period": "2026Q1"}).status_code == 401
