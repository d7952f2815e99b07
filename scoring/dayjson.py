"""Read the ``evaluate`` output (FORMATS.md JSON) back into engine ``DayResult`` objects.

So that ``score`` can recompute day deductions under any profile (what-if) from the saved
days, without the positions. Times carry their UTC offset and become epoch seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from geo.types import (
    CaseRecord,
    CaseVerdict,
    DayResult,
    OffPost,
    PatrolResult,
    PhoneOff,
    ReportCount,
    SigninResult,
    SpoofFlag,
    SuspectFix,
)


class DayJsonError(ValueError):
    """A day entry that cannot be read: names the file, the entry index and the field."""

    def __init__(self, file: str, index: int | None, field: str | None, message: str):
        self.file, self.index, self.field, self.message = file, index, field, message
        where = [file] + ([f"days[{index}]"] if index is not None else []) + ([f"field '{field}'"] if field else [])
        super().__init__(", ".join(where) + ": " + message)


@dataclass(frozen=True)
class ScoredDay:
    """A worker-day to score: the engine result plus the worker's village/office (or None)."""

    result: DayResult
    village_id: str | None = None
    # case records of the day (NB-ARRIVE, YK-CASE-SLA) and its report counts (NB-VOLUME);
    # reports None: the day was evaluated without case records
    cases: tuple[CaseVerdict, ...] = ()
    reports: ReportCount | None = None
    grid_count: int | None = None  # the district's grids (NB-VOLUME's denominator), if known


def _ts(text: str | None, file: str, i: int, field: str) -> float | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise DayJsonError(file, i, field, f"not an ISO 8601 time: {text!r}") from None
    if t.tzinfo is None:
        raise DayJsonError(file, i, field, f"time without a UTC offset: {text!r}")
    return t.timestamp()


def day_from_json(entry: Mapping[str, Any], file: str = "<days>", index: int = 0) -> ScoredDay:
    """One ``days`` entry of the evaluate JSON -> :class:`ScoredDay`."""
    try:
        patrols = {
            name: PatrolResult(
                window=name, status=p["status"], in_grid_s=int(p.get("in_grid_s", 0)),
                required_s=int(p.get("required_s", 0)), tolerance_s=int(p.get("tolerance_s", 0)),
                lost_s=dict(p.get("lost_s", {})), stationary=bool(p.get("stationary", False)),
                started_in_app=bool(p.get("started_in_app", False)), exemption=p.get("exemption"),
            )
            for name, p in entry.get("patrols", {}).items()
        }
        s = entry.get("signin") or {"status": "not_required"}
        signin = SigninResult(status=s["status"], at=_ts(s.get("at"), file, index, "signin.at"),
                              distance_m=s.get("distance_m"))
        offpost = tuple(
            OffPost(kind=o["kind"], start=_ts(o["start"], file, index, "offpost.start") or 0.0,
                    end=_ts(o["end"], file, index, "offpost.end") or 0.0, other_grid_id=o.get("other_grid_id"),
                    decision=o.get("decision"))
            for o in entry.get("offpost", [])
        )
        phone_off = tuple(
            PhoneOff(start=_ts(p["start"], file, index, "phone_off.start") or 0.0,
                     end=_ts(p["end"], file, index, "phone_off.end") or 0.0, cause=p.get("cause", "unknown"))
            for p in entry.get("phone_off", [])
        )
        suspects = tuple(
            SuspectFix(t=_ts(x["at"], file, index, "suspect_fix_details.at") or 0.0, lon=x["lon"], lat=x["lat"],
                       reasons=tuple(x.get("reasons", ())), decision=x.get("decision"))
            for x in entry.get("suspect_fix_details", [])
        )
        flags = tuple(
            SpoofFlag(reason=str((x.get("reasons") or ["?"])[0]),
                      t=_ts(x["at"], file, index, "spoof_flags.at") or 0.0, lon=x["lon"], lat=x["lat"],
                      start=_ts(x.get("start") or x["at"], file, index, "spoof_flags.start") or 0.0,
                      end=_ts(x.get("end") or x["at"], file, index, "spoof_flags.end") or 0.0,
                      evidence=dict(x.get("evidence") or {}), decision=x.get("decision"))
            for x in entry.get("spoof_flags", [])
        )
        rejected = {k: v for k, v in dict(entry.get("rejected", {})).items() if k != "rule"}
        result = DayResult(
            worker_id=str(entry["worker_id"]),
            date=dt.date.fromisoformat(entry["date"]),
            role=entry.get("role", "parttime"),
            grid_id=str(entry.get("grid_id", "")),
            working_day=bool(entry.get("working_day", True)),
            patrols=patrols,
            signin=signin,
            offpost=offpost,
            phone_off=phone_off,
            suspect_fixes=suspects,
            rejected=rejected,
            fixes_used=int(entry.get("fixes_used", 0)),
            online_rate=entry.get("online_rate"),
            duty_s=int(entry.get("duty_s", 0)),
            spoof_flags=flags,
        )
    except KeyError as exc:
        raise DayJsonError(file, index, str(exc.args[0]), "missing field") from None
    except (TypeError, ValueError) as exc:
        if isinstance(exc, DayJsonError):
            raise
        raise DayJsonError(file, index, None, f"bad value: {exc}") from None
    cases = _cases(entry, file, index)
    rep = entry.get("reports")
    reports = None
    if isinstance(rep, Mapping):
        try:
            reports = ReportCount(total=int(rep["total"]), valid=int(rep["valid"]),
                                  valid_ids=tuple(rep.get("valid_case_ids") or ()))
        except (KeyError, TypeError, ValueError):
            raise DayJsonError(file, index, "reports", "needs integer 'total' and 'valid'") from None
    gc = rep.get("grid_count") if isinstance(rep, Mapping) else None
    return ScoredDay(result=result, village_id=entry.get("village_id"), cases=cases, reports=reports,
                     grid_count=int(gc) if gc is not None else None)


