"""The stored period sums stay equal to a full recomputation whatever happens, in any order:
day results saved, re-saved (a re-evaluation, a decision), made final, deleted; items entered
and withdrawn; on both backends (the db fixtures), under a worker and an office profile."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from checkins import tables as m
from checkins.cases import service as case_svc
from checkins.evaluation import sums as period_sums
from checkins.scores import service as svc
from geo.arrival import cases_json, count_reports, own_report_s, reports_json
from geo.types import CaseVerdict
from scoring.items import parse_period
from tests.server.office.conftest import LAT0, LON0
from tests.server.township.conftest import DATES, QUARTER, Quarter, entry

PROFILES = ("yangkou-2022", "quanshan-positioning")
# 2026Q3 and its months (quanshan scores months only)
LABELS = {"yangkou-2022": [QUARTER, "2026-07", "2026-08"], "quanshan-positioning": ["2026-07", "2026-08"],
          "yangkou-computed": [QUARTER, "2026-07", "2026-08"]}
OPS = st.lists(st.tuples(st.sampled_from(["save", "save", "final", "delete", "item", "withdraw"]),
                         st.integers(0, 7), st.integers(0, len(DATES) - 1),
                         st.sampled_from(["ok", "short", "missing"])), min_size=1, max_size=10)
# under a profile judging YK-CASE-SLA from the case records, the cases change too
CASE_OPS = st.lists(st.tuples(st.sampled_from(["save", "report", "accept", "reject", "dispatch", "ack",
                                               "resolve", "close", "delete", "final"]),
                              st.integers(0, 7), st.integers(0, len(DATES) - 1),
                              st.sampled_from(["ok", "short", "missing"])), min_size=1, max_size=14)
ROOT = Path(__file__).resolve().parents[3]
TZ = ZoneInfo("Asia/Shanghai")


def computed_profile(_tmp: Path) -> str:
    """yangkou-2022 with YK-CASE-SLA, YK-HAZARD and YK-SAFETY judged from the case records
    (a township's YAML file)."""
    yaml = (ROOT / "scoring" / "profiles" / "yangkou-2022.yaml").read_text(encoding="utf-8")
    for rid in ("YK-SAFETY", "YK-HAZARD"):
        head, sep, tail = yaml.partition(f"- id: {rid}")
        yaml = head + sep + tail.replace("source: entered", "source: computed", 1)
    head, sep, tail = yaml.partition("- id: YK-CASE-SLA")
    path = Path(tempfile.mkdtemp(prefix="yk", dir="/tmp")) / "ykc.yaml"  # township.profile: 64 chars
    path.write_text(head + sep + tail.replace("source: entered", "source: computed", 1), encoding="utf-8")
    return str(path)


def with_cases(session: Any, e: dict[str, Any], wid: str, date: dt.date) -> dict[str, Any]:
    """The entry with its worker-day's case records, as the nightly run writes them
    (instructions arrived late: the fixes are not the point here)."""
    start = dt.datetime.combine(date, dt.time(), TZ)
    end = start + dt.timedelta(days=1)
    recs = case_svc.case_records(session, [wid], start, end)[wid]
    grid = e["grid_id"]
    recs += case_svc.grid_records(session, {wid: grid}, start, end, ["安全隐患", "矛盾纠纷"])[wid]
    verdicts = [CaseVerdict(r, r.created_at + 1800, 1800, "late", True) if r.kind == "instruction"
                else CaseVerdict(r, own_report_s=own_report_s(r, recs, 100.0)) if r.kind == "grid"
                else CaseVerdict(r) for r in recs]
    return {**e, "cases": cases_json(verdicts, "Asia/Shanghai"),
            "reports": reports_json(count_reports(recs)) | {"grid_count": 2}}


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """Sheets and tiering without the day trail (the sums give one line per rule)."""
    sheets = []
    for s in doc["sheets"]:
        s = dict(s)
        s["items"] = [{k: v for k, v in it.items() if k not in ("trail", "detail")} for it in s["items"]]
        sheets.append(s)
    return {"sheets": sheets, "tiering": doc.get("tiering", [])}


def day_op(session: Any, op: str, row: Any, wid: str, date: dt.date, e: dict[str, Any] | None = None) -> None:
    """A day result saved (new or again, provisional), made final, or deleted."""
    if op == "save" and row is None:
        session.add(m.DayResult(worker_id=wid, work_date=date, result=e, provisional=True))
    elif op == "save":
        row.result, row.provisional = e, True
    elif op == "final" and row is not None:
        row.provisional = False
    elif op == "delete" and row is not None:
        session.delete(row)


def check(session: Any, town: m.Township, labels: list[str]) -> None:
    profile = svc.township_profile(town)
    assert period_sums.verify(session, town.township_id, labels, profile) == []
    for label in labels:
        per = parse_period(label)
        full, _ = svc.compute(session, town, per)
        a, b = comparable(svc.sums_doc(session, town, per)), comparable(full.to_json())
        for x, y in zip(a["sheets"], b["sheets"], strict=True):
            assert x == y, (label, [(i, j) for i, j in zip(x["items"], y["items"], strict=True) if i != j],
                            {k: (x[k], y[k]) for k in x if x[k] != y[k] and k != "items"})
        assert a == b, label


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
                    day_op(session, "save", row, wid, date, e)
                elif op in ("final", "delete"):
                    day_op(session, op, row, wid, date)
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
            check(session, town, LABELS[profile])
        finally:
            nested.rollback()

    run()


def test_incremental_sums_follow_the_cases(quarter: Quarter, session, tmp_path) -> None:
    """Cases reported, accepted, rejected, dispatched, acknowledged, resolved and closed among
    day saves: the stored days follow the cases (casedays) and the sums follow the days."""
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    town.profile = computed_profile(tmp_path)
    session.flush()
    labels = LABELS["yangkou-computed"]
    for label in labels:
        period_sums.build(session, town.township_id, label, svc.township_profile(town))
    session.flush()
    workers = sorted(q.roles)
    grid = {wid: q.world.grids["own" if q.roles[wid][1] == q.world.villages["own"] else "other"]
            for wid in workers}
    n = [0]
    seen_sla = [0]
    seen_grid = [0]

    def local(date: dt.date, h: float) -> dt.datetime:
        return dt.datetime.combine(date, dt.time(), TZ) + dt.timedelta(hours=h)

    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(CASE_OPS)
    @example([("save", 0, 0, "ok"), ("report", 0, 0, "ok"), ("dispatch", 0, 0, "ok"), ("ack", 0, 0, "ok"),
              ("report", 1, 1, "ok"), ("accept", 1, 1, "short"), ("dispatch", 1, 1, "ok"),
              ("resolve", 1, 1, "ok"), ("reject", 0, 2, "ok"), ("close", 0, 0, "ok"),
              # the others of the grid judged after the report: it is a grid case of theirs
              *[("save", k, 0, "ok") for k in range(1, 8)], ("report", 3, 0, "ok"), ("save", 2, 0, "ok")])
    def run(ops: list[tuple[str, int, int, str]]) -> None:
        nested = session.begin_nested()
        try:
            for op, w, d, status in ops:
                wid, date = workers[w % len(workers)], DATES[d]
                row = session.scalars(sa.select(m.DayResult).where(
                    m.DayResult.worker_id == wid, m.DayResult.work_date == date)).first()
                open_ = session.scalars(sa.select(m.Case).where(
                    m.Case.reporter_id.in_(workers), m.Case.status.not_in(("closed", "rejected")))
                    .order_by(m.Case.id)).all()
                case = open_[w % len(open_)] if open_ else None
                at = max(local(date, 12), case.reported_at + dt.timedelta(hours=1)) if case else None
                scope = case_svc.Scope()
                if op == "save":
                    e = with_cases(session, entry(wid, grid[wid], date, q.roles[wid][0], pm=status), wid, date)
                    day_op(session, "save", row, wid, date, e)
                elif op in ("final", "delete"):
                    day_op(session, op, row, wid, date)
                elif op == "report":
                    n[0] += 1
                    cat = {"ok": "安全隐患", "short": "矛盾纠纷", "missing": "其他"}[status]
                    case_svc.report_case(session, worker_id=wid, device_id=None, client_id=f"r{n[0]}",
                                         category=cat, text="井盖缺失", lon=LON0 + 0.001, lat=LAT0 + 0.001,
                                         datum="wgs84", reported_at=local(date, 10))
                elif op == "accept" and case is not None and case.status == "reported":
                    case_svc.accept(session, case.id, scope=scope, actor="office:t", at=at,
                                    complex_=status == "short")
                elif op == "reject" and case is not None and case.status == "reported":
                    case_svc.reject(session, case.id, scope=scope, actor="office:t", reason="重复", at=at)
                elif op == "dispatch" and case is not None:
                    case_svc.dispatch(session, case.id, scope=scope, actor="office:t", worker_id=wid, at=at)
                    session.flush()
                    # the day is marked for re-evaluation (casedays); the re-evaluation judges it
                    day = session.scalars(sa.select(m.DayResult).where(
                        m.DayResult.worker_id == wid, m.DayResult.work_date == at.astimezone(TZ).date())).first()
                    if day is not None:
                        day.result = with_cases(session, day.result, wid, day.work_date)
                elif op in ("ack", "resolve") and case is not None:
                    ins = session.scalars(sa.select(m.CaseInstruction).where(
                        m.CaseInstruction.case_id == case.id)).first()
                    if ins is not None and op == "ack":
                        case_svc.acknowledge(session, ins.worker_id, ins.id,
                                             at=ins.created_at + dt.timedelta(hours=30 if status == "ok" else 2))
                    elif ins is not None:
                        case_svc.mark(session, ins.worker_id, ins.id, "resolved", photos=[{"id": "p"}],
                                      at=ins.created_at + dt.timedelta(days=6 if status == "ok" else 1))
                elif op == "close" and case is not None and "closed" in case_svc.TRANSITIONS[case.status]:
                    case_svc.close(session, case.id, scope=scope, actor="office:t", at=at + dt.timedelta(days=2))
                session.flush()
            check(session, town, labels)
            stored = period_sums.load(session, town.township_id, [QUARTER], svc.township_profile(town))
            seen_sla[0] += sum(1 for x in stored.sums[QUARTER].values() if x.cases.counts)
            seen_grid[0] += sum(1 for x in stored.sums[QUARTER].values()
                                if any(k.startswith(("YK-HAZARD.", "YK-SAFETY.")) for k in x.cases.counts))
        finally:
            nested.rollback()

    run()
    assert seen_sla[0] and seen_grid[0]  # some runs did carry case records in the sums


def test_a_case_accepted_after_its_day_was_judged_changes_the_days_and_the_sums(quarter, session, tmp_path):
    """Hand-computed: w reports on 07-06 10:00, the day is judged (1 report, 0 valid); the
    office accepts it: the day now lists it valid, and the quarter's sums count it."""
    q = quarter
    town = session.get(m.Township, f"{q.world.tag}T")
    town.profile = computed_profile(tmp_path)
    session.flush()
    wid, date = q.workers["own"][0], DATES[0]
    at = dt.datetime(2026, 7, 6, 2, 0, tzinfo=dt.UTC)
    case, _ = case_svc.report_case(session, worker_id=wid, device_id=None, client_id="hand-1", category="其他",
                                   text="井盖缺失", lon=LON0, lat=LAT0, datum="wgs84", reported_at=at)
    row = session.scalars(sa.select(m.DayResult).where(m.DayResult.worker_id == wid,
                                                       m.DayResult.work_date == date)).one()
    row.result = with_cases(session, row.result, wid, date)
    session.flush()
    assert row.result["reports"]["total"] == 1 and row.result["reports"]["valid"] == 0
    case_svc.accept(session, case.id, scope=case_svc.Scope(), actor="office:t", at=at + dt.timedelta(hours=1))
    session.flush()
    session.refresh(row)
    assert row.result["reports"]["valid"] == 1 and row.result["reports"]["valid_case_ids"] == [str(case.id)]
    (rep,) = [c for c in row.result["cases"] if c["case_id"] == str(case.id)]
    assert rep["valid"] is True and rep["accepted_at"] == "2026-07-06T11:00:00+08:00"
    profile = svc.township_profile(town)
    stored = period_sums.load(session, town.township_id, [QUARTER], profile, [wid])
    assert stored.sums[QUARTER][wid].cases.count("YK-CASE-SLA.breached") == 0
    assert period_sums.verify(session, town.township_id, [QUARTER], profile) == []
    # dispatched to the worker after the day was judged: the day is marked for re-evaluation
    case_svc.dispatch(session, case.id, scope=case_svc.Scope(), actor="office:t", worker_id=wid,
                      at=at + dt.timedelta(hours=2))
    session.flush()
    session.refresh(row)
    assert row.needs_reevaluation is True


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
