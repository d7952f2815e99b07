"""The incremental live check (issue 19) finds what a full re-judgement of the day finds.

Runs at random times through the day judge each worker only from its ``live_state`` point;
at the last run, the intervals in progress and the open alerts must equal those of one full
run at the same time. Late, out-of-order items reported by ingest make the check re-judge
that worker from before them.
"""

from __future__ import annotations

import datetime as dt
import random
import types
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from checkins import tables as m
from checkins.jobs.alerts import live_check, live_states, lookback_s
from checkins.positions.ingest import IngestParams, ingest_batch
from scoring.profiles import load_profile
from tests.checkins.jobs.conftest import DAY, TZ, behaviour_worker


def _local(hhmm: str) -> dt.datetime:
    h, mi = (int(v) for v in hhmm.split(":"))
    return dt.datetime.combine(DAY, dt.time(h, mi), tzinfo=ZoneInfo(TZ))


def _intervals(session) -> dict[str, list[dict]]:
    session.expire_all()
    ws = session.scalars(sa.select(m.LiveState.worker_id).where(m.LiveState.work_date == DAY))
    return {w: st.open_intervals for w, st in live_states(session, list(ws), DAY).items()}


def _open_alerts(session) -> dict[tuple[str, str], tuple]:
    session.expire_all()
    return {(a.worker_id, a.kind): (a.start_at, a.end_at, a.cause, a.other_grid_id)
            for a in session.scalars(sa.select(m.Alert).where(m.Alert.status == "open"))}


def _assert_equal_to_full(session, now: dt.datetime) -> None:
    inc_iv, inc_alerts = _intervals(session), _open_alerts(session)
    counts = live_check(session, now=now, full=True)
    assert counts["incremental"] == 0
    assert counts["opened"] == 0 and counts["closed"] == 0, counts
    assert _open_alerts(session) == inc_alerts
    assert _intervals(session) == inc_iv


@pytest.mark.parametrize("seed", [1, 2])
def test_random_runs_equal_one_full_run(demo_session, demo, seed):
    rng = random.Random(seed)
    # random run times through the day, the last while the phone-off worker is silent
    minutes = [*sorted(rng.sample(range(8 * 60, 15 * 60 + 50), 4)), 15 * 60 + 55]
    times = [_local(f"{mi // 60:02d}:{mi % 60:02d}") for mi in minutes]
    for k, at in enumerate(times):
        counts = live_check(demo_session, now=at)
        # after the first run every worker is judged from its own point, not the whole day
        assert counts["incremental"] == (counts["checked"] if k else 0)
    assert any(_intervals(demo_session).values())
    _assert_equal_to_full(demo_session, times[-1])


def test_phone_off_in_progress_equals_full_run(demo_session, demo):
    wid = behaviour_worker(demo, "phone_off")  # silent from about 15:10 to 16:25
    for hhmm in ("14:00", "15:20", "15:45", "16:05"):
        live_check(demo_session, now=_local(hhmm))
    [iv] = [iv for iv in _intervals(demo_session)[wid] if iv["kind"] == "phone_off"]
    assert _local("15:00").timestamp() <= iv["start"] <= _local("15:11").timestamp()
    _assert_equal_to_full(demo_session, _local("16:05"))


