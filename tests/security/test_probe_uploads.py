"""Issue 15, findings 1, 2, 4 and 8 (mobile side): what an outside probe sent to the upload,
patrol-log and contract, and what must come back (both backends)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from checkins.field.models import PatrolLog
from checkins.positions import uploads
from checkins.positions.ingest import seq_gaps
from checkins.positions.models import DeviceSeqRun
from checkins.positions.uploads import upload_status
from tests.server.mobile.conftest import PREFIX, bearer, login
from tests.server.mobile.test_positions import fix, post, stored

pytestmark = pytest.mark.db


def _runs(engine, device_id: int) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return sorted(s.execute(sa.select(DeviceSeqRun.seq_from, DeviceSeqRun.seq_to)
                                .where(DeviceSeqRun.device_id == device_id)).all())


@pytest.mark.parametrize("seq", [2**63, 2**64 + 5, 2**53 + 1, -1])
def test_one_item_with_an_impossible_seq_costs_only_itself(client, make_worker, township,
                                                           migrated_engine, seq):
    """Finding 1: seq >= 2**63 made the batch a 500, forever; the valid items were lost."""
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    items = [fix(1, c.x, c.y), fix(2, c.x, c.y, prefix="bad", seq=seq), fix(3, c.x, c.y)]
    for _attempt in range(2):  # the resend answers the same way (the first as duplicates)
        r = post(client, tok, items)
        assert r.status_code == 200, r.text
        res = r.json()["items"]
        assert (res[1]["status"], res[1]["reason"], res[1]["field"]) == (
            "rejected", "out_of_range", "seq")
        assert res[0]["status"] in ("accepted", "duplicate")
    assert {row.client_id for row in stored(migrated_engine, w.worker_id)} == {"c-1", "c-3"}
    # the bad seq is never recorded: no overflow, no gap of 9e15 "missing" items
    assert set(_runs(migrated_engine, w.device_id)) == {(1, 1), (3, 3)}
    with Session(migrated_engine) as s:
        st = upload_status(s, [w.worker_id])[w.worker_id]
        assert (st.missing_items, st.last_seq) == (1, 3)


def test_deeply_nested_json_is_a_4xx_not_a_500(client, make_worker):
    """Finding 2: ~200 KB of '[[[[' made the item-by-item fallback's json.loads recurse."""
    tok = login(client, make_worker())
    for body in ("[" * 200_000, '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}",
                 '{"items": [{"client_id": "x", "seq": ' + "[" * 50_000 + "]" * 50_000 + "}]}"):
        r = post(client, tok, body=body)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:200])
        assert r.json()["error"]["code"] in ("malformed_json", "validation_failed")


def test_a_huge_valid_seq_jump_is_a_jump_not_missing_items(client, make_worker, township,
                                                            migrated_engine):
    """Finding 4: the missing count was entirely in the phone's hands (缺失 9007199254740987 条)."""
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    post(client, tok, [fix(i, c.x, c.y) for i in range(5)])
    post(client, tok, [fix(6, c.x, c.y, prefix="far", seq=2**53)])
    with Session(migrated_engine) as s:
        st = upload_status(s, [w.worker_id])[w.worker_id]
        assert st.status == "seq_jump" and st.missing_items == 0
        assert [(g.seq_from, g.count) for g in st.jumps] == [(5, 2**53 - 5)]
        assert len(seq_gaps(s, w.device_id)) == 1  # the raw gap is still there to inspect
    # a plausible gap beside it is still counted
    post(client, tok, [fix(7, c.x, c.y, prefix="near", seq=2**53 - 10)])  # 2**53-9..2**53-1 lost
    with Session(migrated_engine) as s:
        st = upload_status(s, [w.worker_id])[w.worker_id]
        assert st.status == "missing_uploads" and st.missing_items == 9
        assert len(st.jumps) == 1 and st.jumps[0].count > uploads.MAX_PLAUSIBLE_GAP


def test_empty_client_id_on_a_patrol_log_is_refused(client, make_worker, migrated_engine):
    """Finding 8: an empty client_id counted as absent, so a resend made two logs."""
    w = make_worker()
    tok = login(client, w)
    for _ in range(2):
        r = client.post(f"{PREFIX}/patrol-logs", data={"text": "巡查", "client_id": ""},
                        headers=bearer(tok))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["field"] == "client_id"
    with Session(migrated_engine) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PatrolLog)
                        .where(PatrolLog.worker_id == w.worker_id)) == 0


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/signins", {"client_id": "s1", "fix": {"lon": 110.0, "lat": "32.45", "datum": "wgs84",
                                             "recorded_at": "2026-01-01T08:00:00+08:00"}},
     "fix.lat"),
    ("/signins", {"client_id": "s2", "fix": {"lon": "110", "lat": 30.0,
                                             "recorded_at": "2026-01-01T08:00:00+08:00"}},
     "fix.lon"),
    ("/signins", {"client_id": "s3", "fix": {"lon": 110.0, "lat": 30.0, "mock": "false",
                                             "recorded_at": "2026-01-01T08:00:00+08:00"}},
     "fix.mock"),
    ("/requests", {"kind": "field_duty", "start": "2026-01-01T08:00:00+08:00",
                   "end": "2026-01-01T18:00:00+08:00",
                   "place": {"lon": 110.0, "lat": 30.0, "radius_m": "500"}}, "place.radius_m"),
])
def test_numbers_sent_as_strings_are_refused_with_the_field(client, make_worker, path, body,
                                                            field):
    """Finding 8: ``lat`` as the string "32.45" was accepted (lax coercion)."""
    tok = login(client, make_worker())
    r = client.post(f"{PREFIX}{path}", json=body, headers=bearer(tok))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_a_string_lat_in_a_batch_rejects_only_that_item(client, make_worker, township,
                                                        migrated_engine):
    w = make_worker()
    tok = login(client, w)
    c = township.grid.centroid
    r = post(client, tok, body=json.dumps({"items": [fix(1, c.x, c.y),
                                                     fix(2, c.x, str(c.y), prefix="s")]}))
    res = r.json()["items"]
    assert [x["status"] for x in res] == ["accepted", "rejected"]
    assert res[1]["field"] == "lat"


def test_the_committed_spec_says_what_the_server_accepts():
    """Finding 8: the spec allowed date=0000-00-00 and period=0000000, then the server refused."""
    import re
    from pathlib import Path

    spec = json.loads((Path(__file__).parents[2] / "mobile_api_spec" / "openapi.json").read_text())

    def param(path: str, name: str) -> dict:
        p = next(x for x in spec["paths"][path]["get"]["parameters"] if x["name"] == name)
        return p["schema"]

    date = param("/api/mobile/v1/me/export/positions", "date")
    pattern = next(b["pattern"] for b in date["anyOf"] if b.get("type") == "string")
    assert date.get("format") == "date"
    assert re.fullmatch(pattern, "2026-03-01")
    for bad in ("0000-00-00", "2026-13-01", "2026-02-00", "٢٠٢٦-03-01"):
        assert not re.fullmatch(pattern, bad), bad
    period = param("/api/mobile/v1/me/score", "period")["pattern"]
    assert all(re.fullmatch(period, ok) for ok in ("2026", "2026-03", "2026Q1"))
    for bad in ("0000000", "0000", "2026-13", "2026Q5"):
        assert not re.fullmatch(period, bad), bad
    seq = spec["paths"]["/api/mobile/v1/positions"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]["properties"]["items"]["x-item-schema"]["properties"]["seq"]
    assert (seq["minimum"], seq["maximum"]) == (0, 2**53)
