"""The server's own outages: ticks, detection, manual records, GEO-PHONEOFF never charging them.

Every time is injected (``now=``, a fake clock): no test waits.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from checkins import tables as m
from checkins.audit.service import verify_chain
from checkins.evaluation.flows import evaluate_date, reevaluate_pending
from checkins.evaluation.outage_days import add_outage, detect_outages
from checkins.outages import service as outages
from checkins.outages.models import ServerOutage, ServerTick
from checkins.outages.service import (
    list_outages,
    outage_dates,
    parse_time,
    record_tick,
    tick_gaps,
)
from server.liveness import Liveness
from server.settings import Settings
from tests.checkins.jobs.conftest import DAY, TZ

GAP_S = 180.0
UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _local(hhmm: str, day: dt.date = DAY) -> dt.datetime:
    h, mi = (int(v) for v in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, mi), tzinfo=ZoneInfo(TZ))


def _beats(session, start: dt.datetime, end: dt.datetime, every_s: float = 20.0,
           offset_s: float = 0.0) -> None:
    """One process beating every ``every_s`` from start + offset up to and including end."""
    t = start + dt.timedelta(seconds=offset_s)
    while t <= end:
        record_tick(session, t)
        t += dt.timedelta(seconds=every_s)


def _outages(session) -> list[tuple[dt.datetime, dt.datetime, str]]:
    return [(o.start_at, o.end_at, o.cause) for o in session.scalars(
        sa.select(ServerOutage).order_by(ServerOutage.start_at))]


def _min(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_a_tick_gap_becomes_one_outage_from_last_beat_to_first_beat(session):
    _beats(session, T0, T0 + _min(10))  # last beat 10:10:00
    _beats(session, T0 + _min(30) + dt.timedelta(seconds=5), T0 + _min(35))  # back 10:30:05
    new = detect_outages(session, now=T0 + _min(35), gap_s=GAP_S)
    assert [(o.start_at, o.end_at, o.cause) for o in new] == [
        (T0 + _min(10), T0 + _min(30) + dt.timedelta(seconds=5), "detected")]
    assert _outages(session) == [(T0 + _min(10), T0 + _min(30) + dt.timedelta(seconds=5),
                                  "detected")]
    # one row per minute that had beats: 10:00..10:10 and 10:30..10:34 (last beat 10:34:45)
    assert session.scalar(sa.select(sa.func.count()).select_from(ServerTick)) == 11 + 5


def test_a_gap_shorter_than_the_setting_is_no_outage(session):
    _beats(session, T0, T0 + _min(10))
    _beats(session, T0 + _min(12) + dt.timedelta(seconds=50), T0 + _min(20))  # 170 s gap
    assert detect_outages(session, now=T0 + _min(20), gap_s=GAP_S) == []
    assert _outages(session) == []


def test_ticks_of_two_processes_share_rows_and_make_no_false_outage(session):
    # process A beats 10:00-10:20 then is restarted (down 10:08-10:14); B beats all along,
    # shifted by 7 s: the minutes stay covered, so nothing is an outage
    _beats(session, T0, T0 + _min(8))
    _beats(session, T0 + _min(14), T0 + _min(20))
    _beats(session, T0, T0 + _min(20), offset_s=7)
    assert detect_outages(session, now=T0 + _min(20), gap_s=GAP_S) == []
    rows = session.scalars(sa.select(ServerTick).order_by(ServerTick.minute_at)).all()
    assert len(rows) == 21  # one shared row per minute, 10:00..10:20
    first = rows[0]
    assert first.first_at == T0 and first.last_at == T0 + dt.timedelta(seconds=47)
    # both down at once (A's last beat 10:20:00 -> 10:26:00) is an outage, found once
    _beats(session, T0 + _min(26), T0 + _min(27))
    _beats(session, T0 + _min(26), T0 + _min(27), offset_s=3)
    assert [(o.start_at, o.end_at) for o in detect_outages(
        session, now=T0 + _min(27), gap_s=GAP_S)] == [
        (T0 + _min(20), T0 + _min(26))]
    assert detect_outages(session, now=T0 + _min(28), gap_s=GAP_S) == []
    assert len(_outages(session)) == 1


def test_tick_gaps_of_overlapping_minutes():
    a = (T0, T0 + dt.timedelta(seconds=50))
    b = (T0 + _min(1), T0 + _min(1) + dt.timedelta(seconds=10))
    c = (T0 + _min(9), T0 + _min(9))
    assert tick_gaps([a, b, c], GAP_S) == [(b[1], c[0])]
    assert tick_gaps([a, b, c], 480.0) == []  # 470 s is not more than 480
    assert tick_gaps([], GAP_S) == []


def test_restarting_twice_records_one_outage(session, db_backend):
    """Idempotent re-detection: a restart looks for gaps; the next restart finds no new one."""
    settings = Settings(environment="test", secret_key="outage-secret", outage_gap_minutes=3, liveness_tick_seconds=20)
    bind = session.connection()
    clock = [T0]

    def proc() -> Liveness:
        return Liveness(settings, bind, clock=lambda: clock[0])

    first = proc()
    for k in range(10):  # the first process beats 10:00..10:03, then the server goes down
        clock[0] = T0 + dt.timedelta(seconds=20 * k)
        assert first.beat() == []
    last_beat = clock[0]
    clock[0] = T0 + _min(45)
    restarted = proc().beat()  # start-up beat: detection runs at once
    assert [(o["start"], o["end"], o["cause"]) for o in restarted] == [
        (last_beat.isoformat(), clock[0].isoformat(), "detected")]
    clock[0] = T0 + _min(46)
    assert proc().beat() == []  # restarted again a minute later: nothing new
    assert proc().beat() == []
    assert len(_outages(session)) == 1


def test_detection_is_due_at_start_every_few_minutes_and_after_a_failed_beat(session):
    settings = Settings(environment="test", secret_key="outage-secret", outage_detect_minutes=10)
    clock = [T0]
    live = Liveness(settings, session.connection(), clock=lambda: clock[0])
    live.beat()
    assert live.last_detect == T0
    clock[0] = T0 + _min(5)
    live.beat()
    assert live.last_detect == T0  # not due yet
    clock[0] = T0 + _min(10)
    live.beat()
    assert live.last_detect == T0 + _min(10)
    live.failed = True  # e.g. the database was unreachable
    clock[0] = T0 + _min(11)
    live.beat()
    assert live.last_detect == T0 + _min(11) and not live.failed


def test_a_beat_that_fails_is_logged_and_never_raises():
    broken = sa.create_engine("sqlite:////nonexistent-dir/nope.db")
    live = Liveness(Settings(environment="test", secret_key="outage-secret"), broken, clock=lambda: T0)
    assert live.beat() == []
    assert live.failed


def test_settings_refuse_a_gap_shorter_than_three_beats():
    with pytest.raises(ValueError, match="GRIDPATROL_OUTAGE_GAP_MINUTES"):
        Settings(environment="test", secret_key="outage-secret", outage_gap_minutes=1, liveness_tick_seconds=30)


def test_manual_outage_writes_one_audit_row_and_checks_its_fields(session):
    last = session.scalar(sa.select(sa.func.max(m.AuditLog.id))) or 0
    start, end = _local("09:00"), _local("09:45")
    now = _local("12:00")
    row, marked = add_outage(session, start=start, end=end, reason="机房断电 power cut",
                             actor="township:wang", now=now)
    assert (row.cause, row.reason, row.recorded_by) == ("manual", "机房断电 power cut",
                                                         "township:wang")
    assert marked == 0  # nothing saved yet for that day
    audits = session.scalars(sa.select(m.AuditLog).where(m.AuditLog.id > last)).all()
    assert [(a.action, a.entity, a.entity_id, a.actor) for a in audits] == [
        ("server_outage.add", "server_outage", str(row.id), "township:wang")]
    assert audits[0].after["start"] == start.astimezone(UTC).isoformat()
    assert audits[0].reason == "机房断电 power cut"
    assert verify_chain(session) is None
    for kw, field in (({"start": end, "end": start}, "to"),
                      ({"end": now + _min(1)}, "to"),
                      ({"reason": "  "}, "reason"),
                      ({"start": start.replace(tzinfo=None)}, "from"),
                      ({}, "from/to")):  # the same outage again
        args = {"start": start, "end": end, "reason": "again", "actor": "x", "now": now, **kw}
        with pytest.raises(ValueError, match=f"^{field}:"):
            add_outage(session, **args)
    assert len(session.scalars(sa.select(m.AuditLog).where(m.AuditLog.id > last)).all()) == 1
    assert [o.id for o in list_outages(session)] == [row.id]
    assert list_outages(session, _local("09:45"), None) == []
    assert parse_time("2026-11-23T09:00", "from", TZ) == start
    with pytest.raises(ValueError, match="^from:"):
        parse_time("yesterday", "from", TZ)


def test_outage_dates_in_local_time():
    z = TZ
    # 23:30 to 00:30 Shanghai touches two local dates; ending at midnight touches one
    assert outage_dates(_local("23:30"), _local("00:30", DAY + dt.timedelta(days=1)), z) == [
        DAY, DAY + dt.timedelta(days=1)]
    assert outage_dates(_local("23:30"), _local("00:00", DAY + dt.timedelta(days=1)), z) == [
        DAY]


def _silent_afternoon(session, demo, wid: str) -> None:
    """Replace the worker's afternoon with healthy heartbeats every 5 min except a silence
    14:20 -> 16:00 (nothing at all in between)."""
    session.execute(sa.delete(m.Position).where(
        m.Position.worker_id == wid, m.Position.recorded_at >= _local("13:55"),
        m.Position.recorded_at <= _local("18:05")))
    t = _local("13:55")
    seq = 50_000
    while t <= _local("18:05"):
        if not (_local("14:20") < t < _local("16:00")):
            session.add(m.Position(recorded_at=t, kind="heartbeat", worker_id=wid, seq=seq,
                                   client_id=f"hb-{seq}", battery_pct=80, charging=False,
                                   network="4g", gps_on=True, app_state="background"))
        seq += 1
        t += _min(5)
    session.flush()


def _phone_off_points(entry) -> list[tuple[float, str, str]]:
    return [(d["points"], d["evidence"]["start"], d["evidence"]["end"])
            for d in entry["deductions"] if d["reason"].startswith("在岗时段手机失联")]


def test_geo_phoneoff_a_worker_silent_during_an_outage_is_charged_only_outside_it(
        demo_session, demo):
    """GEO-PHONEOFF by hand: silence 14:20-16:00 (100 min) on duty. The server was down
    14:40-15:30 (a tick gap). What is left: 14:20-14:40 (20 min, under the 30 min minimum:
    not reported) and 15:30-16:00 (30 min: reported, cut by the outage). Judged under a
    profile that charges phone-off (quanshan-positioning: QS-POS -1 per interval)."""
    prof = "quanshan-positioning"
    wid = next(w.worker_id for w in demo.workers if w.behaviour == "normal")
    _silent_afternoon(demo_session, demo, wid)
    evaluated = _local("19:00")
    entries = {e["worker_id"]: e for e in evaluate_date(demo_session, DAY, profile=prof,
                                                        evaluated_at=evaluated)}
    assert [(p["rule"], p["start"], p["end"], p["duration_s"]) for p in
            entries[wid]["phone_off"]] == [
        ("GEO-PHONEOFF", "2026-11-23T14:20:00+08:00", "2026-11-23T16:00:00+08:00", 6000)]
    assert _phone_off_points(entries[wid]) == [
        (-1, "2026-11-23T14:20:00+08:00", "2026-11-23T16:00:00+08:00")]
    assert "server_outages" not in entries[wid]
    before = {r.worker_id: r.result for r in demo_session.scalars(sa.select(m.DayResult))}

    # the server: beats until 14:40:00, back at 15:30:00; the restart detects the gap
    _beats(demo_session, _local("14:30"), _local("14:40"))
    _beats(demo_session, _local("15:30"), _local("15:31"))
    new = detect_outages(demo_session, now=_local("15:31"), gap_s=GAP_S)
    assert [(o.start_at, o.end_at) for o in new] == [(_local("14:40"), _local("15:30"))]
    marked = demo_session.scalars(sa.select(m.DayResult.worker_id).where(
        m.DayResult.needs_reevaluation.is_(True))).all()
    assert sorted(marked) == sorted(before)  # every saved result of that day is re-judged

    entries = {e["worker_id"]: e for e in reevaluate_pending(
        demo_session, profile=prof, evaluated_at=evaluated + _min(10))}
    entry = entries[wid]
    oid = new[0].id
    assert [(p["rule"], p["start"], p["end"], p["duration_s"], p.get("cut_by_outage"))
            for p in entry["phone_off"]] == [
        ("GEO-PHONEOFF", "2026-11-23T15:30:00+08:00", "2026-11-23T16:00:00+08:00", 1800, oid)]
    assert entry["server_outages"] == [
        {"rule": "GEO-PHONEOFF", "id": oid, "start": "2026-11-23T14:40:00+08:00",
         "end": "2026-11-23T15:30:00+08:00", "cause": "detected", "reason": None,
         "charged": False}]
    # charged only for the part outside the outage
    assert _phone_off_points(entry) == [
        (-1, "2026-11-23T15:30:00+08:00", "2026-11-23T16:00:00+08:00")]
    # nobody else's phone-off changed unless the outage overlapped it
    for w, e in entries.items():
        old = before[w]["phone_off"]
        if w == wid or any(p["start"] < "2026-11-23T15:30" and p["end"] > "2026-11-23T14:40"
                           for p in old):
            continue
        assert [(p["start"], p["end"]) for p in e["phone_off"]] == [
            (p["start"], p["end"]) for p in old]


def test_a_manual_outage_marks_its_days_and_is_never_charged(demo_session, demo):
    """GEO-PHONEOFF: the same silence, the outage recorded by hand 14:20-16:00: no phone-off."""
    wid = next(w.worker_id for w in demo.workers if w.behaviour == "normal")
    _silent_afternoon(demo_session, demo, wid)
    evaluate_date(demo_session, DAY, evaluated_at=_local("19:00"))
    # the outages room only records; marking the saved days is the evaluation room's step
    only = outages.add_outage(demo_session, start=_local("12:00"), end=_local("12:30"),
                              reason="recorded only", actor="admin", now=_local("20:00"))
    assert not demo_session.scalar(sa.select(sa.func.count()).select_from(m.DayResult).where(
        m.DayResult.needs_reevaluation.is_(True)))
    demo_session.delete(only)
    demo_session.flush()
    _, marked = add_outage(demo_session, start=_local("14:20"), end=_local("16:00"),
                           reason="upgrade went wrong", actor="admin", now=_local("20:00"))
    assert marked == demo_session.scalar(sa.select(sa.func.count()).select_from(m.DayResult))
    entries = {e["worker_id"]: e for e in reevaluate_pending(demo_session,
                                                             evaluated_at=_local("20:10"))}
    assert entries[wid]["phone_off"] == []
    assert [o["cause"] for o in entries[wid]["server_outages"]] == ["manual"]
