"""Smoke test of bench/score_bench.py on 20 workers x 3 days in a SQLite file: seeding, the
first build of the sums, verify, the old and new paths of one sheet and of closing, a nightly
save (no timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    spec = importlib.util.spec_from_file_location("score_bench", ROOT / "bench" / "score_bench.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["score_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_score_bench_smoke(tmp_path):
    from checkins.db.engine import make_engine
    from checkins.db.migrate import upgrade

    sb = _bench()
    engine = make_engine(f"sqlite:///{tmp_path}/bench.db")
    try:
        upgrade(engine)
        seeded = sb.seed(engine, 20, sb.workdays(3))
        assert seeded["day_results"] == 60
        assert sb.build_sums(engine)["built"] == [f"{sb.TOWN}/{p}" for p in ("2026-01", "2026-02", "2026-03", "2026Q1")]
        assert sb.verify_sums(engine) == {"differences": 0}
        old, new = sb.old_sheet(engine, "bw00010"), sb.new_sheet(engine, "bw00010")
        assert old["total"] == new["total"] and old["tier"] == new["tier"] and new["tier"] is not None
        assert sb.nightly(engine, 20, "2026-04-01", True)["save_s"] > 0
        assert sb.verify_sums(engine) == {"differences": 0}  # the nightly save was rolled back
        assert sb.old_close(engine) == sb.new_close(engine)  # same sheets and inputs digest
    finally:
        engine.dispose()
