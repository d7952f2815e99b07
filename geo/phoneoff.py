"""GEO-PHONEOFF: on duty, no fix (valid or not) and no heartbeat for >= phoneoff_min_s.

Judged on device time of whatever eventually arrived (late uploads count). A silence is
the open interval between two consecutive items of a worker (before the first item and
after the last one it is unbounded). Its on-duty parts (GEO-DUTY) minus the intervals when
the server itself was not receiving (``server_down``) are kept if each remaining piece
lasts at least ``phoneoff_min_s``; pieces split by the lunch break or an outage are judged
separately and a piece shorter than the minimum is not reported.

Cause, from the item just before the silence (B) and the first item after it (A), the
first matching row wins:

==== =============================================================== ===============
row  condition                                                        cause
==== =============================================================== ===============
1    B.gps_on == 0                                                    ``gps_off``
2    B.app_state in {background_killed, stopped, terminated}          ``app_stopped``
3    B.network == "none"                                              ``no_network``
4    B.battery_pct <= ``phoneoff_low_battery_pct``                    ``phone_off``
5    A.app_state in {boot, reboot, rebooted, device_boot}             ``phone_off``
6    B.app_state == background                                        ``app_background``
7    anything else (no B, no state, or a healthy state)               ``unknown``
==== =============================================================== ===============
"""

from __future__ import annotations

import numpy as np

from geo.duty import duty_table
from geo.intervals import subtract_list
from geo.types import PhoneOff

RULE_ID = "GEO-PHONEOFF"
APP_STOPPED_STATES = frozenset({"background_killed", "stopped", "terminated"})
REBOOT_STATES = frozenset({"boot", "reboot", "rebooted", "device_boot"})
BACKGROUND_STATES = frozenset({"background"})
# every cause of the table above (the word catalogue has a label for each)
CAUSES = ("gps_off", "app_stopped", "no_network", "phone_off", "app_background", "unknown")


def silence_candidates(
    t: np.ndarray, w: np.ndarray, n: int, min_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Silences of at least ``min_s``: (worker, start, end, item before, item after).

    ``t`` sorted by (w, t); -1 means no item before / after (unbounded side).
    """
    starts = np.searchsorted(w, np.arange(n), side="left")
    ends = np.searchsorted(w, np.arange(n), side="right")
    same = w[1:] == w[:-1]
    gap = (t[1:] - t[:-1] >= min_s) & same
    i = np.flatnonzero(gap)
    has = ends > starts
    ws = np.arange(n)
    cw = np.concatenate([w[i], ws[has], ws[has], ws[~has]])
    ca = np.concatenate([t[i], np.full(int(has.sum()), -np.inf), t[ends[has] - 1], np.full(int((~has).sum()), -np.inf)])
    cb = np.concatenate([t[i + 1], t[starts[has]], np.full(int(has.sum()), np.inf), np.full(int((~has).sum()), np.inf)])
    bef = np.concatenate([i, np.full(int(has.sum()), -1), ends[has] - 1, np.full(int((~has).sum()), -1)])
    aft = np.concatenate([i + 1, starts[has], np.full(int(has.sum()), -1), np.full(int((~has).sum()), -1)])
    return cw, ca, cb, bef, aft


def cause_of(before: dict | None, after: dict | None, low_battery_pct: float) -> str:
    """GEO-PHONEOFF cause from the state of the item before and after (decision table)."""
    if before:
        g = before.get("gps_on")
        if g is not None and g == g and g == 0:
            return "gps_off"
        if before.get("app_state") in APP_STOPPED_STATES:
            return "app_stopped"
        if before.get("network") == "none":
            return "no_network"
        bat = before.get("battery_pct")
        if bat is not None and bat == bat and bat <= low_battery_pct:
            return "phone_off"
    if after and after.get("app_state") in REBOOT_STATES:
        return "phone_off"
    if before and before.get("app_state") in BACKGROUND_STATES:
        # the app said it went to the background (the worker web app: its page was hidden,
        # and a browser delivers no fixes to a hidden page): not a phone switched off
        return "app_background"
    return "unknown"


def phone_off_intervals(
    *,
    n: int,
    t: np.ndarray,
    w: np.ndarray,
    state,
    duty: list[list[tuple[float, float]]],
    server_down: list[tuple],
    min_s: float,
    low_battery_pct: float,
) -> list[list[PhoneOff]]:
    """GEO-PHONEOFF intervals per worker.

    Parameters
    ----------
    t, w : device times (POSIX s) of every item (fix or heartbeat), sorted by (w, t).
    state : callable item index -> dict of gps_on/app_state/network/battery_pct or None.
    duty : per worker on-duty intervals; server_down : per worker outage intervals.
    """
    out: list[list[PhoneOff]] = [[] for _ in range(n)]
    cw, ca, cb, bef, aft = silence_candidates(t, w, n, min_s)
    cand = np.flatnonzero(cw >= 0)
    if cand.size:  # only silences overlapping a duty interval by min_s can count (a
        # necessary test: the (0, 0) padding overlaps nothing by more than 0)
        dm0, dm1 = duty_table(duty)
        cwk = cw[cand]
        over = np.minimum(cb[cand, None], dm1[cwk]) - np.maximum(ca[cand, None], dm0[cwk])
        cand = cand[(over >= min_s).any(axis=1)]
    for k in cand.tolist():
        wk = int(cw[k])
        a, b = float(ca[k]), float(cb[k])
        pieces = []
        for d0, d1 in duty[wk]:
            lo, hi = max(a, d0), min(b, d1)
            if hi - lo >= min_s:
                down = [(i.start, i.end) for i in server_down[wk]]
                pieces.extend(p for p in subtract_list(lo, hi, down) if p[1] - p[0] >= min_s)
        if not pieces:
            continue
        cause = cause_of(
            state(int(bef[k])) if bef[k] >= 0 else None,
            state(int(aft[k])) if aft[k] >= 0 else None,
            low_battery_pct,
        )
        out[wk].extend(PhoneOff(start=p0, end=p1, cause=cause) for p0, p1 in pieces)
    for lst in out:
        lst.sort(key=lambda p: p.start)
    return out
