"""Crash of the API (smoke of bench/reliability/api_crash.py): ``kill -9`` of the server
process group during uploads while simulated phones retry: every acknowledged fix is
stored, stored == unique created, nothing stored twice."""

from __future__ import annotations

from bench.reliability.api_crash import run_crashes, verify


def test_kill9_of_the_server_loses_no_acknowledged_fix(server, phones, migrated_engine):
    ph = phones(6)
    kills = server.kills
    out = run_crashes(server, ph, kills=1, kill_every_s=1.0, down_s=0.2, seed=3)
    assert server.kills == kills + 1
    assert out["failed_uploads_retried"] > 0  # the kill did hit uploads
    assert verify(migrated_engine, ph, out) == []
    assert out["stored"] == out["unique_created"] and out["acknowledged"] == out["unique_created"]
    assert out["lost_acknowledged"] == 0 and out["duplicate_rows"] == 0