def _cases(entry: Mapping[str, Any], file: str, index: int) -> tuple[CaseVerdict, ...]:
    out = []
    for j, c in enumerate(entry.get("cases") or ()):
        where = f"cases[{j}]"
        try:
            kind = c["kind"]
            if kind not in ("report", "instruction", "grid"):
                raise DayJsonError(file, index, f"{where}.kind", f"unknown kind {kind!r}")
            rec = CaseRecord(
                case_id=str(c["case_id"]), kind=kind,
                created_at=_ts(c["created_at"], file, index, f"{where}.created_at") or 0.0,
                lon=c.get("lon"), lat=c.get("lat"), valid=c.get("valid"),
                accepted_at=_ts(c.get("accepted_at"), file, index, f"{where}.accepted_at"),
                closed_at=_ts(c.get("closed_at"), file, index, f"{where}.closed_at"),
                complex=bool(c.get("complex", False)), category=c.get("category"))
        except KeyError as exc:
            raise DayJsonError(file, index, f"{where}.{exc.args[0]}", "missing field") from None
        out.append(CaseVerdict(case=rec, arrived_at=_ts(c.get("arrived_at"), file, index, f"{where}.arrived_at"),
                               arrival_s=c.get("arrival_s"), arrival=c.get("arrival"),
                               on_duty=bool(c.get("on_duty", True)), own_report_s=c.get("own_report_s")))
    return tuple(out)


def days_from_json(doc: Mapping[str, Any], file: str = "<days>") -> list[ScoredDay]:
    """All ``days`` of one evaluate JSON document."""
    days = doc.get("days")
    if not isinstance(days, list):
        raise DayJsonError(file, None, "days", "not an evaluate output: no 'days' list")
    return [day_from_json(e, file, i) for i, e in enumerate(days)]


def with_villages(days: Iterable[ScoredDay], villages: Mapping[str, str]) -> list[ScoredDay]:
    """Fill each day's village from ``villages`` (worker id -> village/office id)."""
    return [replace(d, village_id=villages.get(d.result.worker_id, d.village_id)) for d in days]
