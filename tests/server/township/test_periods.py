"""Period scores from the database: end to end against the pure scoring, close/reopen
freezing (audited), quota override, what-if, exports (both backends via the db fixtures)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import openpyxl
import sqlalchemy as sa

from checkins import tables as m
from checkins.scores.models import PeriodResult
from scoring.dayjson import ScoredDay, day_from_json
from scoring.items import EnteredItem, parse_period
from scoring.period import Subject
from scoring.profiles import load_profile, profile_path
from scoring.score import score
from tests.server.township.conftest import DATES, QUARTER, Quarter, entry

API = "/api/township"


def _h(q: Quarter, role: str = "township_office") -> dict[str, str]:
    return q.world.headers(role)


def _audit(session: Any, action: str, q: Quarter) -> list[m.AuditLog]:
    """Audit rows of ``action`` written by this world's township office."""
    actor = f"office:{q.world.tag}-township_office"
    return list(session.scalars(sa.select(m.AuditLog).where(m.AuditLog.action == action,
                                                            m.AuditLog.actor == actor)
                                .order_by(m.AuditLog.id)))


def _enter(client: Any, q: Quarter, body: dict[str, Any], role: str = "township_office") -> Any:
    return client.post(f"{API}/items?{q.tq()}", json=body, headers=_h(q, role))


def _pure(q: Quarter, items: list[EnteredItem]) -> dict[str, Any]:
    """The same quarter scored by the pure ``scoring.score`` from the test's own entries."""
    days = [ScoredDay(day_from_json(e).result, vid) for vid, e in q.entries]
    roster = {wid: Subject(wid, "worker", role, vid, name) for wid, (role, vid, name) in q.roles.items()}
    return score(load_profile("yangkou-2022"), parse_period(QUARTER), days, items, roster).to_json()


def test_quarter_end_to_end_matches_the_pure_scoring(client, quarter, session):
    q = quarter
    actor = f"office:{q.world.tag}-township_office"
    p0, p4 = q.workers["own"][0], q.workers["own"][4]
    bodies = [
        {"item_id": "T-DRESS-1", "subject_id": p0, "rule": "YK-DRESS", "item": "dress_not_worn",
         "value": 1, "note": "7月巡查未穿马甲，照片存档", "date": "2026-07-14"},
        {"item_id": "T-SURVEY-1", "subject_id": p4, "rule": "YK-SURVEY", "item": "awareness",
         "value": "92.5%", "note": "第三季度知晓率问卷", "period": QUARTER},
        {"item_id": "T-BONUS-1", "subject_id": p4, "rule": "YK-BONUS", "item": "major_lead",
         "value": 1, "note": "重大线索 县公安局函", "date": "2026-08-03"},
    ]
    for b in bodies:
        r = _enter(client, q, b)
        assert r.status_code == 201, r.text
        assert r.json()["entered_by"] == actor
    assert len(_audit(session, "item.enter", q)) == 3
    items = [
        EnteredItem("T-DRESS-1", p0, "YK-DRESS", "dress_not_worn", Decimal(1), bodies[0]["note"],
                    date=DATES[1].replace(day=14), entered_by=actor),
        EnteredItem("T-SURVEY-1", p4, "YK-SURVEY", "awareness", Decimal("0.925"), bodies[1]["note"],
                    period=parse_period(QUARTER), entered_by=actor),
        EnteredItem("T-BONUS-1", p4, "YK-BONUS", "major_lead", Decimal(1), bodies[2]["note"],
                    date=DATES[4].replace(day=3), entered_by=actor),
    ]
    pure = _pure(q, items)
    by_id = {s["subject_id"]: s for s in pure["sheets"]}

    rk = client.get(f"{API}/periods/{QUARTER}?{q.tq()}", headers=_h(q)).json()
    assert rk["state"]["status"] == "open" and not rk["state"]["frozen"]
    got = {s["subject_id"]: s for v in rk["villages"] for s in v["subjects"]}
    assert set(got) == set(by_id)
    for sid, s in got.items():
        want = by_id[sid]
        assert (s["total"], s["tier_label"], s["rank"], s["payout_total"], s["vetoed"]) == (
            want["total"], want["tier_label"], want["rank"], want["payout_total"], want["vetoed"]), sid
    # village A, 5 part-time workers: 20/60/20 % -> 1 优秀, 3 良好, 1 合格 (YK-TIER) and
    # YK-REWARD-PT 600/450/300 yuan; fewer short patrols rank higher
    own = [s for s in got.values() if s["subject_id"] in q.workers["own"]]
    assert sorted(s["tier_label"] for s in own) == ["优秀", "合格", "良好", "良好", "良好"]
    assert {s["tier_label"]: s["payout_total"] for s in own} == {"优秀": 600, "良好": 450, "合格": 300}
    assert got[q.workers["own"][4]]["tier_label"] != "优秀" or got[p4]["total"] >= got[p0]["total"]

    # the sheet carries the whole trail: rule ids, worker-day dates, entered item ids
    sh = client.get(f"{API}/periods/{QUARTER}/sheets/{p0}?{q.tq()}", headers=_h(q)).json()["sheet"]
    assert sh == by_id[p0]
    trail = [t for it in sh["items"] for t in it["trail"]]
    assert any(t["rule"] == "YK-DRESS" and t["evidence"]["item_id"] == "T-DRESS-1" for t in trail)
    sh4 = client.get(f"{API}/periods/{QUARTER}/sheets/{p4}?{q.tq()}", headers=_h(q)).json()["sheet"]
    patrol = [t for it in sh4["items"] for t in it["trail"] if t["rule"] == "YK-PATROL"]
    assert len(patrol) == 4 and {t["evidence"]["date"] for t in patrol} == {d.isoformat() for d in DATES[:4]}
    assert sh4 == by_id[p4]


