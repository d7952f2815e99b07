"""GEO-PHONEOFF (with its cause table) and NB-ONLINE hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from geo.engine import evaluate_day
from geo.phoneoff import cause_of
from geo.types import Interval
from tests.geo.conftest import T, worker_day


def day_track(world, silent_from, silent_to, **state):
    """Fixes every 60 s over the duty day 08:00-12:00, 14:00-18:00, silent in a window."""
    t = np.concatenate([np.arange(T(8), T(12) + 1, 60.0), np.arange(T(14), T(18) + 1, 60.0)])
    t = t[(t <= silent_from) | (t >= silent_to)]
    n = t.size
    extra = {k: np.asarray(v(t) if callable(v) else v) for k, v in state.items()}
    return world.fixes(t, np.full(n, 500.0) + (np.arange(n) % 2) * 60, np.full(n, 500.0), **extra)


def test_geo_phoneoff_one_hour_silence_gps_off(world, params):
    """GEO-PHONEOFF: no item 09:00 -> 10:00 on duty: 3600 s >= 1800 s, one interval.

    The last fix before (09:00) reports gps_on = 0 -> cause gps_off (table row 1).
    """
    gps = lambda t: np.where(t == T(9), 0.0, 1.0)  # noqa: E731
    r = evaluate_day(worker_day(world, day_track(world, T(9), T(10), gps_on=gps)), params)
    assert len(r.phone_off) == 1
    p = r.phone_off[0]
    assert (p.start, p.end, p.cause) == (T(9), T(10), "gps_off")


def test_geo_phoneoff_server_down_excluded(world, params):
    """GEO-PHONEOFF: server outage 09:20-09:40 splits the silence into two 20 min pieces
    (each < 30 min): nothing reported. Outage 09:50-10:00 leaves 09:00-09:50 (50 min).
    """
    f = day_track(world, T(9), T(10))
    r = evaluate_day(worker_day(world, f, server_down=(Interval(T(9, 20), T(9, 40)),)), params)
    assert r.phone_off == ()
    r = evaluate_day(worker_day(world, f, server_down=(Interval(T(9, 50), T(10)),)), params)
    assert [(p.start, p.end) for p in r.phone_off] == [(T(9), T(9, 50))]


def test_geo_phoneoff_lunch_split_and_late_upload(world, params):
    """GEO-PHONEOFF: silence 11:50 -> 14:20 is on duty 10 min + 20 min: not reported.

    Judged on device time: it does not matter when the fixes were received.
    """
    f = day_track(world, T(11, 50), T(14, 20), received_at=lambda t: t + 3 * 3600.0)
    p2 = params.__class__(**{**params.__dict__, "max_future_s": 1e9})
    assert evaluate_day(worker_day(world, f), p2).phone_off == ()


def test_geo_phoneoff_no_items_whole_duty(world, params):
    """GEO-PHONEOFF: a working day with no item at all: both duty periods, cause unknown."""
    r = evaluate_day(worker_day(world), params)
    assert [(p.start, p.end, p.cause) for p in r.phone_off] == [
        (T(8), T(12), "unknown"), (T(14), T(18), "unknown")
    ]


@pytest.mark.parametrize(
    ("before", "after", "cause"),
    [
        ({"gps_on": 0.0, "app_state": "stopped"}, None, "gps_off"),  # row 1 wins over row 2
        ({"gps_on": 1.0, "app_state": "background_killed"}, None, "app_stopped"),  # row 2
        ({"app_state": "terminated"}, None, "app_stopped"),
        ({"network": "none"}, None, "no_network"),  # row 3
        ({"battery_pct": 3.0, "network": "wifi"}, None, "phone_off"),  # row 4
        ({"battery_pct": 80.0}, {"app_state": "boot"}, "phone_off"),  # row 5 (reboot)
        ({"app_state": "background", "battery_pct": 3.0}, None, "phone_off"),  # row 4 first
        ({"app_state": "background"}, {"app_state": "boot"}, "phone_off"),  # row 5 first
        ({"app_state": "background", "battery_pct": 60.0}, None, "app_background"),  # row 6
        ({"battery_pct": 80.0, "gps_on": 1.0}, {"app_state": "foreground"}, "unknown"),
        (None, None, "unknown"),  # row 7
    ],
)
def test_geo_phoneoff_cause_table(before, after, cause):
    """GEO-PHONEOFF: the documented cause decision table, row by row."""
    assert cause_of(before, after, 5.0) == cause


def test_geo_phoneoff_cause_from_heartbeat_app_state(world, params):
    """GEO-PHONEOFF: the item before the silence is a heartbeat saying the app was killed."""
    f = day_track(world, T(9), T(10))
    n = len(f)
    app = np.array(["foreground"] * n, dtype=object)
    hb_i = int(np.flatnonzero(f.t == T(9))[0])
    app[hb_i] = "background_killed"
    hbm = f.is_heartbeat.copy()
    hbm[hb_i] = True
    lon, lat = f.lon.copy(), f.lat.copy()
    lon[hb_i] = lat[hb_i] = np.nan
    g = type(f)(**{**f.__dict__, "is_heartbeat": hbm, "lon": lon, "lat": lat, "app_state": app})
    r = evaluate_day(worker_day(world, g), params)
    assert [p.cause for p in r.phone_off] == ["app_stopped"]


def test_geo_phoneoff_cause_of_a_hidden_web_app(world, params):
    """GEO-PHONEOFF: the worker web app's page was hidden (heartbeat ``background``) and no fix
    came until it was shown again: the silence is the hidden app, not a phone switched off."""
    f = day_track(world, T(9), T(10))
    n = len(f)
    app = np.array([None] * n, dtype=object)
    hb_i = int(np.flatnonzero(f.t == T(9))[0])
    app[hb_i] = "background"
    hbm = f.is_heartbeat.copy()
    hbm[hb_i] = True
    lon, lat = f.lon.copy(), f.lat.copy()
    lon[hb_i] = lat[hb_i] = np.nan
    g = type(f)(**{**f.__dict__, "is_heartbeat": hbm, "lon": lon, "lat": lat, "app_state": app})
    r = evaluate_day(worker_day(world, g), params)
    assert [p.cause for p in r.phone_off] == ["app_background"]


def test_nb_online_rate(world, params):
    """NB-ONLINE: heartbeats every 60 s from 08:00 to 09:59 only.

    Online = [08:00, 09:59 + 300 s = 10:04) = 7440 s of 28800 duty seconds = 0.258333.
    """
    t = np.arange(T(8), T(10), 60.0)
    n = t.size
    f = world.fixes(t, np.zeros(n), np.zeros(n), heartbeat=np.ones(n, bool))
    r = evaluate_day(worker_day(world, f), params)
    assert r.duty_s == 28800
    assert r.online_rate == pytest.approx(7440 / 28800)
    assert r.fixes_used == 0 and r.rejected == {}  # heartbeats are not positions


def test_nb_online_none_without_duty(world, params):
    """NB-ONLINE: no duty (a holiday) -> online_rate None."""
    import datetime as dt

    r = evaluate_day(worker_day(world, date=dt.date(2026, 2, 17)), params)
    assert r.online_rate is None and r.duty_s == 0


def test_geo_phoneoff_web_app_visible_hidden_visible(world, params):
    """GEO-PHONEOFF on the worker web app's own rhythm (docs/worker-app.md): a heartbeat
    ``foreground`` when the page is shown, ``background`` when it is hidden, fixes only
    while visible.

    * 09:00 hidden -> 09:40 shown: 40 min on duty with no item: one interval, cause
      ``app_background`` (the hidden page, not a phone switched off), still a GEO-PHONEOFF
      occurrence (no fix and no heartbeat >= 30 min; only server outages are excused);
    * 10:30 hidden -> 10:50 shown: 20 min < 30 min: nothing;
    * 15:00 hidden -> 15:45 shown, the hidden tab still sending a ``background`` heartbeat
      every minute (a desktop browser's throttled timer): the phone answered, nothing.
    """
    ev: list[tuple[float, bool, str | None]] = []  # (time, heartbeat, app_state)

    def visible(t0: float, t1: float, step: float = 30.0) -> None:
        ev.append((t0, True, "foreground"))
        ev.extend((t, False, None) for t in np.arange(t0 + 10, t1, step))

    visible(T(8), T(9))
    ev.append((T(9), True, "background"))
    visible(T(9, 40), T(10, 30))
    ev.append((T(10, 30), True, "background"))
    visible(T(10, 50), T(12, 0, 1))
    visible(T(14), T(15))
    ev.extend((t, True, "background") for t in np.arange(T(15), T(15, 45), 60.0))
    visible(T(15, 45), T(18, 0, 1))
    ev.sort(key=lambda e: e[0])
    t = np.array([e[0] for e in ev])
    hb = np.array([e[1] for e in ev])
    app = np.array([e[2] for e in ev], dtype=object)
    n = t.size
    f = world.fixes(t, np.full(n, 500.0) + (np.arange(n) % 2) * 20, np.full(n, 500.0),
                    heartbeat=hb, app_state=app)
    r = evaluate_day(worker_day(world, f), params)
    assert [(p.start, p.end, p.cause) for p in r.phone_off] == [(T(9), T(9, 40), "app_background")]