def test_late_items_rejudge_from_before_them(demo_session, demo):
    wid = behaviour_worker(demo, "phone_off")
    live_check(demo_session, now=_local("15:50"))
    live_check(demo_session, now=_local("16:10"))
    assert any(iv["kind"] == "phone_off" for iv in _intervals(demo_session)[wid])
    st = live_states(demo_session, [wid], DAY)[wid]
    settled = st.settled_at
    # the phone was on after all: heartbeats through the silence arrive late, out of order
    device_id = demo_session.scalar(sa.select(m.Device.id).where(m.Device.worker_id == wid))
    items, t, seq = [], _local("15:10"), 10_000
    while t < _local("16:10"):
        items.append((len(items), types.SimpleNamespace(
            client_id=f"late-{seq}", seq=seq, kind="heartbeat", recorded_at=t, lon=None,
            lat=None, datum=None, accuracy_m=None, speed_mps=None, mock=False,
            battery_pct=60, charging=False, network="4g", gps_on=True,
            app_state="background")))
        seq, t = seq + 1, t + dt.timedelta(minutes=5)
    rng = random.Random(3)
    rng.shuffle(items)
    params = IngestParams(geo=load_profile(demo.profile).geo_params())
    ingest_batch(demo_session, worker_id=wid, device_id=device_id, items=items, outcomes=[],
                 seqs_seen=[it.seq for _, it in items], params=params, now=_local("16:12"))
    st = live_states(demo_session, [wid], DAY)[wid]
    demo_session.refresh(st)
    # the demo's own uploads (through ingest) already reach later in the day
    assert st.dirty_from == _local("15:10") and st.last_seen_at >= _local("16:05")
    assert st.ingest_seq >= 1 and st.settled_at == settled
    counts = live_check(demo_session, now=_local("16:15"))
    assert counts["incremental"] == counts["checked"]
    assert not any(iv["kind"] == "phone_off" for iv in _intervals(demo_session)[wid])
    demo_session.refresh(st)
    assert st.dirty_from is None  # judged: nothing stored since
    _assert_equal_to_full(demo_session, _local("16:15"))
    params_geo = load_profile(demo.profile).geo_params()
    assert lookback_s(params_geo) >= params_geo.offpost_min_s


def test_off_post_not_yet_long_enough_then_in_progress(demo_session, demo):
    from checkins.evaluation.flows import evaluate_worker_days

    wid = behaviour_worker(demo, "crosspost")  # 45 min in a neighbour's grid
    [day] = evaluate_worker_days(demo_session, [(wid, DAY)])
    [full_iv] = day["offpost"]
    start = dt.datetime.fromisoformat(full_iv["start"])
    # before offpost_min_s (30 min) it is not an interval yet; the next run must still
    # find its real start, from before the previous run's point
    for minutes in (-20, 10, 20, 31):
        live_check(demo_session, now=start + dt.timedelta(minutes=minutes))
    [iv] = [iv for iv in _intervals(demo_session)[wid] if iv["kind"] == full_iv["kind"]]
    assert abs(iv["start"] - start.timestamp()) <= 1
    _assert_equal_to_full(demo_session, start + dt.timedelta(minutes=31))


def test_board_answers_from_kept_state(demo_session, demo):
    """live_map reads the latest item and fix from live_state when it has the day's row."""
    from checkins.auth.office import OfficeScope
    from checkins.office.live import live_map

    wid = behaviour_worker(demo, "phone_off")
    at = _local("15:50")
    scope = OfficeScope(username="t", role="admin", village_id=None)
    before = {r["worker_id"]: r for r in live_map(demo_session, scope, None, at)["rows"]}
    assert before[wid]["state"] == "unreachable"  # silent since about 15:10
    # a state row as ingest keeps it (no position row behind it): the board follows it
    # (the demo's uploads went through ingest, so the day's row may exist: it is overwritten)
    st = demo_session.scalars(sa.select(m.LiveState).where(
        m.LiveState.worker_id == wid, m.LiveState.work_date == DAY)).first()
    if st is None:
        st = m.LiveState(worker_id=wid, work_date=DAY, ingest_seq=1)
        demo_session.add(st)
    st.last_seen_at, st.last_fix_at = _local("15:48"), _local("15:48")
    st.last_lon, st.last_lat, st.last_grid_id = 121.5, 29.9, None
    demo_session.flush()
    row = {r["worker_id"]: r for r in live_map(demo_session, scope, None, at)["rows"]}[wid]
    assert row["last_seen"] == "15:48" and (row["lon"], row["lat"]) == (121.5, 29.9)
    assert row["state"] == "off_post"  # the kept fix is in no grid
    # asked about a time before the kept item: read from position as before
    early = {r["worker_id"]: r for r in live_map(demo_session, scope, None,
                                                  _local("15:40"))["rows"]}[wid]
    assert early["last_seen"] == before[wid]["last_seen"]