def test_closing_freezes_and_reopen_recomputes_both_audited(client, quarter, session):
    q = quarter
    p0 = q.workers["own"][0]
    base = f"{API}/periods/{QUARTER}"
    before = client.get(f"{base}/sheets/{p0}?{q.tq()}", headers=_h(q)).json()["sheet"]
    r = client.post(f"{base}/close?{q.tq()}", json={"reason": "季度考核结算"}, headers=_h(q))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed" and r.json()["revision"] == 1
    row = session.scalars(sa.select(PeriodResult).where(PeriodResult.period == QUARTER,
                                                        PeriodResult.township_id == f"{q.world.tag}T")).one()
    assert row.status == "closed" and len(row.result["sheets"]) == len(q.roles)
    again = client.post(f"{base}/close?{q.tq()}", json={}, headers=_h(q))
    assert again.status_code == 409 and "已结算锁定" in again.text  # the office reads Chinese

    # late data after closing: a re-evaluated day turns p0's first afternoon into "missing",
    # and a late entered item for the closed quarter
    dr = session.scalars(sa.select(m.DayResult).where(m.DayResult.worker_id == p0,
                                                      m.DayResult.work_date == DATES[0])).one()
    dr.result = entry(p0, q.world.grids["own"], DATES[0], "parttime", pm="missing")
    session.flush()
    late = _enter(client, q, {"subject_id": p0, "rule": "YK-DRESS", "item": "dress_not_worn",
                              "note": "补录 8月", "date": "2026-08-10"})
    assert late.status_code == 201 and late.json()["closed_periods"] == [QUARTER]
    frozen = client.get(f"{base}/sheets/{p0}?{q.tq()}", headers=_h(q)).json()
    assert frozen["state"]["frozen"] and frozen["sheet"] == before
    assert client.get(f"{base}/export.csv?{q.tq()}", headers=_h(q)).status_code == 200

    # reopen: reason required, township only, audited
    assert client.post(f"{base}/reopen?{q.tq()}", json={"reason": " "}, headers=_h(q)).status_code == 422
    assert client.post(f"{base}/reopen?{q.tq()}", json={"reason": "补录材料"},
                       headers=_h(q, "village_office")).status_code == 403
    r = client.post(f"{base}/reopen?{q.tq()}", json={"reason": "县考核组反馈，补录材料"}, headers=_h(q))
    assert r.status_code == 200 and r.json()["status"] == "open"
    live = client.get(f"{base}/sheets/{p0}?{q.tq()}", headers=_h(q)).json()
    assert not live["state"]["frozen"]
    assert live["sheet"]["total"] < before["total"]  # the missing patrol and the dress item count now
    r = client.post(f"{base}/close?{q.tq()}", json={}, headers=_h(q))
    assert r.json()["revision"] == 2
    again = client.get(f"{base}/sheets/{p0}?{q.tq()}", headers=_h(q)).json()
    assert again["state"]["frozen"] and again["sheet"] == live["sheet"]

    closes, reopens = _audit(session, "period.close", q), _audit(session, "period.reopen", q)
    assert [a.after["revision"] for a in closes] == [1, 2]
    assert closes[0].reason == "季度考核结算" and closes[0].after["totals"][p0] == before["total"]
    assert len(reopens) == 1 and reopens[0].reason == "县考核组反馈，补录材料"
    assert reopens[0].before["status"] == "closed" and reopens[0].entity_id == f"{q.world.tag}T/{QUARTER}"


