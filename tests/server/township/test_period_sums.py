"""The stored period sums stay equal to a full recomputation whatever happens, in any order:
day results saved, re-saved (a re-evaluation, a decision), made final, deleted; items entered
and withdrawn; on both backends (the db fixtures), under a worker and an office profile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkins import tables as m
from checkins.evaluation import sums as period_sums
from checkins.scores import service as svc
from scoring.items import parse_period
from tests.server.township.conftest import DATES, QUARTER, Quarter, entry

PROFILES = ("yangkou-2022", "quanshan-positioning")
# 2026Q3 and its months (quanshan scores months only)
LABELS = {"yangkou-2022": [QUARTER, "2026-07", "2026-08"], "quanshan-positioning": ["2026-07", "2026-08"]}
OPS = st.lists(st.tuples(st.sampled_from(["save", "save", "final", "delete", "item", "withdraw"]),
                         st.integers(0, 7), st.integers(0, len(DATES) - 1),
                         st.sampled_from(["ok", "short", "missing"])), min_size=1, max_size=10)


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """Sheets and tiering without the day trail (the sums give one line per rule)."""
    sheets = []
    for s in doc["sheets"]:
        s = dict(s)
        s["items"] = [{k: v for k, v in it.items() if k not in ("trail", "detail")} for it in s["items"]]
        sheets.append(s)
    return {"sheets": sheets, "tiering": doc.get("tiering", [])}


def check(session: Any, town: m.Township) -> None:
    profile = svc.township_profile(town)
    assert period_sums.verify(session, town.township_id, LABELS[profile.id], profile) == []
    for label in LABELS[profile.id]:
        per = parse_period(label)
        full, _ = svc.compute(session, town, per)
        assert comparable(svc.sums_doc(session, town, per)) == comparable(full.to_json()), label


@pytest.mark.parametrize("profile", PROFILES)
def test_incremental_sums_equal_a_full_recomputation(quarter: Quarter, session, profile) -> None:
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    if town.profile != profile:
        town.profile = profile
        session.flush()
        for label in LABELS[profile]:  # another profile: the operator rebuilds (or the next save does)
            period_sums.build(session, town.township_id, label, svc.township_profile(town))
        session.flush()
    workers = sorted(q.roles)
    grid = {wid: q.world.grids["own" if q.roles[wid][1] == q.world.villages["own"] else "other"]
            for wid in workers}
    n = [0]

    @settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(OPS)
    def run(ops: list[tuple[str, int, int, str]]) -> None:
        nested = session.begin_nested()
        try:
            for op, w, d, status in ops:
                wid, date = workers[w % len(workers)], DATES[d]
                row = session.scalars(sa.select(m.DayResult).where(
                    m.DayResult.worker_id == wid, m.DayResult.work_date == date)).first()
                if op == "save":
                    e = entry(wid, grid[wid], date, q.roles[wid][0], pm=status)
                    if status == "missing":
                        e["phone_off"] = [{"rule": "GEO-PHONEOFF", "start": f"{date}T09:00:00+08:00",
                                           "end": f"{date}T10:30:00+08:00", "cause": "phone_off"}]
                    if row is None:
                        session.add(m.DayResult(worker_id=wid, work_date=date, result=e, provisional=True))
                    else:
                        row.result, row.provisional = e, True
                elif op == "final" and row is not None:
                    row.provisional = False
                elif op == "delete" and row is not None:
                    session.delete(row)
                elif op == "item":
                    n[0] += 1
                    subject = q.roles[wid][1] if profile == "quanshan-positioning" else wid
                    rule, code = (("QS-TERMINAL", "terminal_problem_community") if profile == "quanshan-positioning"
                                  else ("YK-DRESS", "dress_not_worn"))
                    session.add(m.EnteredItem(
                        item_id=f"{q.world.tag}-s{n[0]}", township_id=town.township_id,
                        village_id=q.roles[wid][1], subject_id=subject, rule=rule, item=code,
                        value="1", work_date=date, note="抽查", entered_by="test"))
                elif op == "withdraw":
                    it = session.scalars(sa.select(m.EnteredItem).where(
                        m.EnteredItem.township_id == town.township_id,
                        m.EnteredItem.withdrawn_at.is_(None)).order_by(m.EnteredItem.id)).first()
                    if it is not None:
                        it.withdrawn_at = dt.datetime.now(dt.UTC)
                        it.withdrawn_by, it.withdraw_reason = "test", "录入错误"
                session.flush()
            check(session, town)
        finally:
            nested.rollback()

    run()


def test_a_day_saved_outside_the_orm_is_found_by_verify(quarter: Quarter, session) -> None:
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    profile = svc.township_profile(town)
    assert period_sums.verify(session, town.township_id, [QUARTER], profile) == []
    wid = q.workers["own"][0]
    e = entry(wid, q.world.grids["own"], DATES[0], "parttime", pm="missing")
    # through the connection: no session hook sees it
    session.connection().execute(sa.update(m.DayResult.__table__).where(
        m.DayResult.worker_id == wid, m.DayResult.work_date == DATES[0]).values(result=e))
    diffs = period_sums.verify(session, town.township_id, [QUARTER, "2026-07"], profile)
    assert [(d.period, d.subject_id) for d in diffs] == [(QUARTER, wid), ("2026-07", wid)]
    assert diffs[0].computed["rules"]["YK-PATROL"][0] != (diffs[0].stored["rules"].get("YK-PATROL") or ["0"])[0]
    period_sums.build(session, town.township_id, QUARTER, profile)
    period_sums.build(session, town.township_id, "2026-07", profile)
    session.flush()
    assert period_sums.verify(session, town.township_id, [QUARTER, "2026-07"], profile) == []


def test_a_bulk_write_through_the_session_marks_the_sums_not_built(quarter: Quarter, session) -> None:
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    profile = svc.township_profile(town)
    wid = q.workers["own"][0]
    where = (m.DayResult.worker_id == wid, m.DayResult.work_date == DATES[0])
    def not_built() -> list[str]:
        return period_sums.verify_period(session, QUARTER, town.township_id)["townships"][0]["not_built"]

    before = not_built()
    assert QUARTER not in before and "2026-07" not in before
    # the re-evaluation flag changes no sum: the periods stay built
    session.execute(sa.update(m.DayResult).where(*where).values(needs_reevaluation=True))
    assert not_built() == before
    e = entry(wid, q.world.grids["own"], DATES[0], "parttime", pm="missing")
    session.execute(sa.update(m.DayResult).where(*where).values(result=e))
    out = period_sums.verify_period(session, QUARTER, town.township_id)
    assert {QUARTER, "2026-07"} <= set(out["townships"][0]["not_built"])
    assert out["differences"] == 0
    full, _ = svc.compute(session, town, parse_period(QUARTER))
    assert comparable(svc.sums_doc(session, town, parse_period(QUARTER))) == comparable(full.to_json())
    # the next save of a day rebuilds its periods, the new day included
    row = session.scalars(sa.select(m.DayResult).where(*where)).one()
    row.result = entry(wid, q.world.grids["own"], DATES[0], "parttime", pm="short")
    session.flush()
    assert period_sums.verify(session, town.township_id, [QUARTER, "2026-07"], profile) == []
    assert period_sums.versions(session, town.township_id, [QUARTER, "2026-07"])[0] != 0


@pytest.mark.parametrize("profile", PROFILES)
def test_closing_from_the_sums_freezes_what_scoring_every_day_gives(quarter: Quarter, session, profile) -> None:
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    if town.profile != profile:
        town.profile = profile
        session.flush()
    prof = svc.township_profile(town)
    per = parse_period(LABELS[profile][-1] if profile == "quanshan-positioning" else QUARTER)
    # an entered item and a provisional day, so that the items and the notes count
    row = session.scalars(sa.select(m.DayResult).where(m.DayResult.worker_id == q.workers["own"][0])
                          .order_by(m.DayResult.work_date)).first()
    row.provisional = True
    session.flush()
    result, inputs = svc.compute(session, town, per, prof, digest=True)
    doc, summary = svc.closing_doc(session, town, per, prof)
    assert doc == svc._doc(result, inputs)
    assert summary == inputs.summary()
