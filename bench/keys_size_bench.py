"""What ``worker_id`` in the keys of ``position`` (migration keys01, Citus-ready) costs in bytes.

Two throwaway PostgreSQL databases, one at ``mob02`` (keys without ``worker_id``), one at
head; the same fixes loaded into each with one ``INSERT … SELECT generate_series`` (all on
one day partition); then the heap, each index and the total of ``position``'s partitions,
in bytes per row. Run: ``uv run python bench/keys_size_bench.py [--workers 500 --fixes 400]``
(PostgreSQL at ``GRIDPATROL_TEST_PG_ADMIN_URL``, default postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from checkins.db import partitions  # noqa: E402
from checkins.db.engine import make_engine  # noqa: E402
from checkins.db.migrate import upgrade  # noqa: E402
from tests.conftest import throwaway_pg_database  # noqa: E402

DAY = dt.date(2031, 5, 6)
_LOAD = """
INSERT INTO township (township_id, name, timezone, profile, created_at)
  VALUES ('t1', 'T', 'Asia/Shanghai', 'yangkou-2022', now());
INSERT INTO village (village_id, township_id, name, created_at) VALUES ('v1', 't1', 'V', now());
INSERT INTO worker (worker_id, name, role, village_id, active, created_at)
  SELECT 'W320612' || lpad(w::text, 6, '0'), 'w', 'fulltime', 'v1', true, now()
  FROM generate_series(1, :workers) w;
INSERT INTO device (id, device_uid, worker_id, status, registered_at)
  SELECT w, 'phone-' || w, 'W320612' || lpad(w::text, 6, '0'), 'approved', now()
  FROM generate_series(1, :workers) w;
INSERT INTO position (recorded_at, received_at, kind, worker_id, device_id, client_id, seq,
                      lon, lat, datum, geom, accuracy_m, mock, grid_id, suspect)
  SELECT timestamptz '2031-05-06 08:00+08' + f * interval '30 s', now(), 'fix',
         'W320612' || lpad(w::text, 6, '0'), w, gen_random_uuid()::text, f,
         121.2 + w * 1e-4, 32.55 + f * 1e-6, 'wgs84',
         ST_SetSRID(ST_MakePoint(121.2 + w * 1e-4, 32.55 + f * 1e-6), 4326), 8, false,
         'G' || (w % 50), false
  FROM generate_series(1, :workers) w, generate_series(1, :fixes) f;
ANALYZE position;
"""
_SIZES = """
SELECT c.relname, pg_relation_size(c.oid) AS bytes
FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid
JOIN pg_class c ON c.oid = p.oid OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = p.oid)
WHERE i.inhparent = 'position'::regclass AND p.relname = :part
"""


def measure(revision: str, workers: int, fixes: int) -> dict[str, float]:
    with throwaway_pg_database("gridpatrol_keys_bench") as url:
        engine = make_engine(url)
        try:
            upgrade(engine, revision)
            with engine.begin() as conn:
                partitions.ensure_position_partitions(conn, DAY, 1, "Asia/Shanghai")
                for stmt in _LOAD.split(";\n"):
                    if stmt.strip():
                        conn.execute(sa.text(stmt), {"workers": workers, "fixes": fixes})
            with engine.connect() as conn:
                part = f"position_p{DAY:%Y%m%d}"
                rows = conn.execute(sa.text(_SIZES), {"part": part}).all()
                n = conn.scalar(sa.text(f"SELECT count(*) FROM {part}"))
        finally:
            engine.dispose()
    out: dict[str, float] = {}
    for name, b in rows:
        out[_kind(name, part)] = out.get(_kind(name, part), 0.0) + b / n
    out["total"] = sum(b for _, b in rows) / n
    return out


def _kind(relname: str, part: str) -> str:
    if relname == part:
        return "heap"
    if relname.endswith("_pkey"):
        return "primary key"
    if "client_id" in relname:
        return "unique (dedupe) key"
    if "geom" in relname:
        return "GiST geom"
    return "(worker_id, recorded_at) index"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=500)
    ap.add_argument("--fixes", type=int, default=400, help="fixes per worker")
    a = ap.parse_args()
    before = measure("mob02", a.workers, a.fixes)
    after = measure("head", a.workers, a.fixes)
    print(f"{a.workers * a.fixes} fixes, {a.workers} workers; bytes per row")
    names = sorted(set(before) | set(after), key=lambda k: (k == "total", k))
    print(f"{'relation':<32} {'mob02':>8} {'keys01':>8}")
    for k in names:
        print(f"{k:<32} {before.get(k, 0):8.1f} {after.get(k, 0):8.1f}")


if __name__ == "__main__":
    main()
