"""Late, shuffled and badly-clocked data (in-process mobile app, both backends).

* a day's track uploaded shuffled across 20 batches (in random order) after 7 days offline
  gives exactly the day result (checkins.evaluation.flows ``day_result`` JSON) of the same track
  uploaded in order on time; the late upload marks the already-evaluated day
  ``needs_reevaluation`` and the re-evaluation picks it up;
* a fix older than the retention limit (``GRIDPATROL_MOBILE_MAX_AGE_DAYS``, 180) is answered
  ``rejected`` / ``older_than_retention`` and the rest of its batch is stored;
* a phone whose clock is a day ahead: its fixes are stored flagged
  ``device_time_in_future`` (GEO-VALID, out of every computation); more than
  ``MAX_AHEAD_DAYS`` (2) ahead they are refused; once the clock is right its next fixes are
  accepted clean and counted.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from checkins.evaluation.flows import evaluate_worker_days, reevaluate_pending
from checkins.evaluation.models import DayResult
from checkins.positions.models import Position
from mobile_api_spec.simulator import synthetic_track
from tests.server.mobile.conftest import PREFIX, bearer, login

TZ = ZoneInfo("Asia/Shanghai")


def _items(points: list[Any], prefix: str) -> list[dict[str, Any]]:
    return [{"client_id": f"{prefix}-{k}", "seq": k, "kind": "fix",
             "recorded_at": p.t.isoformat(), "lon": p.lon, "lat": p.lat, "datum": "wgs84",
             "accuracy_m": p.accuracy_m, "speed_mps": p.speed_mps, "mock": False}
            for k, p in enumerate(points)]


def _post(client, tokens, items) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = client.post(f"{PREFIX}/positions", json={"items": items}, headers=bearer(tokens))
    assert r.status_code == 200, r.text
    return r.json()


def _strip(obj: Any, worker_id: str) -> Any:
    """The result JSON with the worker's id taken out (the only thing that may differ)."""
    if isinstance(obj, dict):
        return {k: _strip(v, worker_id) for k, v in obj.items() if k != "worker_id"}
    if isinstance(obj, list):
        return [_strip(v, worker_id) for v in obj]
    return obj.replace(worker_id, "<w>") if isinstance(obj, str) else obj


def _a_weekday(days_back: int) -> dt.date:
    d = dt.datetime.now(TZ).date() - dt.timedelta(days=days_back)
    while d.weekday() >= 5:
        d -= dt.timedelta(days=1)
    return d


def test_shuffled_upload_after_7_days_offline_gives_the_in_order_result(
        client, make_worker, township, migrated_engine):
    day = _a_weekday(8)
    c = township.grid.centroid
    # 06:30-17:30 local, a fix a minute, a walk around the grid centre (some steps outside)
    start = dt.datetime.combine(day, dt.time(6, 30), tzinfo=TZ)
    points = list(synthetic_track(c.x, c.y, start, 660, step_s=60, step_m=60, seed=11))
    on_time, late = make_worker(), make_worker()
    t_on, t_late = login(client, on_time), login(client, late)

    items = _items(points, "ontime")
    for k in range(0, len(items), 50):  # in order, as the day went
        assert _post(client, t_on, items[k:k + 50])["accepted"] == len(items[k:k + 50])
    with Session(migrated_engine) as s:  # the nightly run: the late phone has sent nothing
        evaluate_worker_days(s, [(on_time.worker_id, day), (late.worker_id, day)])
        s.commit()
        before = s.scalar(sa.select(DayResult.result).where(
            DayResult.worker_id == late.worker_id, DayResult.work_date == day))

    # 7 days later the offline phone uploads the whole day: 20 batches of random items,
    # in random order, one fix beyond the retention limit in one of them
    rng = random.Random(5)
    late_items = _items(points, "late")
    rng.shuffle(late_items)
    batches = [late_items[k::20] for k in range(20)]
    too_old = {"client_id": "late-old", "seq": 10_000, "kind": "fix",
               "recorded_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=181)).isoformat(),
               "lon": c.x, "lat": c.y, "datum": "wgs84", "accuracy_m": 5.0, "mock": False}
    batches[7].append(too_old)
    rng.shuffle(batches)
    accepted = 0
    for b in batches:
        res = _post(client, t_late, b)
        accepted += res["accepted"]
        for it in res["items"]:
            if it["client_id"] == "late-old":
                assert (it["status"], it["reason"], it["field"]) == (
                    "rejected", "older_than_retention", "recorded_at")
    assert accepted == len(points)

    with Session(migrated_engine) as s:
        marked = s.scalar(sa.select(DayResult.needs_reevaluation).where(
            DayResult.worker_id == late.worker_id, DayResult.work_date == day))
        assert marked is True
        assert (late.worker_id, day) in {(e["worker_id"], dt.date.fromisoformat(e["date"]))
                                        for e in reevaluate_pending(s)}
        s.commit()
        rows = {w: r for w, r in s.execute(sa.select(DayResult.worker_id, DayResult.result).where(
            DayResult.work_date == day,
            DayResult.worker_id.in_([on_time.worker_id, late.worker_id])))}
        n_old = s.scalar(sa.select(sa.func.count()).select_from(Position).where(
            Position.client_id == "late-old"))
    assert n_old == 0
    assert _strip(rows[late.worker_id], late.worker_id) == _strip(rows[on_time.worker_id],
                                                                  on_time.worker_id)
    assert _strip(before, late.worker_id) != _strip(rows[late.worker_id], late.worker_id)


def test_a_clock_a_day_ahead_is_flagged_and_does_not_block_later_fixes(
        client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    ahead = list(synthetic_track(c.x, c.y, now + dt.timedelta(days=1), 10, seed=1))
    far = list(synthetic_track(c.x, c.y, now + dt.timedelta(days=3), 3, seed=2))
    right = list(synthetic_track(c.x, c.y, now - dt.timedelta(minutes=10), 10, seed=3))
    items = _items(ahead + far + right, "clock")
    res = _post(client, tok, items)
    got = [(it["status"], it["reason"]) for it in res["items"]]
    assert got[:10] == [("accepted", "device_time_in_future")] * 10  # stored, flagged
    assert got[10:13] == [("rejected", "device_time_in_future")] * 3  # beyond 2 days: refused
    assert got[13:] == [("accepted", None)] * 10  # the corrected clock: clean
    with Session(migrated_engine) as s:
        stored = dict(s.execute(sa.select(Position.client_id, Position.reject_reason).where(
            Position.worker_id == w.worker_id)).all())
    assert len(stored) == 20
    assert sum(r == "device_time_in_future" for r in stored.values()) == 10
    assert sum(r is None for r in stored.values()) == 10
    # the flagged fixes do not hold back what comes next: more right-clock fixes, later seqs
    more = _items(list(synthetic_track(c.x, c.y, now - dt.timedelta(minutes=4), 5, seed=4)), "clock2")
    for k, it in enumerate(more):
        it["seq"] = 100 + k
    assert _post(client, tok, more)["accepted"] == 5
