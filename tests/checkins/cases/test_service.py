"""Cases: report (datum, grid, idempotent), transitions with audit, scope, engine records."""

from __future__ import annotations

import datetime as dt
import secrets

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from checkins.audit.service import verify_chain
from checkins.cases import service as svc
from checkins.cases.models import Case
from checkins.township.models import Grid, Township, Village, Worker
from geo import crs

UTC = dt.UTC
PHOTO = [{"id": "abc", "sha256": "abc", "content_type": "image/jpeg"}]


@pytest.fixture
def town(session):  # type: ignore[no-untyped-def]
    tag = secrets.token_hex(3)
    lon, lat = 111.0 + secrets.randbelow(100) * 0.05, 28.0
    session.add(Township(township_id=f"t{tag}", name="镇"))
    session.flush()
    for v in ("a", "b"):
        session.add(Village(village_id=f"v{v}{tag}", township_id=f"t{tag}", name=f"村{v}"))
    session.flush()
    session.add(Grid(grid_id=f"g{tag}", village_id=f"va{tag}", geom=shapely.box(lon, lat, lon + 0.01, lat + 0.01)))
    for w, v in (("w1", "a"), ("w2", "a"), ("w3", "b")):
        session.add(Worker(worker_id=f"{w}{tag}", name=w, role="fulltime", village_id=f"v{v}{tag}"))
    session.flush()
    return {"tag": tag, "lon": lon, "lat": lat, "va": f"va{tag}", "vb": f"vb{tag}",
            "w1": f"w1{tag}", "w2": f"w2{tag}", "w3": f"w3{tag}", "grid": f"g{tag}"}


def _report(session, town, client_id="c-1", datum="wgs84", lon=None, lat=None, at=None):  # type: ignore[no-untyped-def]
    return svc.report_case(session, worker_id=town["w1"], device_id=None, client_id=client_id,
                           category="设施损坏", text="路灯坏了", lon=lon or town["lon"] + 0.005,
                           lat=lat or town["lat"] + 0.005, datum=datum,
                           reported_at=at or dt.datetime.now(UTC) - dt.timedelta(minutes=5))


def test_report_in_gcj02_is_stored_in_wgs84_tagged_and_idempotent(session, town):  # type: ignore[no-untyped-def]
    wlon, wlat = town["lon"] + 0.005, town["lat"] + 0.005
    glon, glat = crs.from_wgs84(np.array([wlon]), np.array([wlat]), "gcj02")
    case, dup = _report(session, town, datum="gcj02", lon=float(glon[0]), lat=float(glat[0]))
    assert not dup and case.datum == "gcj02" and case.grid_id == town["grid"] and case.village_id == town["va"]
    assert abs(case.geom.x - wlon) < 1e-6 and abs(case.geom.y - wlat) < 1e-6
    for _ in range(2):  # resent twice: the same case, stored once
        again, dup = _report(session, town, datum="gcj02", lon=float(glon[0]), lat=float(glat[0]))
        assert dup and again.id == case.id
    n = session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.reporter_id == town["w1"]))
    assert n == 1


def test_unknown_category_and_datum_name_the_field(session, town):  # type: ignore[no-untyped-def]
    with pytest.raises(svc.CaseInvalid) as e:
        svc.report_case(session, worker_id=town["w1"], device_id=None, client_id="x", category="火星",
                        text="", lon=town["lon"], lat=town["lat"], datum="wgs84",
                        reported_at=dt.datetime.now(UTC))
    assert e.value.field == "category"
    with pytest.raises(svc.CaseInvalid) as e:
        _report(session, town, client_id="y", datum="mars")
    assert e.value.field == "datum"


def test_categories_default_then_township_edits(session, town):  # type: ignore[no-untyped-def]
    tid = f"t{town['tag']}"
    assert svc.categories(session, tid) == ["安全隐患", "矛盾纠纷", "环境卫生", "设施损坏", "其他"]
    svc.set_categories(session, tid, ["安全隐患", "违章搭建", "其他"], actor="office:town")
    assert svc.categories(session, tid) == ["安全隐患", "违章搭建", "其他"]


