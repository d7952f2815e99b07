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
# A fact yields (reason, evidence); the reason is the profile's template filled in
# (:meth:`scoring.profiles.Profile.reason`: the township's wording, else scoring/words.zh-CN.yaml).


def _hhmm(t: float, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(t, tz).strftime("%H:%M")


def _min(seconds: float) -> int:
    return int(round(seconds / 60))


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


def _patrol_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for window, p in r.patrols.items():
        if p.status == "missing":
            yield (w.reason("patrol_missing", window=w.label("window", window)),
                   _patrol_evidence(window, p))


def _patrol_short(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for window, p in r.patrols.items():
        if p.status == "short":
            app = w.reason("patrol_short_app") if p.started_in_app else ""
            yield (w.reason("patrol_short", window=w.label("window", window),
                            in_grid_min=_min(p.in_grid_s), required_min=_min(p.required_s),
                            app=app), _patrol_evidence(window, p))


def _patrol_log_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    statuses = trig.statuses or DEFAULT_LOG_STATUSES
    for window, p in r.patrols.items():
        if p.status in statuses and not p.started_in_app:
            yield (w.reason("patrol_log_missing", window=w.label("window", window)),
                   _patrol_evidence(window, p))


def _signin_evidence(r: DayResult, tz: ZoneInfo) -> dict[str, Any]:
    s = r.signin
    return {
        "status": s.status,
        "at": None if s.at is None else local_iso(s.at, tz),
        "distance_m": None if s.distance_m is None else round(s.distance_m, 1),
    }


def _signin_missing(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    if r.signin.status == "missing":
        yield w.reason("signin_missing"), _signin_evidence(r, tz)


def _signin_outside(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    if r.signin.status == "outside":
        dist = r.signin.distance_m
        where = (w.reason("signin_outside_where", distance_m=f"{dist:.0f}")
                 if dist is not None else "")
        yield w.reason("signin_outside", where=where), _signin_evidence(r, tz)


def _signin_late(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    if r.signin.status == "late":
        at = (w.reason("signin_late_at", hhmm=_hhmm(r.signin.at, tz))
              if r.signin.at is not None else "")
        yield w.reason("signin_late", at=at), _signin_evidence(r, tz)


def _interval_evidence(start: float, end: float, tz: ZoneInfo) -> dict[str, Any]:
    return {"start": local_iso(start, tz), "end": local_iso(end, tz), "duration_s": int(round(end - start))}


def _span(start: float, end: float, tz: ZoneInfo) -> dict[str, Any]:
    return {"start": _hhmm(start, tz), "end": _hhmm(end, tz), "minutes": _min(end - start)}


def _reviewed(decision: str | None, w: Profile) -> str:
    return w.reason("reviewed_confirmed") if decision == "confirmed" else ""


def _decision(decision: str | None) -> dict[str, Any]:
    return {"decision": decision} if decision else {}


def _offpost(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for o in r.offpost:
        if o.kind == "offpost" and o.decision != "dismissed":
            ev = _interval_evidence(o.start, o.end, tz) | _decision(o.decision)
            yield (w.reason("offpost", **_span(o.start, o.end, tz),
                            reviewed=_reviewed(o.decision, w)), ev)


def _crosspost(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for o in r.offpost:
        if o.kind == "crosspost" and o.decision != "dismissed":
            ev = (_interval_evidence(o.start, o.end, tz) | {"other_grid_id": o.other_grid_id}
                  | _decision(o.decision))
            yield (w.reason("crosspost", other_grid_id=o.other_grid_id,
                            **_span(o.start, o.end, tz), reviewed=_reviewed(o.decision, w)), ev)


def _suspect_confirmed(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for s in r.suspect_fixes:
        if s.decision == "confirmed":
            ev = {"at": local_iso(s.t, tz), "lon": s.lon, "lat": s.lat, "reasons": list(s.reasons),
                  "decision": s.decision}
            yield (w.reason("suspect_fix_confirmed", hhmm=_hhmm(s.t, tz),
                            reasons="、".join(w.label("spoof", x) for x in s.reasons)), ev)
    for f in r.spoof_flags:
        if f.decision == "confirmed":
            ev = {"at": local_iso(f.t, tz), "lon": f.lon, "lat": f.lat, "reasons": [f.reason],
                  "start": local_iso(f.start, tz), "end": local_iso(f.end, tz),
                  **dict(f.evidence), "decision": f.decision}
            span = _span(f.start, f.end, tz)
            yield (w.reason("spoof_flag_confirmed", start=span["start"], end=span["end"],
                            reason=w.label("spoof", f.reason), figures=_flag_figures(f, w)), ev)


def _flag_figures(f: SpoofFlag, w: Profile) -> str:
    e = f.evidence
    if f.reason == FLAG_JUMP:
        speed = (w.reason("jump_instant") if e.get("speed_kmh") is None
                 else w.reason("jump_speed", kmh=f"{e['speed_kmh']:g}"))
        return w.reason("jump_figures", km=f"{float(e['distance_m']) / 1000:.1f}", speed=speed)
    return w.reason("constant_accuracy_figures", fixes=e.get("fixes"),
                    accuracy_m=f"{e.get('accuracy_m'):g}", extent_m=f"{e.get('extent_m'):g}")


def _phone_off(r: DayResult, trig: DayTrigger, tz: ZoneInfo, w: Profile) -> Fact:
    for p in r.phone_off:
        ev = _interval_evidence(p.start, p.end, tz) | {"cause": p.cause}
        yield w.reason("phone_off", **_span(p.start, p.end, tz),
                       cause=w.label("cause", p.cause)), ev


FACTS: dict[str, Callable[[DayResult, DayTrigger, ZoneInfo, Profile], Fact]] = {
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
            for reason, evidence in FACTS[trig.fact](result, trig, tz, profile):
                out.append(Deduction(rule=rule.id, points=trig.points, reason=reason, evidence=evidence))
    return out
