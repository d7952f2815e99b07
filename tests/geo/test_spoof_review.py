"""GEO-SPOOF review flags (``constant_accuracy``, ``jump``): hand-computed cases, and the
property that they exclude nothing: in-grid time, losses, off-post, suspects and every
deduction are the same as with the flags switched off, until an office confirms a flag."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.engine import day_result_to_json, evaluate_day
from geo.spoof import review_key
from geo.types import FLAG_CONSTANT_ACCURACY, FLAG_JUMP, SUSPECT_SPIKE
from scoring.day import day_deductions
from scoring.dayjson import day_from_json
from scoring.profiles import load_profile
from tests.geo.conftest import TZ, T, World, default_params, worker_day

# flags switched off: no run can be that long, no jump that far
OFF = dict(constant_accuracy_min_count=10**9, jump_min_distance_m=1e12)


def _walk(world, n, step_m=30.0, every_s=30.0, acc=None, x0=100.0):
    """``n`` fixes from 09:00 every ``every_s`` s, east along y=500 by ``step_m`` (inside the
    1 km grid while x <= 1000); accuracy all different (4.1, 4.2, ...) unless given."""
    t = T(9) + np.arange(n) * every_s
    x = x0 + np.arange(n) * step_m
    acc = 4.0 + 0.1 * np.arange(1, n + 1) if acc is None else np.asarray(acc, float)
    return t, x, acc


def _same_but_flags(r, r_off):
    """Everything but the review flags is equal."""
    assert dataclasses.replace(r, spoof_flags=()) == r_off


# ---------------------------------------------------------------------------- constant accuracy
def test_constant_accuracy_run_flagged_once_at_its_first_fix(world, params):
    """25 fixes, 1 m/s (30 m per 30 s) from x=100; #0..#2 accuracy 7.1, 8.3, 9.2 m, then
    #3..#24 all 10.0 m: a run of 22 >= 20 fixes. Extent: #24 at x=100+24*30=820 from #3 at
    x=190: 630 m > 200 m -> one flag at #3 (09:01:30), ending at #24 (09:12:00)."""
    t, x, _ = _walk(world, 25)
    acc = np.r_[7.1, 8.3, 9.2, np.full(22, 10.0)]
    f = world.fixes(t, x, np.full(25, 500.0), accuracy_m=acc)
    r = evaluate_day(worker_day(world, f), params)
    assert [fl.reason for fl in r.spoof_flags] == [FLAG_CONSTANT_ACCURACY]
    fl = r.spoof_flags[0]
    assert (fl.t, fl.start, fl.end) == (t[3], t[3], t[24])
    assert fl.evidence == {"accuracy_m": 10.0, "fixes": 22, "extent_m": 630.0}
    assert fl.decision is None
    assert r.suspect_fixes == ()  # nothing left out
    assert r.fixes_used == 25
    # 24 segments of 30 s inside the grid: 720 s, as without the flag
    assert r.patrols["am"].in_grid_s == 720
    _same_but_flags(r, evaluate_day(worker_day(world, f), default_params(**OFF)))


def test_constant_accuracy_count_threshold(world, params):
    """Exactly 20 identical accuracies (#5..#24) are a run; 19 (#6..#24) are not."""
    t, x, acc = _walk(world, 25)
    acc20 = acc.copy()
    acc20[5:] = 10.0
    acc19 = acc.copy()
    acc19[6:] = 10.0
    for a, n_flags in ((acc20, 1), (acc19, 0)):
        f = world.fixes(t, x, np.full(25, 500.0), accuracy_m=a)
        assert len(evaluate_day(worker_day(world, f), params).spoof_flags) == n_flags


