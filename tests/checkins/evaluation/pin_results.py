"""Digests of the results that must stay bit-identical across refactorings (issue 14).

``python tests/checkins/evaluation/pin_results.py [--write]`` computes, on a fresh SQLite
database, the sha256 of the canonical JSON of:

* the engine's day results (``geo.engine.day_result_to_json``) and the file flow's day
  entries (``evaluate`` JSON with deductions) of a small bench township
  (``bench/geo_bench.make_township``, 24 workers);
* the nightly job's stored ``day_result`` rows, the live check's alerts and the quarter's
  score sheets, for the demo township and for the bench township loaded into the database.

The golden digests (``pinned_digests.json``) were written by running this script against the
code before the issue-14 restructuring (commit d9bb627) with ``--root`` pointing at that
tree; the module paths of both layouts are tried, so the same script runs on either.
The nightly-summary digests are still those of d9bb627, and so is the bench township's
engine digest. The live-check digests were re-pinned once (issue 19): its counts gained
``incremental`` (how many workers were judged from their settled point); its alerts are
unchanged (compared field by field). The day entries, stored rows and score sheets were re-pinned with
``--write`` on purpose when their content changed: Chinese reasons from the profiles (issue
16) and each day's ``cases`` and ``reports`` (issue 18). The demo township's engine digest
(and with it its entries, rows and sheets) was re-pinned when the demo began to upload
through the real ingest (issue 14): every verdict, interval and count is the same; only the
WGS-84 points of the suspect fixes listed as evidence moved, by at most 4 mm, because they
are now what ingest derives (GEO-CRS) from the 7 decimals the phone reports in its datum,
not the simulator's exact float.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "pinned_digests.json"
DEMO_DAY = dt.date(2026, 11, 23)  # a Monday
BENCH_WORKERS = 24
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # the nightly run's clock (final days)


def _mod(*names: str) -> Any:
    """The first importable module of ``names`` (new layout first, then the old one)."""
    for n in names:
        try:
            return importlib.import_module(n)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(names[0])


def _attr(name: str, *modules: str) -> Any:
    for m in modules:
        try:
            mod = importlib.import_module(m)
        except ModuleNotFoundError:
            continue
        if hasattr(mod, name):
            return getattr(mod, name)
    raise AttributeError(f"{name} in {modules}")


def _table(name: str) -> Any:
    return _attr(name, "checkins.tables", "checkins.models", "checkins.models_mobile",
                 "checkins.models_jobs", "checkins.models_office", "checkins.models_scores")


def digest(obj: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no spaces, exact floats via repr)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _engine(tmp: str) -> Any:
    make_engine = _attr("make_engine", "checkins.db.engine")
    upgrade = _attr("upgrade", "checkins.db.migrate")
    eng = make_engine(f"sqlite:///{tmp}/pin.db")
    upgrade(eng)
    return eng


# --------------------------------------------------------------------------- bench township


def _bench() -> tuple[list[Any], Any, Any]:
    root = Path(importlib.import_module("geo").__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "bench"))
    try:
        gb = importlib.import_module("geo_bench")
    finally:
        sys.path.pop(0)
    days, index = gb.make_township(BENCH_WORKERS)
    return days, index, gb


def bench_engine_digests() -> dict[str, str]:
    """The engine's results and the file flow's entries + score sheet of the bench township."""
    from geo.engine import day_result_to_json, evaluate_days
    from scoring.profiles import load_profile

    days, index, gb = _bench()
    params = gb.bench_params()
    results = evaluate_days(days, params, grids=index)
    prof = load_profile("yangkou-2022")
    day_entry = _attr("day_entry", "checkins.evaluation.entry", "checkins.evaluation.files",
                      "checkins.evaluate")
    entries = [day_entry(r, prof)[0] for r in results]
    return {"bench.engine": digest([day_result_to_json(r, params.timezone) for r in results]),
            "bench.file_entries": digest(entries)}


def _load_bench(session: Any) -> list[Any]:
    """The bench township as database rows (township, village, grids, roster, positions)."""
    import datetime as _dt

    from shapely.geometry import Point

    days, _index, gb = _bench()
    Township, Village, Grid, Worker, GridAssignment, Position = (
        _table(n) for n in ("Township", "Village", "Grid", "Worker", "GridAssignment", "Position"))
    session.add(Township(township_id="bench", name="bench", timezone=gb.TZ,
                         profile="yangkou-2022"))
    session.flush()
    d0 = days[0]
    session.add(Village(village_id="bv1", township_id="bench", name="bench village",
                        office=Point(d0.office.lon, d0.office.lat), radius_m=150.0))
    session.flush()
    rows = []
    for i, d in enumerate(days):
        session.add(Grid(grid_id=d.grid_id, village_id="bv1", name=d.grid_id, geom=d.grid))
        session.add(Worker(worker_id=d.worker_id, name=f"工{i}", role=d.role, village_id="bv1"))
        session.flush()
        session.add(GridAssignment(worker_id=d.worker_id, grid_id=d.grid_id,
                                   valid_from=d.date - _dt.timedelta(days=30)))
        f = d.fixes
        for k in range(len(f.t)):
            t = _dt.datetime.fromtimestamp(float(f.t[k]), _dt.UTC)
            hb = bool(f.is_heartbeat[k])
            ok = not hb and f.lon[k] == f.lon[k]
            rows.append({
                "recorded_at": t, "received_at": t + _dt.timedelta(seconds=5),
                "kind": "heartbeat" if hb else "fix", "worker_id": d.worker_id,
                "lon": float(f.lon[k]) if ok else None, "lat": float(f.lat[k]) if ok else None,
                "datum": "wgs84", "geom": Point(float(f.lon[k]), float(f.lat[k])) if ok else None,
                "accuracy_m": float(f.accuracy_m[k]) if ok else None,
                "mock": bool(f.mock[k]), "suspect": bool(f.mock[k])})
    import sqlalchemy as sa

    conn = session.connection()
    for i in range(0, len(rows), 5000):
        conn.execute(sa.insert(Position), rows[i:i + 5000])
    session.flush()
    return days


# --------------------------------------------------------------------------- database flows


def _stored_rows(session: Any) -> list[Any]:
    import sqlalchemy as sa

    DayResult = _table("DayResult")
    return [[r.worker_id, r.work_date.isoformat(), r.result, r.provisional,
             r.evaluated_at.isoformat(), r.needs_reevaluation]
            for r in session.scalars(sa.select(DayResult).order_by(
                DayResult.worker_id, DayResult.work_date))]


def _sheets(session: Any, township_id: str, period: str) -> Any:
    svc = _mod("checkins.scores.service", "checkins.scores")
    Township = _table("Township")
    town = session.get(Township, township_id)
    per = svc.period_for(period, svc.township_profile(town))
    result, inputs = svc.compute(session, town, per, digest=True)
    return {"result": result.to_json(), "inputs": inputs.summary(), "notes": inputs.notes}


def _flows(session: Any, key: str, date: dt.date, township_id: str, period: str,
           live_at: dt.datetime) -> dict[str, str]:
    from geo.engine import day_result_to_json

    flows = _mod("checkins.evaluation.flows", "checkins.flows")
    scheduled = _mod("checkins.jobs.scheduled", "checkins.scheduled")
    alerts = _mod("checkins.jobs.alerts", "checkins.alerts")
    items = [(w, date) for w in flows.workers_on(session, date)]
    judged = flows.judge_worker_days(session, items)
    out = {f"{key}.engine": digest([day_result_to_json(r, "Asia/Shanghai") for r, _ in judged]),
           f"{key}.entries": digest([e for _, e in judged])}
    live = alerts.live_check(session, now=live_at)
    out[f"{key}.live_check"] = digest(live)
    summary = scheduled.nightly_evaluation(session, date=date, now=NOW)
    out[f"{key}.nightly_summary"] = digest(summary)
    out[f"{key}.day_result_rows"] = digest(_stored_rows(session))
    out[f"{key}.score_sheets"] = digest(_sheets(session, township_id, period))
    return out


def db_digests() -> dict[str, str]:
    from sqlmodel import Session

    demo_mod = _mod("checkins.demo.service", "checkins.demo")
    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        eng = _engine(tmp)
        with Session(eng) as session:
            demo = demo_mod.build_demo(seed=7, day=DEMO_DAY)
            demo_mod.load_demo_township(session, demo)
            session.commit()
            live_at = dt.datetime(2026, 11, 23, 7, 30, tzinfo=dt.UTC)  # 15:30 local
            out.update(_flows(session, "demo", DEMO_DAY, "yangkou", "2026Q4", live_at))
            session.commit()
        eng.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        eng = _engine(tmp)
        with Session(eng) as session:
            days = _load_bench(session)
            session.commit()
            live_at = dt.datetime.combine(days[0].date, dt.time(7, 0), tzinfo=dt.UTC)
            out.update(_flows(session, "bench", days[0].date, "bench", "2026Q1", live_at))
            session.commit()
        eng.dispose()
    return out


def all_digests() -> dict[str, str]:
    return {**bench_engine_digests(), **db_digests()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", help="the source tree to import (default: this one)")
    ap.add_argument("--write", action="store_true", help=f"write {GOLDEN.name}")
    args = ap.parse_args()
    if args.root:
        sys.path.insert(0, os.path.abspath(args.root))
    got = all_digests()
    print(json.dumps(got, indent=2, sort_keys=True))
    if args.write:
        GOLDEN.write_text(json.dumps(got, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
