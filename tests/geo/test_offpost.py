"""GEO-OFFPOST and GEO-CROSSPOST hand-computed cases (with GEO-DUTY allowed zones)."""

from __future__ import annotations

import numpy as np

from geo.engine import evaluate_day
from geo.types import Exemption, GridIndex, Place
from tests.geo.conftest import T, World, worker_day


def excursion(world: World):
    """Inside until 09:00, out west to x=-1000 and back, inside again until 12:00.

    09:00 at (500, 500), walk west 1 m/s: crosses the buffered boundary x=-20 at 09:08:40
    (520 s), reaches x=-1000 at 09:25:00, waits there until 10:00, walks back east and
    crosses x=-20 at 10:16:20 (980 s after 10:00). Fixes every 30 s (plus 09:08:40-ish
    crossings interpolated).
    """
    t1 = T(8) + np.arange(0, 3600, 30.0)
    x1 = np.full(t1.size, 500.0)
    t2 = T(9) + np.arange(0, 1500 + 1, 30.0)
    x2 = 500 - (t2 - T(9))
    t3 = np.arange(T(9, 25) + 30, T(10), 30.0)
    x3 = np.full(t3.size, -1000.0)
    t4 = T(10) + np.arange(0, 1500 + 1, 30.0)
    x4 = -1000 + (t4 - T(10))
    t5 = np.arange(T(10, 25) + 30, T(12), 30.0)
    x5 = np.full(t5.size, 500.0)
    t = np.concatenate([t1, t2, t3, t4, t5])
    x = np.concatenate([x1, x2, x3, x4, x5])
    return world.fixes(t, x, np.full(t.size, 500.0))


def test_geo_offpost_one_interval_interpolated(world, params):
    """GEO-OFFPOST: outside 09:08:40 -> 10:16:20 (4060 s >= 1800 s), one occurrence."""
    r = evaluate_day(worker_day(world, excursion(world)), params)
    assert len(r.offpost) == 1
    o = r.offpost[0]
    assert o.kind == "offpost" and o.other_grid_id is None
    assert abs(o.start - T(9, 8, 40)) < 0.01
    assert abs(o.end - T(10, 16, 20)) < 0.01


def test_geo_offpost_office_is_allowed(world, params):
    """GEO-OFFPOST: the village office (radius 150 m) at (-1000, 500) is an allowed zone.

    Outside pieces become 09:08:40-09:22:30 and 10:02:30-10:16:20 (830 s each < 1800 s):
    no occurrence.
    """
    lon, lat = world.lonlat(-1000.0, 500.0)
    office = Place(float(lon), float(lat), 150.0)
    r = evaluate_day(worker_day(world, excursion(world), office=office), params)
    assert r.offpost == ()


def test_geo_offpost_field_duty_place_only_during_exemption(world, params):
    """GEO-DUTY/GEO-OFFPOST: an approved field-duty place is allowed only in its interval.

    Place at (-1000, 500) radius 200 m, approved 09:00-09:30: the worker is inside it from
    09:21:40 (x=-800); from 09:30 on the place no longer helps. Off post: 09:08:40-09:21:40
    (780 s, too short) and 09:30:00-10:16:20 (2780 s): one occurrence from 09:30.
    """
    lon, lat = world.lonlat(-1000.0, 500.0)
    ex = Exemption(start=T(9), end=T(9, 30), kind="field_duty", place=Place(float(lon), float(lat), 200.0))
    r = evaluate_day(worker_day(world, excursion(world), exemptions=(ex,)), params)
    assert len(r.offpost) == 1
    assert abs(r.offpost[0].start - T(9, 30)) < 0.01
    assert abs(r.offpost[0].end - T(10, 16, 20)) < 0.01
    assert r.duty_s == 8 * 3600  # field duty with a place keeps the duty


def test_geo_offpost_short_excursion_not_reported(world, params):
    """GEO-OFFPOST: outside for 20 min (< 30 min) is not an occurrence."""
    t = T(9) + np.arange(0, 2400 + 1, 30.0)
    rel = t - T(9)
    # inside at x=500 until 600 s, then at x=-500 for 1200 s (outside), then back inside
    x = np.where((rel >= 600) & (rel < 1800), -500.0, 500.0)
    # jumps of 1000 m in 30 s are only fast segments: off-post is judged on position
    r = evaluate_day(worker_day(world, world.fixes(t, x, np.full(t.size, 500.0))), params)
    assert r.offpost == ()


def test_geo_crosspost_majority_in_other_grid(world, params):
    """GEO-CROSSPOST: the off-post interval lies mostly in g02 = [-1500, -100] x [0, 1000].

    In g02 from x=-100 (09:10:00) to x=-100 again (10:15:00): 3900 s of 4060 s > half:
    kind crosspost, other_grid_id g02 (the worker's own grid g01 is never "other").
    """
    own = world.square()
    other = world.poly([(-1500, 0), (-100, 0), (-100, 1000), (-1500, 1000)])
    idx = GridIndex(grid_ids=("g01", "g02"), geoms=(own, other))
    r = evaluate_day(worker_day(world, excursion(world), grid=own), params, idx)
    assert len(r.offpost) == 1
    assert r.offpost[0].kind == "crosspost" and r.offpost[0].other_grid_id == "g02"


def test_geo_crosspost_minority_stays_offpost(world, params):
    """GEO-CROSSPOST: another grid x in [-700, -600], crossed twice: 200 s of 4060 s: offpost."""
    own = world.square()
    other = world.poly([(-700, 0), (-600, 0), (-600, 1000), (-700, 1000)])
    idx = GridIndex(grid_ids=("g01", "g03"), geoms=(own, other))
    r = evaluate_day(worker_day(world, excursion(world), grid=own), params, idx)
    assert len(r.offpost) == 1 and r.offpost[0].kind == "offpost"


def test_geo_offpost_not_on_duty(world, params):
    """GEO-DUTY: the same excursion on a holiday (2026-02-17) is no occurrence at all."""
    import datetime as dt

    from tests.geo.conftest import T as TT

    d = dt.date(2026, 2, 17)
    f = excursion(world)
    shift = TT(0, date=d) - TT(0)
    f = type(f)(**{**f.__dict__, "t": f.t + shift})
    r = evaluate_day(worker_day(world, f, date=d), params)
    assert r.working_day is False and r.offpost == () and r.duty_s == 0


def test_geo_offpost_json_times_whole_seconds_with_offset(world, params):
    """GEO-OFFPOST JSON: interpolated times shown to the second with the +08:00 offset."""
    from geo.engine import day_result_to_json

    r = evaluate_day(worker_day(world, excursion(world)), params)
    j = day_result_to_json(r, params.timezone)
    assert j["offpost"] == [{
        "rule": "GEO-OFFPOST", "kind": "offpost", "start": "2026-03-02T09:08:40+08:00",
        "end": "2026-03-02T10:16:20+08:00", "duration_s": 4060, "other_grid_id": None,
    }]