def test_quota_override_is_recorded_audited_and_used(client, quarter, session):
    q = quarter
    vid = q.world.villages["own"]
    r = client.post(f"{API}/periods/{QUARTER}/quota?{q.tq()}", headers=_h(q),
                    json={"village_id": vid, "role": "parttime", "excellent": 2, "pass": 1,
                          "reason": "镇考核领导小组决定"})
    assert r.status_code == 200, r.text
    rk = client.get(f"{API}/periods/{QUARTER}?{q.tq()}", headers=_h(q)).json()
    own = [s for v in rk["villages"] if v["village_id"] == vid for s in v["subjects"]
           if s["role"] == "parttime"]
    assert sorted(s["tier_label"] for s in own) == ["优秀", "优秀", "合格", "良好", "良好"]
    rec = next(t for t in rk["tiering"] if t["village_id"] == vid and t["role"] == "parttime")
    assert rec["quota_source"] == "override" and rec["quota"] == {"excellent": 2, "good": 2, "pass": 1}
    assert rec["override"]["by"] == [f"office:{q.world.tag}-township_office"]
    assert rec["override"]["reason"].startswith("镇考核领导小组决定")
    # a second override replaces the first (withdrawn, still on record); one audit row each
    r2 = client.post(f"{API}/periods/{QUARTER}/quota?{q.tq()}", headers=_h(q),
                     json={"village_id": vid, "role": "parttime", "excellent": 1, "reason": "复议"})
    assert sorted(r2.json()["replaced"]) == sorted(r.json()["item_ids"])
    audits = _audit(session, "tier.quota_override", q)
    assert len(audits) == 2 and audits[1].before["replaced"]
    # the village office sees its village's quota items but cannot withdraw them
    qid = r2.json()["item_ids"][0]
    assert client.post(f"{API}/items/{qid}/withdraw", json={"reason": "不同意"},
                       headers=_h(q, "village_office")).status_code == 403
    # more places than workers is refused by the scoring
    client.post(f"{API}/periods/{QUARTER}/quota?{q.tq()}", headers=_h(q),
                json={"village_id": vid, "role": "parttime", "excellent": 9, "reason": "错误"})
    assert client.get(f"{API}/periods/{QUARTER}?{q.tq()}", headers=_h(q)).status_code == 422
    # quota outside the tier period (a month) or for heads: refused
    bad = client.post(f"{API}/periods/2026-07/quota?{q.tq()}", headers=_h(q),
                      json={"village_id": vid, "role": "parttime", "excellent": 1, "reason": "x" * 3})
    assert bad.status_code == 422


