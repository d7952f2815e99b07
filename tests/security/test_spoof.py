"""GEO-SPOOF against spoofed tracks (mock flag, 50 km in a minute and back, repeated identical
coordinates while moving): every falsified fix flagged, nothing else; genuine walks: no flag.
Figures and the known gaps (constant accuracy, a one-way jump): bench/security/spoof_bench.py."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.security.spoof_bench import bits_of, demo_false_flags, scenarios, walk

FLAGGED = ("mock_location_flag", "jump_50km_in_a_minute_and_back",
           "repeated_identical_coordinates")


@pytest.mark.parametrize("name", FLAGGED)
def test_spoofed_tracks_are_flagged_for_review(name):
    track, falsified = scenarios()[name]
    bits = bits_of(track)
    assert (bits[falsified] != 0).all(), name
    assert (bits[~falsified] == 0).all(), name


def test_genuine_walks_raise_no_flag():
    flagged = sum(int((bits_of(walk(seed=s)) != 0).sum()) for s in range(100, 160))
    assert flagged == 0


def test_demo_normal_tracks_false_flag_rate():
    r = demo_false_flags(7, dt.date(2026, 11, 16))
    assert r["valid_fixes"] > 10_000
    assert r["by_reason"]["mock"] == 0 and r["by_reason"]["frozen"] == 0
    # the demo's normal tracks are physically plausible: no GEO-SPOOF flag at all
    assert r["false_flag_rate"] == 0.0 and r["flagged_fixes"] == 0, r
