"""Missing uploads: per-device sequence numbers tell a lost batch from a phone that sent
nothing (checkins.positions.uploads.upload_status, for the office's views)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from checkins.positions.uploads import COMPLETE, MISSING, NO_UPLOADS, upload_status
from tests.server.mobile.conftest import PREFIX, bearer, login


def _batch(seqs: range, t0: dt.datetime, lon: float, lat: float) -> dict:
    return {"items": [{"client_id": f"m-{k}", "seq": k, "kind": "fix",
                       "recorded_at": (t0 + dt.timedelta(seconds=30 * k)).isoformat(),
                       "lon": lon, "lat": lat, "datum": "wgs84", "accuracy_m": 8.0,
                       "mock": False} for k in seqs]}


def test_a_lost_batch_is_told_from_a_silent_phone(client, make_worker, township, migrated_engine):
    lost, silent, quiet_after = make_worker(), make_worker(), make_worker()
    c = township.grid.centroid
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=3)
    tok_lost, tok_quiet = login(client, lost), login(client, quiet_after)
    login(client, silent)  # logged in, never uploads
    for seqs in (range(0, 50), range(100, 150)):  # the batch 50..99 never arrives
        r = client.post(f"{PREFIX}/positions", json=_batch(seqs, t0, c.x, c.y), headers=bearer(tok_lost))
        assert r.json()["accepted"] == 50
    r = client.post(f"{PREFIX}/positions", json=_batch(range(0, 50), t0, c.x, c.y),
                    headers=bearer(tok_quiet))
    assert r.json()["accepted"] == 50

    ids = [lost.worker_id, silent.worker_id, quiet_after.worker_id]
    with Session(migrated_engine) as s:
        st = upload_status(s, ids)
    assert st[lost.worker_id].status == MISSING
    assert st[lost.worker_id].missing_items == 50
    assert [(g.seq_from, g.seq_to) for g in st[lost.worker_id].gaps] == [(50, 99)]
    assert st[silent.worker_id].status == NO_UPLOADS and st[silent.worker_id].received_items == 0
    assert st[quiet_after.worker_id].status == COMPLETE
    assert st[quiet_after.worker_id].last_seq == 49

    # the lost batch turns up late (it was still buffered): the gap closes
    r = client.post(f"{PREFIX}/positions", json=_batch(range(50, 100), t0, c.x, c.y),
                    headers=bearer(tok_lost))
    assert r.json()["accepted"] == 50
    with Session(migrated_engine) as s:
        st = upload_status(s, ids)
    assert st[lost.worker_id].status == COMPLETE and st[lost.worker_id].received_items == 150