def test_whatif_changes_nothing_stored(client, quarter, session):
    q = quarter
    client.post(f"{API}/periods/{QUARTER}/close?{q.tq()}", json={}, headers=_h(q))
    stored = session.scalars(sa.select(PeriodResult.result).where(PeriodResult.period == QUARTER)).all()
    n_audit = session.scalar(sa.select(sa.func.count()).select_from(m.AuditLog))
    yaml_text = profile_path("yangkou-2022").read_text(encoding="utf-8")
    changed = yaml_text.replace("- {fact: patrol_short, points: -1}", "- {fact: patrol_short, points: -2}")
    assert changed != yaml_text
    r = client.post(f"{API}/periods/{QUARTER}/whatif?{q.tq()}", headers=_h(q),
                    json={"profile_yaml": changed})
    assert r.status_code == 200, r.text
    diffs = {d["subject_id"]: d for d in r.json()["differences"]}
    # each short afternoon now costs one point more: worker k has k of them
    for k, wid in enumerate(q.workers["own"]):
        if k == 0:
            assert wid in r.json()["unchanged"] or wid not in diffs or diffs[wid]["delta"] == 0
        else:
            assert diffs[wid]["delta"] == -k, (wid, diffs[wid])
    assert any("已结账" in n for n in r.json()["notes"])
    assert session.scalars(sa.select(PeriodResult.result).where(PeriodResult.period == QUARTER)).all() == stored
    assert session.scalar(sa.select(sa.func.count()).select_from(m.AuditLog)) == n_audit
    assert client.post(f"{API}/periods/{QUARTER}/whatif?{q.tq()}", headers=_h(q, "village_office"),
                       json={"profile": "ningbo-district"}).status_code == 403
    bad = client.post(f"{API}/periods/{QUARTER}/whatif?{q.tq()}", headers=_h(q),
                      json={"profile_yaml": "profile: x\nversion: -1\n"})
    assert bad.status_code == 422 and "profile" in bad.json()["error"]


def _xlsx(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def test_exports_parse_back_one_sheet_per_village_chinese_headers(client, quarter):
    q = quarter
    va, vb = q.world.villages["own"], q.world.villages["other"]
    r = client.get(f"{API}/periods/{QUARTER}/export.xlsx?{q.tq()}", headers=_h(q))
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    wb = _xlsx(r.content)
    assert {va, vb} <= set(wb.sheetnames) and "扣分明细" in wb.sheetnames
    ws = wb[va]
    header = [c.value for c in ws[2]]
    for h in ("序号", "编号", "姓名", "岗位", "合计", "一票否决", "等次", "排名", "奖励(元)"):
        assert h in header
    ids = {row[1] for row in ws.iter_rows(min_row=3, values_only=True)}
    assert ids == set(q.workers["own"]) | {q.world.workers["own"]}
    tiers = [row[header.index("等次")] for row in ws.iter_rows(min_row=3, values_only=True)
             if row[1] in q.workers["own"]]
    assert sorted(tiers) == ["优秀", "合格", "良好", "良好", "良好"]
    # the village office's export holds its own village only
    wb2 = _xlsx(client.get(f"{API}/periods/{QUARTER}/export.xlsx", headers=_h(q, "village_office")).content)
    assert va in wb2.sheetnames and vb not in wb2.sheetnames
    # CSV (UTF-8 with BOM for Excel)
    text = client.get(f"{API}/periods/{QUARTER}/export.csv?{q.tq()}", headers=_h(q)).content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["编号"] for r in rows} == set(q.roles)
    assert all(r["考核期"] == QUARTER for r in rows) and "一日双巡(15) YK-PATROL" in rows[0]
    # Chinese headers and values (issue 16): no English column names, 是/否, tier labels
    assert not any(h.isascii() for h in rows[0]), list(rows[0])
    assert {r["一票否决"] for r in rows} <= {"是", "否"}
    assert {r["等次"] for r in rows if r["编号"] in q.workers["own"]} <= {"优秀", "良好", "合格", "不合格"}


