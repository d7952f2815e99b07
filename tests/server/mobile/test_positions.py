"""Position uploads: per-item answers, idempotency, the bad-input table, tagging, seq gaps."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from checkins.evaluation.models import DayResult
from checkins.positions.ingest import seq_gaps
from checkins.positions.models import Position
from tests.server.mobile.conftest import PREFIX, bearer, login


def _t(minutes_ago: float = 60.0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes_ago)).astimezone(
        dt.timezone(dt.timedelta(hours=8))).isoformat()


def fix(i: int, lon: float, lat: float, *, prefix: str = "c", **kw) -> dict:  # type: ignore[no-untyped-def]
    item = {"client_id": f"{prefix}-{i}", "seq": i, "kind": "fix", "recorded_at": _t(120 - i * 0.5),
            "lon": lon, "lat": lat, "datum": "wgs84", "accuracy_m": 8.0, "speed_mps": 1.2,
            "mock": False}
    item.update(kw)
    return item


def post(client, tokens, items=None, *, body=None, headers=None):  # type: ignore[no-untyped-def]
    h = {**bearer(tokens), "Content-Type": "application/json", **(headers or {})}
    data = body if body is not None else json.dumps({"items": items})
    return client.post(f"{PREFIX}/positions", content=data, headers=h)


def stored(engine, worker_id: str) -> list:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(sa.select(Position.client_id, Position.reject_reason, Position.grid_id,
                                   Position.geom, Position.kind, Position.suspect)
                         .where(Position.worker_id == worker_id)
                         .order_by(Position.client_id)).all()


def test_batch_is_stored_tagged_and_answered_per_item(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    items = [fix(i, c.x + i * 1e-5, c.y) for i in range(5)]
    items.append(fix(5, c.x + 0.2, c.y))  # far outside the grid
    items.append({"client_id": "hb-1", "seq": 6, "kind": "heartbeat", "recorded_at": _t(30),
                  "battery_pct": 54, "charging": False, "network": "4g", "gps_on": False,
                  "app_state": "background"})
    r = post(client, tok, items)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (7, 0, 0)
    assert [it["status"] for it in body["items"]] == ["accepted"] * 7
    rows = {row.client_id: row for row in stored(migrated_engine, w.worker_id)}
    assert len(rows) == 7
    assert all(rows[f"c-{i}"].grid_id == township.grid_id for i in range(5))
    assert rows["c-5"].grid_id is None and rows["c-5"].geom is not None
    assert rows["hb-1"].kind == "heartbeat" and rows["hb-1"].geom is None


def test_same_batch_three_times_is_stored_once(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    items = [fix(i, c.x, c.y + i * 1e-5) for i in range(50)]
    answers = [post(client, tok, items).json() for _ in range(3)]
    assert answers[0]["accepted"] == 50
    assert answers[1]["duplicates"] == 50 and answers[2]["duplicates"] == 50
    assert answers[2]["accepted"] == 0
    assert len(stored(migrated_engine, w.worker_id)) == 50


def test_two_fixes_with_the_same_time_are_both_stored(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    t = _t(10)
    items = [fix(0, c.x, c.y, recorded_at=t), fix(1, c.x + 1e-4, c.y, recorded_at=t)]
    assert post(client, tok, items).json()["accepted"] == 2
    assert len(stored(migrated_engine, w.worker_id)) == 2


def test_interrupted_then_retried_batch_is_stored_once(client, make_worker, township, migrated_engine):
    """The first half arrived (its answer was lost); the phone resends the whole batch."""
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    items = [fix(i, c.x, c.y + i * 1e-5) for i in range(40)]
    assert post(client, tok, items[:20]).json()["accepted"] == 20
    # a truncated body (connection cut mid-upload) stores nothing
    cut = json.dumps({"items": items})[: 3000]
    r = post(client, tok, body=cut)
    assert r.status_code == 422 and r.json()["error"]["code"] == "malformed_json"
    again = post(client, tok, items).json()
    assert (again["accepted"], again["duplicates"]) == (20, 20)
    assert len(stored(migrated_engine, w.worker_id)) == 40


BAD_ITEMS = [
    # (name, change to a good fix, expected status, reason, field)
    ("nan_lat", {"lat": float("nan")}, "rejected", "not_finite", "lat"),
    ("inf_lon", {"lon": float("inf")}, "rejected", "not_finite", "lon"),
    ("missing_offset", {"recorded_at": "2026-03-02T08:30:00"}, "rejected", "missing_utc_offset", "recorded_at"),
    ("unknown_datum", {"datum": "osgb36"}, "rejected", "unknown_datum", "datum"),
    ("missing_lat", {"lat": None}, "rejected", "missing_field", "lat"),
    ("missing_datum", {"datum": None}, "rejected", "missing_field", "datum"),
    ("bad_seq", {"seq": -3}, "rejected", "out_of_range", "seq"),
    ("string_lon", {"lon": "east"}, "rejected", "invalid_type", "lon"),
    ("too_old", {"recorded_at": "2020-01-01T08:00:00+08:00"}, "rejected", "older_than_retention", "recorded_at"),
    ("far_future", {"recorded_at": "2099-01-01T08:00:00+08:00"}, "rejected", "device_time_in_future", "recorded_at"),
    # GEO-VALID: stored with the reason, answered accepted-with-reason
    ("lat_out_of_range", {"lat": 95.0}, "accepted", "lat_out_of_range", "lat"),
    ("lon_out_of_range", {"lon": -181.0}, "accepted", "lon_out_of_range", "lon"),
    ("null_island", {"lon": 0.0, "lat": 0.0}, "accepted", "null_island", "lon"),
    ("poor_accuracy", {"accuracy_m": 500.0}, "accepted", "accuracy_too_low", "accuracy_m"),
    ("clock_ahead_1h", {"recorded_at": "FUTURE1H"}, "accepted", "device_time_in_future", "recorded_at"),
]


@pytest.mark.parametrize("name,change,status,reason,field", BAD_ITEMS, ids=[b[0] for b in BAD_ITEMS])
def test_bad_item_is_answered_and_nothing_valid_is_lost(client, make_worker, township, migrated_engine,
                                                        name, change, status, reason, field):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    good = [fix(i, c.x, c.y + i * 1e-5) for i in range(3)]
    bad = fix(3, c.x, c.y, prefix="bad")
    for k, v in change.items():
        if v is None:
            bad.pop(k)
        elif v == "FUTURE1H":
            bad[k] = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
        else:
            bad[k] = v
    # json.dumps writes NaN/Infinity literals, as a sloppy phone client would
    r = post(client, tok, body=json.dumps({"items": [good[0], bad, good[1], good[2]]}))
    assert r.status_code == 200, r.text
    res = r.json()["items"]
    assert [x["status"] for x in (res[0], res[2], res[3])] == ["accepted"] * 3
    assert all(x["reason"] is None for x in (res[0], res[2], res[3]))
    assert (res[1]["status"], res[1]["reason"], res[1]["field"]) == (status, reason, field)
    assert res[1]["index"] == 1
    rows = {row.client_id: row for row in stored(migrated_engine, w.worker_id)}
    assert {"c-0", "c-1", "c-2"} <= set(rows)
    if status == "accepted":  # kept with its reason, never silently dropped, no geometry used
        assert rows["bad-3"].reject_reason == reason and rows["bad-3"].grid_id is None
    else:
        assert "bad-3" not in rows


def test_duplicate_ids_inside_one_batch(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    a = fix(0, c.x, c.y)
    b = fix(1, c.x + 1e-4, c.y, client_id="c-0")  # same client id, other content
    res = post(client, tok, [a, b]).json()
    assert [x["status"] for x in res["items"]] == ["accepted", "duplicate"]
    assert res["items"][1]["reason"] == "duplicate_in_batch"
    assert len(stored(migrated_engine, w.worker_id)) == 1


def test_mock_location_is_stored_as_suspect(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    assert post(client, tok, [fix(0, c.x, c.y, mock=True)]).json()["accepted"] == 1
    (row,) = stored(migrated_engine, w.worker_id)
    assert row.suspect is True and row.reject_reason is None


@pytest.mark.parametrize("case", ["malformed", "not_object", "item_not_object", "wrong_type", "too_many",
                                  "too_big", "empty"])
def test_whole_body_errors(client, make_worker, township, case):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    if case == "malformed":
        r = post(client, tok, body='{"items": [{"client_id": "x",')
        assert (r.status_code, r.json()["error"]["code"]) == (422, "malformed_json")
    elif case == "not_object":
        r = post(client, tok, body="[1, 2, 3]")
        assert (r.status_code, r.json()["error"]["field"]) == (422, "items")
    elif case == "item_not_object":
        r = post(client, tok, body=json.dumps({"items": [fix(0, c.x, c.y), 42]}))
        assert (r.status_code, r.json()["error"]["field"]) == (422, "items.1")
    elif case == "wrong_type":
        r = post(client, tok, body=json.dumps({"items": []}), headers={"Content-Type": "text/plain"})
        assert (r.status_code, r.json()["error"]["code"]) == (415, "unsupported_media_type")
    elif case == "too_many":
        r = post(client, tok, [fix(i, c.x, c.y) for i in range(501)])
        assert (r.status_code, r.json()["error"]["code"]) == (422, "batch_too_large")
    elif case == "too_big":
        r = post(client, tok, body='{"items": [], "pad": "' + "x" * 1_100_000 + '"}')
        assert (r.status_code, r.json()["error"]["code"]) == (413, "body_too_large")
    else:
        r = post(client, tok, [])
        assert r.status_code == 200 and r.json()["accepted"] == 0
    assert "Traceback" not in r.text


def test_gcj02_fix_is_normalised_to_wgs84(client, make_worker, township, migrated_engine):
    from geo import crs

    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    glon, glat = crs.from_wgs84(c.x, c.y, "gcj02")
    assert post(client, tok, [fix(0, float(glon), float(glat), datum="gcj02")]).json()["accepted"] == 1
    (row,) = stored(migrated_engine, w.worker_id)
    assert abs(row.geom.x - c.x) < 1e-6 and abs(row.geom.y - c.y) < 1e-6
    assert row.grid_id == township.grid_id


def test_sequence_gaps_tell_a_lost_batch_from_silence(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    items = [fix(i, c.x, c.y + i * 1e-6) for i in range(30)]
    post(client, tok, items[:10])
    post(client, tok, items[20:])  # items 10..19 were lost
    with Session(migrated_engine) as s:
        gaps = seq_gaps(s, w.device_id)
        assert [(g.seq_from, g.seq_to, g.count) for g in gaps] == [(10, 19, 10)]
    post(client, tok, items[10:20])  # the lost batch turns up late
    with Session(migrated_engine) as s:
        assert seq_gaps(s, w.device_id) == []
    other = make_worker()
    with Session(migrated_engine) as s:
        assert seq_gaps(s, other.device_id) == []  # a phone that sent nothing has no gap


def test_late_batch_marks_an_evaluated_day_for_reevaluation(client, make_worker, township, migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    three_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    local_day = three_days_ago.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    with Session(migrated_engine) as s:
        s.add(DayResult(worker_id=w.worker_id, work_date=local_day, result={"deductions": []},
                        provisional=False))
        s.commit()
    late = fix(0, c.x, c.y, recorded_at=three_days_ago.isoformat())
    assert post(client, tok, [late]).json()["accepted"] == 1
    with Session(migrated_engine) as s:
        dr = s.scalars(sa.select(DayResult).where(DayResult.worker_id == w.worker_id)).one()
        assert dr.needs_reevaluation is True
