"""Offline scoring flow (``gridpatrol score``): ``evaluate`` output + entered items + roster
-> period score sheets, tiers and payouts, or a what-if between two profiles.

No database: the files an office exported, read by :mod:`checkins.formats`, scored by
:mod:`scoring`. Bad input raises :class:`ScoreInputError` naming the file (and line).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class ScoreInputError(ValueError):
    """A bad input file, profile, period or item; the message names what is wrong."""


def score_files(*, period: str, days: Sequence[Path], profile: str = "yangkou-2022",
                items: Sequence[Path] = (), roster: Path | None = None,
                compare: str | None = None) -> tuple[Any, dict[str, Any], Any]:
    """Score ``period`` from day files: ``(PeriodScores, JSON document, Profile)``.

    With ``compare`` the document is the what-if (differences between the two profiles) and
    the scores are those of ``profile``.
    """
    from checkins.formats.errors import FormatError
    from checkins.formats.items import read_items
    from checkins.formats.roster import read_roster
    from scoring.dayjson import DayJsonError, days_from_json, with_villages
    from scoring.items import ItemError, parse_period
    from scoring.period import ScoreError, Subject
    from scoring.profiles import ProfileError, load_profile
    from scoring.score import score as run_score
    from scoring.score import whatif

    try:
        per = parse_period(period)
    except ValueError as exc:
        raise ScoreInputError(f"--period {exc}") from None
    try:
        prof = load_profile(profile)
        other = load_profile(compare) if compare else None
        if any(p.suffix == ".jsonl" for p in days):
            if other is not None:
                raise ScoreInputError("--compare reads whole JSON files, not .jsonl")
            return score_streamed(per, prof, days, items, roster)
        all_days = []
        seen: dict[tuple[str, str], str] = {}
        notes = []
        for path in days:
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ScoreInputError(f"{path}: line {exc.lineno}: not JSON: {exc.msg}") from None
            if doc.get("profile") and doc["profile"] != prof.id:
                notes.append(f"{path}: days detected under {doc['profile']}; rules of {prof.id} applied to them")
            for d in days_from_json(doc, str(path)):
                key = (d.result.worker_id, d.result.date.isoformat())
                if key in seen:
                    raise ScoreInputError(f"{path}: worker {key[0]} on {key[1]} is also in {seen[key]}")
                seen[key] = str(path)
                all_days.append(d)
        subjects = None
        if roster is not None:
            rows = read_roster(roster)
            subjects = {r.worker_id: Subject(r.worker_id, "worker", r.role, r.village_id, r.name) for r in rows}
            all_days = with_villages(all_days, {r.worker_id: r.village_id for r in rows})
        else:
            notes.append("no --roster: villages and names unknown unless the days carry village_id; "
                         "tiers are then ranked per role over all workers")
        entered = []
        for path in items:
            entered += read_items(path)
        if other is None:
            result = run_score(prof, per, all_days, _checked(entered, prof), subjects)
            doc_out = result.to_json()
            doc_out["notes"] = doc_out["notes"] + notes
        else:
            a, b, diffs = whatif(prof, other, per, all_days, _checked(entered, prof), None, subjects)
            result = a
            doc_out = {"period": per.label, "profiles": [prof.id, other.id], "notes": notes,
                       "differences": [d.to_json() for d in diffs if d.changed],
                       "unchanged": [d.subject_id for d in diffs if not d.changed],
                       "a": a.to_json(), "b": b.to_json()}
    except (FormatError, ProfileError, DayJsonError, ItemError, ScoreError) as exc:
        raise ScoreInputError(str(exc)) from None
    except OSError as exc:
        raise ScoreInputError(f"{exc.filename}: {exc.strerror}") from None
    return result, doc_out, prof


def _checked(entered, prof):  # type: ignore[no-untyped-def]
    """Items checked against the profile, errors naming the file and line."""
    from checkins.formats.errors import FormatError
    from scoring.items import ItemError, check_items

    try:
        return check_items(entered, prof)
    except ItemError as exc:
        src = exc.item.source if exc.item is not None else None
        if src and ", line " in src:
            file, line = src.rsplit(", line ", 1)
            raise FormatError(file, int(line), exc.field, exc.message) from None
        raise


__all__ = ["ScoreInputError", "score_files"]


def score_streamed(per: Any, prof: Any, days: Sequence[Path], items: Sequence[Path],
                   roster: Path | None) -> tuple[Any, dict[str, Any], Any]:
    """``--days FILE.jsonl``: the days folded into period sums one worker at a time.

    Memory holds one worker's days (the file must be grouped by worker, as ``evaluate --out
    FILE.jsonl`` writes it), the sums (one small record per worker and period) and the set of
    (worker, date) keys seen (duplicates are refused). The day part of the trail is one line
    per rule; the rest of the sheet is the same as from JSON. Office profiles are refused (an
    office's days of a date are judged together).
    """
    from checkins.formats.errors import FormatError
    from checkins.formats.items import read_items
    from checkins.formats.roster import read_roster
    from scoring.dayjson import DayJsonError, day_from_json, with_villages
    from scoring.items import ItemError
    from scoring.period import DaySums, ScoreError, Subject, day_sums, office_profile, sum_periods
    from scoring.score import score as run_score

    if office_profile(prof):
        raise ScoreInputError(f"{prof.id} scores offices: an office's days of a date are judged "
                              "together, so --days .jsonl (one worker at a time) cannot score it; "
                              "give the JSON")
    try:
        subjects, villages = None, {}
        if roster is not None:
            rows = read_roster(roster)
            subjects = {r.worker_id: Subject(r.worker_id, "worker", r.role, r.village_id, r.name)
                        for r in rows}
            villages = {r.worker_id: r.village_id for r in rows}
        sums: dict[str, dict[str, Any]] = {}
        seen: set[tuple[str, str]] = set()
        notes: list[str] = []

        def fold(group: list[Any]) -> None:
            for d in with_villages(group, villages) if villages else group:
                for p in sum_periods(prof, d.result.date):
                    if per.covers(p):
                        for sid, x in day_sums(prof, [d], p).items():
                            sums.setdefault(p.label, {}).setdefault(sid, DaySums()).add(x)

        for path in days:
            if path.suffix != ".jsonl":
                raise ScoreInputError(f"{path}: give all --days as .jsonl, or none")
            done: set[str] = set()
            group: list[Any] = []
            with path.open(encoding="utf-8") as f:
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise ScoreInputError(f"{path}: line {lineno}: not JSON: {exc.msg}") from None
                    if "jsonl" in entry:
                        if entry.get("profile") and entry["profile"] != prof.id:
                            notes.append(f"{path}: days detected under {entry['profile']}; "
                                         f"rules of {prof.id} applied to them")
                        continue
                    d = day_from_json(entry, f"{path}, line {lineno}", lineno)
                    wid, date = d.result.worker_id, d.result.date.isoformat()
                    if group and group[0].result.worker_id != wid:
                        done.add(group[0].result.worker_id)
                        fold(group)
                        group = []
                    if wid in done:
                        raise ScoreInputError(
                            f"{path}: line {lineno}: worker {wid} again after other workers: the "
                            "file must be grouped by worker (evaluate --out FILE.jsonl writes it "
                            "so; or sort it by worker_id)")
                    if (wid, date) in seen:
                        raise ScoreInputError(f"{path}: line {lineno}: worker {wid} on {date} twice")
                    seen.add((wid, date))
                    if per.contains(d.result.date):
                        group.append(d)
            if group:
                fold(group)
        entered = []
        for path in items or []:
            entered += read_items(path)
        result = run_score(prof, per, [], _checked(entered, prof), subjects, sums=sums)
    except (FormatError, DayJsonError, ItemError, ScoreError) as exc:
        raise ScoreInputError(str(exc)) from None
    except OSError as exc:
        raise ScoreInputError(f"{exc.filename}: {exc.strerror}") from None
    doc_out = result.to_json()
    doc_out["notes"] = doc_out["notes"] + notes
    return result, doc_out, prof