def test_constant_accuracy_needs_the_track_to_move(world, params):
    """Steps of 10 m: 20 fixes reach 190 m from the first (not > 200): no flag; 22 fixes
    reach 210 m: flagged. A phone lying still (±3 m) with 65 m for 40 fixes: none."""
    for n, n_flags in ((20, 0), (22, 1)):
        t, x, _ = _walk(world, n, step_m=10.0)
        f = world.fixes(t, x, np.full(n, 500.0), accuracy_m=np.full(n, 65.0))
        assert len(evaluate_day(worker_day(world, f), params).spoof_flags) == n_flags, n
    rng = np.random.default_rng(3)
    t = T(9) + np.arange(40) * 30.0
    f = world.fixes(t, 500 + rng.uniform(-3, 3, 40), 500 + rng.uniform(-3, 3, 40),
                    accuracy_m=np.full(40, 65.0))
    assert evaluate_day(worker_day(world, f), params).spoof_flags == ()


def test_constant_accuracy_iphones_quantised_values_and_unknown_accuracy(world, params):
    """On a phone known to be an iPhone (platform "ios"), a run at one of
    constant_accuracy_ios_values_m (default 5, 10, 65) is not flagged, a 12.5 m run is; on
    an Android phone or an unknown one the 10.0 m run is flagged; an empty list flags the
    iPhone too. Unknown accuracy (NaN) never makes a run."""
    t, x, _ = _walk(world, 25)
    y = np.full(25, 500.0)
    f10, f12 = (world.fixes(t, x, y, accuracy_m=a) for a in (10.0, 12.5))
    assert params.constant_accuracy_ios_values_m == (5.0, 10.0, 65.0)
    assert evaluate_day(worker_day(world, f10, platform="ios"), params).spoof_flags == ()
    assert len(evaluate_day(worker_day(world, f12, platform="ios"), params).spoof_flags) == 1
    for plat in ("android", None):
        assert len(evaluate_day(worker_day(world, f10, platform=plat), params).spoof_flags) == 1
    p = dataclasses.replace(params, constant_accuracy_ios_values_m=())
    assert len(evaluate_day(worker_day(world, f10, platform="ios"), p).spoof_flags) == 1
    f = world.fixes(t, x, y, accuracy_m=np.nan)
    assert evaluate_day(worker_day(world, f), params).spoof_flags == ()


# ---------------------------------------------------------------------------- jump
def test_one_way_jump_flagged_at_the_fix_it_lands_on(world, params):
    """20 fixes a minute apart, 1 m/s (60 m per min) from x=100; from #10 on the track is
    50 km further east and stays there. Segment #9 (x=640) -> #10 (x=50,700): 50,060 m in
    60 s = 834.33 m/s = 3003.6 km/h > 150 and > 1000 m -> one jump at #10 (09:10). #10 is
    no spike (#10 -> #11 is 60 m per min), so nothing is left out: the usable segments are
    the 18 slow ones plus the jump, which GEO-INGRID counts as lost to speed anyway."""
    t, x, acc = _walk(world, 20, step_m=60.0, every_s=60.0)
    x[10:] += 50_000.0
    f = world.fixes(t, x, np.full(20, 500.0), accuracy_m=acc)
    r = evaluate_day(worker_day(world, f), params)
    assert [fl.reason for fl in r.spoof_flags] == [FLAG_JUMP]
    fl = r.spoof_flags[0]
    assert (fl.t, fl.start, fl.end) == (t[10], t[9], t[10])
    assert fl.evidence["distance_m"] == 50060.0
    assert fl.evidence["seconds"] == 60.0
    assert fl.evidence["speed_kmh"] == round(50060.0 / 60.0 * 3.6, 1) == 3003.6
    assert r.suspect_fixes == () and r.fixes_used == 20
    # in the grid: #0..#9, 9 segments of 60 s = 540 s (the jump and the far walk are outside)
    assert r.patrols["am"].in_grid_s == 540
    _same_but_flags(r, evaluate_day(worker_day(world, f), default_params(**OFF)))