def test_full_life_with_audit_history_and_scope(session, town):  # type: ignore[no-untyped-def]
    case, _ = _report(session, town)
    all_ = svc.Scope()
    mine, other = svc.Scope(town["va"]), svc.Scope(town["vb"])
    with pytest.raises(svc.CaseNotFound):  # another village's office does not see it
        svc.accept(session, case.id, scope=other, actor="office:vb")
    svc.accept(session, case.id, scope=mine, actor="office:va", reason="属实", complex_=True)
    ins = svc.dispatch(session, case.id, scope=mine, actor="office:va", worker_id=town["w2"],
                       place_text="村口", note="去看看")
    with pytest.raises(svc.CaseInvalid):  # a village office dispatches only its own workers
        svc.dispatch(session, case.id, scope=mine, actor="office:va", worker_id=town["w3"])
    with pytest.raises(svc.CaseNotFound):  # not w1's instruction
        svc.acknowledge(session, town["w1"], ins.id)
    svc.acknowledge(session, town["w2"], ins.id)
    with pytest.raises(svc.CaseInvalid) as e:
        svc.mark(session, town["w2"], ins.id, "arrived", photos=[])
    assert e.value.field == "photos"
    svc.mark(session, town["w2"], ins.id, "arrived", photos=PHOTO)
    svc.mark(session, town["w2"], ins.id, "resolved", photos=PHOTO, text="已修好")
    svc.close(session, case.id, scope=all_, actor="office:town", reason="办结")
    with pytest.raises(svc.CaseInvalid) as e:
        svc.close(session, case.id, scope=all_, actor="office:town")
    assert e.value.status == 409
    actions = [(h.action, h.actor, (h.after or {}).get("status")) for h in svc.history(session, case.id)]
    assert actions == [("case.report", f"worker:{town['w1']}", "reported"),
                       ("case.accepted", "office:va", "accepted"),
                       ("case.dispatch", "office:va", "dispatched"),
                       ("case.acknowledge", f"worker:{town['w2']}", "dispatched"),
                       ("case.arrived", f"worker:{town['w2']}", "arrived"),
                       ("case.resolved", f"worker:{town['w2']}", "resolved"),
                       ("case.closed", "office:town", "closed")]
    assert svc.history(session, case.id)[1].reason == "属实"
    assert verify_chain(session) is None
    # the worker's own lists
    assert [c["case_id"] for c in svc.my_cases(session, town["w1"])] == [str(case.id)]
    assert svc.my_cases(session, town["w2"]) == []
    assert [i["instruction_id"] for i in svc.my_instructions(session, town["w2"])] == [str(ins.id)]
    assert svc.my_instructions(session, town["w1"]) == []


def test_reject_needs_a_reason_and_makes_the_report_invalid(session, town):  # type: ignore[no-untyped-def]
    case, _ = _report(session, town)
    with pytest.raises(svc.CaseInvalid):
        svc.reject(session, case.id, scope=svc.Scope(), actor="office:town", reason=" ")
    svc.reject(session, case.id, scope=svc.Scope(), actor="office:town", reason="重复上报")
    assert (case.status, case.valid) == ("rejected", False)
    with pytest.raises(svc.CaseInvalid):
        svc.accept(session, case.id, scope=svc.Scope(), actor="office:town")


def test_case_records_for_the_engine(session, town):  # type: ignore[no-untyped-def]
    t0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in China
    case, _ = _report(session, town, at=t0)
    svc.accept(session, case.id, scope=svc.Scope(), actor="office:town", at=t0 + dt.timedelta(hours=1))
    ins = svc.dispatch(session, case.id, scope=svc.Scope(), actor="office:town", worker_id=town["w2"],
                       at=t0 + dt.timedelta(hours=2))
    svc.acknowledge(session, town["w2"], ins.id, at=t0 + dt.timedelta(hours=3))
    recs = svc.case_records(session, [town["w1"], town["w2"]], t0, t0 + dt.timedelta(days=1))
    (rep,) = recs[town["w1"]]
    (instr,) = recs[town["w2"]]
    assert (rep.kind, rep.valid, rep.case_id) == ("report", True, str(case.id))
    assert (instr.kind, instr.created_at, instr.accepted_at) == (
        "instruction", (t0 + dt.timedelta(hours=2)).timestamp(), (t0 + dt.timedelta(hours=3)).timestamp())
    assert abs(instr.lon - case.geom.x) < 1e-9  # the place defaults to the case's location


def test_sla_clock_states(session, town):  # type: ignore[no-untyped-def]
    now = dt.datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
    sla = svc.SlaParams()
    case, _ = _report(session, town, at=now - dt.timedelta(hours=20))  # 4 h left of 24: 20% -> soon
    assert svc.sla_clock(case, now, sla)["state"] == "soon"
    assert svc.sla_clock(case, now + dt.timedelta(hours=4, seconds=1), sla)["state"] == "breached"
    assert svc.sla_clock(case, now - dt.timedelta(hours=10), sla)["state"] == "ok"
    svc.accept(session, case.id, scope=svc.Scope(), actor="t", at=now)
    assert svc.sla_clock(case, now, sla)["what"] == "办结"
