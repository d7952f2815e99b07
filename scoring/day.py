"""Day-level deductions: one engine ``DayResult`` + a rule profile -> deductions with evidence.

Which deductions exist is data: each rule of the profile lists day *facts* (``fact``) with the
points per occurrence and optionally the roles it applies to. This module only knows how to
find each fact in a day result (``FACTS``); it never branches on a profile's name.

Facts (one occurrence each):

- ``patrol_missing`` / ``patrol_short``: a patrol window whose status is ``missing`` /
  ``short`` (YK-PATROL; exempt, not_required and ok windows never count).
- ``patrol_log_missing``: a window whose status is one of ``statuses`` (default ok, short,
  missing: every patrol that was due) with no patrol session started in the app in that
  window (YK-LOG for heads and full-time workers: "each patrol recorded in the system").
- ``signin_missing`` / ``signin_outside`` / ``signin_late``: the day's sign-in status
  (YK-LOG for part-time workers; GEO-SIGNIN / YK-SIGNIN-PLACE decide the status).
- ``offpost`` / ``crosspost`` / ``phone_off``: each interval the engine reported
  (GEO-OFFPOST, GEO-CROSSPOST, GEO-PHONEOFF; QS-POS). An off-post or cross-post interval an
  office *dismissed* on review is not an occurrence; a confirmed one is, as is an unreviewed one.
- ``suspect_confirmed``: a GEO-SPOOF suspect fix, or a GEO-SPOOF review flag (a
  ``constant_accuracy`` run, a ``jump``: one occurrence each), an office *confirmed* as
  false location (乱定位, YK-SAFETY). Unreviewed or dismissed ones are never charged
  (RULES.md GEO-SPOOF).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from geo.engine import local_iso
from geo.types import FLAG_JUMP, DayResult, SpoofFlag
from scoring.profiles import DayTrigger, Profile

WINDOW_LABELS = {"am": "morning", "pm": "afternoon"}
DEFAULT_LOG_STATUSES = ("ok", "short", "missing")


@dataclass(frozen=True)
class Deduction:
    """Points taken (negative) or given under a rule id, with the reason and its evidence."""

    rule: str
    points: float
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The FORMATS.md ``deductions`` entry."""
        return {
            "rule": self.rule,
            "points": self.points,
            "reason": self.reason,
            "evidence": dict(self.evidence),
        }


Fact = Iterator[tuple[str, dict[str, Any]]]


def _label(window: str) -> str:
    return WINDOW_LABELS.get(window, window)


