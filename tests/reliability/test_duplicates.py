"""Duplicates and retries through a real server (smoke of bench/reliability/duplicates.py).

40 batches of 50 unique fixes, each batch POSTed 3 times concurrently with its items in a
different random order per copy, batches in random order: every fix is stored exactly once
and answered ``accepted`` by exactly one copy. Every tenth batch has all its fixes at one
timestamp: different fixes at the same time are all stored (the key is the client id).
"""

from __future__ import annotations

import asyncio
import datetime as dt

from bench.reliability.duplicates import check, plan, send_all
from bench.reliability.harness import stored_counts, stored_ids


def test_triple_concurrent_resends_store_each_fix_once(server, phones, migrated_engine):
    srv = server
    ph = phones(10)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=6)
    batches = plan(ph, 40, 50, "smoke", t0)
    summary = asyncio.run(send_all(srv.url, batches, copies=3, concurrency=4, seed=1))
    rows, distinct = stored_counts(migrated_engine, [p.device_id for p in ph])
    assert check(summary, 2000, rows, distinct) == []
    assert rows == distinct == 2000
    assert summary["statuses"] == {"accepted": 2000, "duplicate": 4000}


def test_different_fixes_with_the_same_timestamp_are_all_stored(server, phones, migrated_engine):
    srv = server
    (p,) = phones(1)
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    batches = plan([p], 10, 50, "same", t0)
    same = batches[9][1]
    assert len({it["recorded_at"] for it in same}) == 1 and len({it["client_id"] for it in same}) == 50
    summary = asyncio.run(send_all(srv.url, batches, copies=2, concurrency=2, seed=2))
    ids = stored_ids(migrated_engine, [p.device_id])[p.device_id]
    assert sorted(ids) == sorted(it["client_id"] for _, b in batches for it in b)
    assert {it["client_id"] for it in same} <= set(ids)
    assert summary["statuses"] == {"accepted": 500, "duplicate": 500}