def test_jump_thresholds(world, params):
    """10 s between fixes. 999 m in 10 s (359.6 km/h) is too short, 1001 m is a jump;
    5,000 m in 10 min (30 km/h) is too slow; the same 1001 m at dt 0 (instant) is a jump
    with an unknown (None) speed."""
    def flags(dx, dt, n_after=3):
        t = T(9) + np.r_[np.arange(5) * 10.0, 40.0 + dt + np.arange(n_after) * 10.0]
        x = np.r_[100 + np.arange(5) * 10.0, 140 + dx + np.arange(n_after) * 10.0]
        f = world.fixes(t, x, np.full(t.size, 500.0), accuracy_m=4.0 + 0.1 * np.arange(t.size))
        return evaluate_day(worker_day(world, f), params).spoof_flags
    # the jump segment itself is dx long (the walk before and after steps 10 m per 10 s)
    assert flags(999.0, 10.0) == ()
    assert [f.reason for f in flags(1001.0, 10.0)] == [FLAG_JUMP]
    assert flags(5000.0, 600.0) == ()
    [fl] = flags(1001.0, 0.0)
    assert fl.evidence["speed_kmh"] is None and fl.evidence["seconds"] == 0.0


def test_jump_away_and_back_is_a_spike_an_excursion_two_jumps(world, params):
    """One fix 50 km away and straight back is a speed_spike (left out), no jump; three fixes
    away then back are one jump out (#10) and one back (#13), nothing left out."""
    t, x, acc = _walk(world, 20, step_m=60.0, every_s=60.0)
    x1 = x.copy()
    x1[10] += 50_000.0
    r = evaluate_day(worker_day(world, world.fixes(t, x1, np.full(20, 500.0), accuracy_m=acc)), params)
    assert [s.reasons for s in r.suspect_fixes] == [(SUSPECT_SPIKE,)] and r.spoof_flags == ()
    x3 = x.copy()
    x3[10:13] += 50_000.0
    r = evaluate_day(worker_day(world, world.fixes(t, x3, np.full(20, 500.0), accuracy_m=acc)), params)
    assert r.suspect_fixes == ()
    assert [(fl.reason, fl.t) for fl in r.spoof_flags] == [(FLAG_JUMP, t[10]), (FLAG_JUMP, t[13])]


# ---------------------------------------------------------------------------- JSON, scoring
def test_flags_in_the_day_entry_and_read_back(world, params):
    """The evaluate day entry lists them under ``spoof_flags`` (rule, key = time#reason,
    excludes_fixes false, evidence); ``suspect_fixes`` still counts left-out fixes only."""
    t, x, _ = _walk(world, 25)
    x[20:] += 50_000.0
    f = world.fixes(t, x, np.full(25, 500.0), accuracy_m=10.0)
    r = evaluate_day(worker_day(world, f), params)
    j = day_result_to_json(r, TZ)
    assert j["suspect_fixes"] == 0
    reasons = [fl["reasons"] for fl in j["spoof_flags"]]
    # 25 fixes at 10.0 m; the extent is the 50 km jump; the jump lands on #20 (09:10:00)
    assert reasons == [[FLAG_CONSTANT_ACCURACY], [FLAG_JUMP]]
    ca, jump = j["spoof_flags"]
    assert ca["at"] == "2026-03-02T09:00:00+08:00" and ca["end"] == "2026-03-02T09:12:00+08:00"
    assert ca["evidence"]["fixes"] == 25 and ca["evidence"]["accuracy_m"] == 10.0
    assert jump["key"] == review_key("2026-03-02T09:10:00+08:00", FLAG_JUMP) \
        == "2026-03-02T09:10:00+08:00#jump"
    assert jump["start"] == "2026-03-02T09:09:30+08:00"
    assert all(fl["rule"] == "GEO-SPOOF" and fl["excludes_fixes"] is False for fl in j["spoof_flags"])
    back = day_from_json(j).result
    assert [(b.reason, b.t, b.start, b.end) for b in back.spoof_flags] == [
        (a.reason, a.t, a.start, a.end) for a in r.spoof_flags]
    assert back.spoof_flags[1].evidence == r.spoof_flags[1].evidence


