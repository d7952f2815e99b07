"""Live alerts: phone-off and off-post in progress open an alert, which closes when it ends."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from checkins.auth.office import OfficeScope
from checkins.evaluation.flows import evaluate_worker_days
from checkins.jobs.alerts import live_check
from checkins.jobs.models import Alert
from tests.checkins.jobs.conftest import DAY, TZ, behaviour_worker


def _local(hhmm: str) -> dt.datetime:
    h, mi = (int(v) for v in hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(h, mi), tzinfo=ZoneInfo(TZ))


def _board(session, at: dt.datetime) -> dict[str, dict]:
    """The one live board (checkins.office.live.live_map), every village."""
    from checkins.office.live import live_map

    scope = OfficeScope(username="t", role="admin", village_id=None)
    return {r["worker_id"]: r for r in live_map(session, scope, None, at)["rows"]}


def _alerts(session, wid: str) -> list[Alert]:
    return list(session.scalars(sa.select(Alert).where(Alert.worker_id == wid)
                                .order_by(Alert.id)))


def test_phone_off_alert_opens_once_and_closes(demo_session, demo):
    wid = behaviour_worker(demo, "phone_off")
    at = _local("15:50")
    first = live_check(demo_session, now=at)
    assert first["opened"] >= 1
    [alert] = [a for a in _alerts(demo_session, wid) if a.kind == "phone_off"]
    assert alert.status == "open" and alert.rule == "GEO-PHONEOFF"
    assert _local("15:00") <= alert.start_at <= _local("15:11")
    assert alert.end_at == at
    # idempotent: the same check again opens nothing new
    again = live_check(demo_session, now=at + dt.timedelta(minutes=5))
    assert again["opened"] == 0 and again["updated"] >= 1
    assert [a.id for a in _alerts(demo_session, wid)] == [alert.id]
    assert alert.end_at == at + dt.timedelta(minutes=5)
    board = _board(demo_session, at)
    assert board[wid]["state"] == "unreachable"
    # the phone is back at 16:25: closed, with the silence's real end
    live_check(demo_session, now=_local("16:40"))
    demo_session.refresh(alert)
    assert alert.status == "closed" and alert.closed_at == _local("16:40")
    assert _local("16:24") <= alert.end_at <= _local("16:26")
    board = _board(demo_session, _local("16:40"))
    assert board[wid]["state"] != "unreachable"


def test_short_silence_is_not_an_alert_yet(demo_session, demo):
    wid = behaviour_worker(demo, "phone_off")
    live_check(demo_session, now=_local("15:30"))  # silent for ~20 min only (< 30 min)
    assert [a for a in _alerts(demo_session, wid) if a.kind == "phone_off"] == []


def test_crosspost_alert_in_progress_then_closed(demo_session, demo):
    wid = behaviour_worker(demo, "crosspost")  # walks 45 min into a neighbour's grid
    [day] = evaluate_worker_days(demo_session, [(wid, DAY)])
    [iv] = day["offpost"]  # off post, or in another's grid (GEO-CROSSPOST)
    start = dt.datetime.fromisoformat(iv["start"])
    end = dt.datetime.fromisoformat(iv["end"])
    assert end - start >= dt.timedelta(minutes=33)
    during = start + dt.timedelta(minutes=31)
    live_check(demo_session, now=during)
    [alert] = [a for a in _alerts(demo_session, wid) if a.kind == iv["kind"]]
    assert alert.status == "open" and alert.rule == iv["rule"]
    assert alert.other_grid_id == iv["other_grid_id"]
    assert abs((alert.start_at - start).total_seconds()) <= 1
    board = _board(demo_session, during)
    assert board[wid]["state"] == "off_post"
    live_check(demo_session, now=end + dt.timedelta(minutes=15))
    demo_session.refresh(alert)
    assert alert.status == "closed"
    assert abs((alert.end_at - end).total_seconds()) <= 60


def test_yesterdays_open_alert_is_closed(demo_session, demo):
    wid = behaviour_worker(demo, "phone_off")
    live_check(demo_session, now=_local("15:50"))
    [alert] = [a for a in _alerts(demo_session, wid) if a.kind == "phone_off"]
    live_check(demo_session, now=_local("15:50") + dt.timedelta(days=1))
    demo_session.refresh(alert)
    assert alert.status == "closed"