def test_import_csv_all_or_nothing_one_audit_row(client, quarter, session):
    q = quarter
    p1 = q.workers["own"][1]
    good = ("item_id,subject_id,rule,item,date,period,value,note\n"
            f"IMP-1,{p1},YK-DRESS,dress_not_worn,2026-07-20,,1,照片\n"
            f"IMP-2,{p1},YK-SURVEY,coverage,,{QUARTER},90%,问卷\n").encode()
    r = client.post(f"{API}/items/import?{q.tq()}", headers=_h(q),
                    files={"file": ("items.csv", good, "text/csv")})
    assert r.status_code == 201, r.text
    assert r.json()["imported"] == 2
    audits = _audit(session, "item.import", q)
    assert len(audits) == 1 and audits[0].after["item_ids"] == ["IMP-1", "IMP-2"]
    # same ids again: 409, nothing stored; a bad line: 422 naming line and field
    again = client.post(f"{API}/items/import?{q.tq()}", headers=_h(q),
                        files={"file": ("items.csv", good, "text/csv")})
    assert again.status_code == 409
    bad = ("item_id,subject_id,rule,item,date,period,value,note\n"
           f"IMP-3,{p1},YK-DRESS,dress_not_worn,2026-07-21,,1,照片\n"
           f"IMP-4,{p1},YK-DRESS,no_such_item,2026-07-21,,1,照片\n").encode()
    r = client.post(f"{API}/items/import?{q.tq()}", headers=_h(q),
                    files={"file": ("bad.csv", bad, "text/csv")})
    assert r.status_code == 422 and "line 3" in r.json()["error"]
    items = client.get(f"{API}/items?{q.tq()}&subject_id={p1}", headers=_h(q)).json()
    assert [i["item_id"] for i in items] == ["IMP-1", "IMP-2"]
    assert Decimal(items[1]["value"]) == Decimal("0.9")  # exact decimal text
    # withdraw: reason required; the item stops counting
    assert client.post(f"{API}/items/IMP-1/withdraw", json={"reason": ""}, headers=_h(q)).status_code == 422
    w = client.post(f"{API}/items/IMP-1/withdraw", json={"reason": "录入错误"}, headers=_h(q))
    assert w.status_code == 200 and w.json()["withdrawn"]
    assert len(_audit(session, "item.withdraw", q)) == 1
    sh = client.get(f"{API}/periods/{QUARTER}/sheets/{p1}?{q.tq()}", headers=_h(q)).json()["sheet"]
    assert not any(t["evidence"].get("item_id") == "IMP-1" for it in sh["items"] for t in it["trail"])


def test_whatif_maps_a_quarter_onto_a_monthly_profile(client, quarter):
    """Issue 16: what-if under ningbo-district or quanshan-positioning failed for a quarter
    ("has no quarter periods"); it now scores the quarter's months and says so in Chinese."""
    q = quarter
    for name in ("ningbo-district", "quanshan-positioning"):
        r = client.post(f"{API}/periods/{QUARTER}/whatif?{q.tq()}", headers=_h(q),
                        json={"profile": name})
        assert r.status_code == 200, r.text
        body = r.json()
        y, n = QUARTER.split("Q")
        first = (int(n) - 1) * 3 + 1
        assert body["mapped_periods"] == [f"{y}-{m:02d}" for m in range(first, first + 3)]
        assert "没有季度考核" in body["notes"][0] and "各期平均" in body["notes"][0]
    # a month under a profile that has only quarters and years cannot be split: Chinese why
    yaml_text = profile_path("yangkou-2022").read_text(encoding="utf-8")
    qy = (yaml_text.replace("periods: [month, quarter, year]", "periods: [quarter, year]")
          .replace("  month: {method: items}\n", ""))
    assert qy != yaml_text
    month = f"{QUARTER.split('Q')[0]}-{(int(QUARTER[-1]) - 1) * 3 + 1:02d}"
    r = client.post(f"{API}/periods/{month}/whatif?{q.tq()}", headers=_h(q),
                    json={"profile_yaml": qy})
    assert r.status_code == 422 and "没有月度考核" in r.json()["error"], r.text