def test_only_a_confirmed_flag_is_charged(world, params):
    """Unreviewed or dismissed: no deduction. Confirmed: one YK-SAFETY suspect_confirmed
    occurrence (-0.5 in yangkou-2022) per flag, with rule id, reason and evidence."""
    prof = load_profile("yangkou-2022")
    t, x, acc = _walk(world, 20, step_m=60.0, every_s=60.0)
    x[10:] += 50_000.0
    r = evaluate_day(worker_day(world, world.fixes(t, x, np.full(20, 500.0), accuracy_m=acc)), params)
    base = day_deductions(dataclasses.replace(r, spoof_flags=()), prof)
    assert day_deductions(r, prof) == base
    dismissed = (dataclasses.replace(r.spoof_flags[0], decision="dismissed"),)
    assert day_deductions(dataclasses.replace(r, spoof_flags=dismissed), prof) == base
    confirmed = (dataclasses.replace(r.spoof_flags[0], decision="confirmed"),)
    ded = day_deductions(dataclasses.replace(r, spoof_flags=confirmed), prof)
    extra = [d for d in ded if d not in base]
    assert len(extra) == 1 and len(ded) == len(base) + 1
    d = extra[0]
    assert d.rule == "YK-SAFETY" and d.points == -0.5
    assert "09:09–09:10" in d.reason and "50.1 公里" in d.reason and "经核实" in d.reason
    assert d.evidence["reasons"] == [FLAG_JUMP] and d.evidence["decision"] == "confirmed"
    assert d.evidence["at"] == "2026-03-02T09:10:00+08:00"
    assert d.evidence["distance_m"] == 50060.0


# ---------------------------------------------------------------------------- property
_W = World()
_PROF = load_profile("yangkou-2022")
_OFF = default_params(**OFF)
_ON = default_params()


@st.composite
def spoofy_tracks(draw):
    """Walks with stretches of one accuracy value (quantised, iPhone-like or emulator) and
    jumps of 0.5-60 km that stay, plus mock fixes and identical coordinates here and there."""
    n = draw(st.integers(2, 90))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    dt = rng.choice([0.0, 5.0, 30.0, 30.0, 60.0, 400.0], n - 1)
    t = T(7) + np.concatenate([[0.0], np.cumsum(dt)])
    xy = np.cumsum(rng.normal(0, draw(st.sampled_from([3.0, 30.0, 80.0])), (n, 2)), axis=0)
    xy += rng.uniform(-200, 1200, 2)
    for k in rng.integers(1, n, draw(st.integers(0, 3))):
        xy[k:] += rng.uniform(500, 60_000) * np.array([1.0, 0.3])
    acc = rng.choice([5.0, 10.0, 65.0, 12.3], n)
    run = rng.random(n) < draw(st.sampled_from([0.0, 0.9, 1.0]))  # keep the previous value
    for i in range(1, n):
        if run[i]:
            acc[i] = acc[i - 1]
    mock = rng.random(n) < 0.03
    return _W.fixes(t, xy[:, 0], xy[:, 1], accuracy_m=acc, mock=mock)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spoofy_tracks())
def test_review_flags_never_change_time_or_deductions_before_confirmation(f):
    """Flags on or off: the same result but for the flags (in-grid time, losses, off-post,
    suspects, fixes used) and the same deductions; unreviewed or dismissed flags charge
    nothing; each confirmed flag adds exactly one suspect_confirmed occurrence."""
    wd = worker_day(_W, f)
    on, off = evaluate_day(wd, _ON), evaluate_day(wd, _OFF)
    assert dataclasses.replace(on, spoof_flags=()) == off
    base = day_deductions(off, _PROF)
    assert day_deductions(on, _PROF) == base
    dis = tuple(dataclasses.replace(fl, decision="dismissed") for fl in on.spoof_flags)
    assert day_deductions(dataclasses.replace(on, spoof_flags=dis), _PROF) == base
    conf = tuple(dataclasses.replace(fl, decision="confirmed") for fl in on.spoof_flags)
    ded = day_deductions(dataclasses.replace(on, spoof_flags=conf), _PROF)
    assert len(ded) == len(base) + len(conf)
    assert sum(d.rule == "YK-SAFETY" for d in ded) == sum(d.rule == "YK-SAFETY" for d in base) + len(conf)
    # each flag's decision key: its local time to the second and its reason
    keys = [fl["key"] for fl in day_result_to_json(on, TZ)["spoof_flags"]]
    assert keys == [review_key(_iso(fl.t), fl.reason) for fl in on.spoof_flags]


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(round(t), ZoneInfo(TZ)).isoformat()