def _hhmm(t: float, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%H:%M")


def _patrol_evidence(window: str, p: Any) -> dict[str, Any]:
    return {
        "window": window,
        "status": p.status,
        "in_grid_s": p.in_grid_s,
        "required_s": p.required_s,
        "tolerance_s": p.tolerance_s,
        "lost_s": dict(p.lost_s),
        "stationary": p.stationary,
        "started_in_app": p.started_in_app,
    }


def _patrol_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for window, p in r.patrols.items():
        if p.status == "missing":
            yield f"{_label(window)} patrol missing", _patrol_evidence(window, p)


def _patrol_short(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for window, p in r.patrols.items():
        if p.status == "short":
            app = ", started in the app" if p.started_in_app else ""
            yield (
                f"{_label(window)} patrol short: {p.in_grid_s} s in grid of {p.required_s} s required{app}",
                _patrol_evidence(window, p),
            )


def _patrol_log_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    statuses = trig.statuses or DEFAULT_LOG_STATUSES
    for window, p in r.patrols.items():
        if p.status in statuses and not p.started_in_app:
            yield (
                f"{_label(window)} patrol not recorded in the app (no patrol session in the window)",
                _patrol_evidence(window, p),
            )


def _signin_evidence(r: DayResult, tz: ZoneInfo) -> dict[str, Any]:
    s = r.signin
    return {
        "status": s.status,
        "at": None if s.at is None else local_iso(s.at, tz),
        "distance_m": None if s.distance_m is None else round(s.distance_m, 1),
    }


def _signin_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    if r.signin.status == "missing":
        yield "no sign-in at the village office", _signin_evidence(r, tz)


def _signin_outside(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    if r.signin.status == "outside":
        dist = r.signin.distance_m
        where = f" ({dist:.0f} m from the office)" if dist is not None else ""
        yield f"sign-in outside the village office geofence{where}", _signin_evidence(r, tz)


def _signin_late(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    if r.signin.status == "late":
        at = f" at {_hhmm(r.signin.at, tz)}" if r.signin.at is not None else ""
        yield f"sign-in late{at}", _signin_evidence(r, tz)


def _interval_evidence(start: float, end: float, tz: ZoneInfo) -> dict[str, Any]:
    return {"start": local_iso(start, tz), "end": local_iso(end, tz), "duration_s": int(round(end - start))}


def _span(start: float, end: float, tz: ZoneInfo) -> str:
    return f"{_hhmm(start, tz)}-{_hhmm(end, tz)} ({int(round((end - start) / 60))} min)"


def _reviewed(decision: str | None) -> str:
    return ", confirmed by the office" if decision == "confirmed" else ""


def _decision(decision: str | None) -> dict[str, Any]:
    return {"decision": decision} if decision else {}


def _offpost(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for o in r.offpost:
        if o.kind == "offpost" and o.decision != "dismissed":
            ev = _interval_evidence(o.start, o.end, tz) | _decision(o.decision)
            yield f"off post {_span(o.start, o.end, tz)}{_reviewed(o.decision)}", ev


def _crosspost(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for o in r.offpost:
        if o.kind == "crosspost" and o.decision != "dismissed":
            ev = (_interval_evidence(o.start, o.end, tz) | {"other_grid_id": o.other_grid_id}
                  | _decision(o.decision))
            yield (f"in another grid ({o.other_grid_id}) {_span(o.start, o.end, tz)}"
                   f"{_reviewed(o.decision)}", ev)


def _suspect_confirmed(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for s in r.suspect_fixes:
        if s.decision == "confirmed":
            ev = {"at": local_iso(s.t, tz), "lon": s.lon, "lat": s.lat, "reasons": list(s.reasons),
                  "decision": s.decision}
            yield (f"false location (乱定位) at {_hhmm(s.t, tz)} confirmed by the office "
                   f"({', '.join(s.reasons)})", ev)
    for f in r.spoof_flags:
        if f.decision == "confirmed":
            ev = {"at": local_iso(f.t, tz), "lon": f.lon, "lat": f.lat, "reasons": [f.reason],
                  "start": local_iso(f.start, tz), "end": local_iso(f.end, tz),
                  **dict(f.evidence), "decision": f.decision}
            yield (f"false location (乱定位) {_span(f.start, f.end, tz)} confirmed by the office "
                   f"({f.reason}: {_flag_figures(f)})", ev)


def _flag_figures(f: SpoofFlag) -> str:
    e = f.evidence
    if f.reason == FLAG_JUMP:
        speed = "instantly" if e.get("speed_kmh") is None else f"{e['speed_kmh']:g} km/h"
        return f"{float(e['distance_m']) / 1000:.1f} km, {speed}"
    return f"{e.get('fixes')} fixes at {e.get('accuracy_m'):g} m over {e.get('extent_m'):g} m"


def _phone_off(r: DayResult, trig: DayTrigger, tz: ZoneInfo) -> Fact:
    for p in r.phone_off:
        ev = _interval_evidence(p.start, p.end, tz) | {"cause": p.cause}
        yield f"phone silent on duty {_span(p.start, p.end, tz)}, likely {p.cause}", ev


FACTS: dict[str, Callable[[DayResult, DayTrigger, ZoneInfo], Fact]] = {
    "patrol_missing": _patrol_missing,
    "patrol_short": _patrol_short,
    "patrol_log_missing": _patrol_log_missing,
    "signin_missing": _signin_missing,
    "signin_outside": _signin_outside,
    "signin_late": _signin_late,
    "offpost": _offpost,
    "crosspost": _crosspost,
    "phone_off": _phone_off,
    "suspect_confirmed": _suspect_confirmed,
}


def day_deductions(result: DayResult, profile: Profile) -> list[Deduction]:
    """The deductions of one worker-day under ``profile``, in profile rule order."""
    tz = ZoneInfo(profile.timezone)
    out: list[Deduction] = []
    for rule in profile.day_rules():
        for trig in rule.day:
            if trig.roles is not None and result.role not in trig.roles:
                continue
            for reason, evidence in FACTS[trig.fact](result, trig, tz):
                out.append(Deduction(rule=rule.id, points=trig.points, reason=reason, evidence=evidence))
    return out
