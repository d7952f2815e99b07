"""Citus readiness (issue 7, docs/scaling.md): ``worker_id`` in every key of the tables to be
distributed, read back from the database catalog, and the ``keys01`` migration on a database
that already holds data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from checkins.db import citus, partitions
from checkins.db.engine import make_engine
from checkins.db.migrate import (
    REPO_ROOT,
    downgrade,
    head_revision,
    load_all_models,
    schema_diff,
    upgrade,
)
from checkins.db.types import UTCDateTime
from tests.conftest import empty_database

W = citus.DISTRIBUTION_COLUMN
DIST = set(citus.DISTRIBUTED)


# --------------------------------------------------------------------------- the plan
def test_every_table_is_placed_once():
    tables = set(load_all_models().tables)
    lists = (citus.DISTRIBUTED, citus.REFERENCE, citus.LOCAL)
    assert sum(len(x) for x in lists) == len(set().union(*lists)), "a table is in two lists"
    assert set().union(*lists) == tables  # a new table must be placed in one of them


def test_distribution_script_orders_reference_tables_and_fk_targets_first():
    sql = citus.distribution_sql()
    assert sql[0] == "SELECT create_reference_table('township');"
    assert "SELECT create_distributed_table('position', 'worker_id');" in sql
    assert ("SELECT create_distributed_table('patrol_log', 'worker_id', "
            "colocate_with => 'position');") in sql
    done: set[str] = set()
    for stmt in sql:
        table = stmt.split("'")[1]
        for fk in load_all_models().tables[table].foreign_keys:
            target = fk.column.table.name
            assert target == table or target in done, f"{table} before {target}"
        done.add(table)


def test_docs_show_the_script_the_move_runs():
    doc = (REPO_ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    missing = [stmt for stmt in citus.distribution_sql() if stmt not in doc]
    assert missing == [], "docs/scaling.md lacks: " + "; ".join(missing)


def test_models_declare_worker_id_in_every_key():
    for name in citus.DISTRIBUTED:
        t = load_all_models().tables[name]
        assert t.primary_key.columns.keys()[0] == W, name
        for c in t.constraints:
            if isinstance(c, sa.UniqueConstraint) or (
                    isinstance(c, sa.ForeignKeyConstraint) and c.referred_table.name in DIST):
                assert W in c.columns.keys(), (name, c.name)
        for ix in t.indexes:
            if ix.unique:
                assert W in ix.columns.keys(), (name, ix.name)


# --------------------------------------------------------------------------- the catalog
_PG_KEYS = """
SELECT rel.relname AS tbl,
       COALESCE(parent.relname, rel.relname) AS parent,
       con.conname AS name, con.contype AS kind,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
             ORDER BY k.i)::text[] AS cols,
       ref.relname AS ref,
       ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
             ORDER BY k.i)::text[] AS ref_cols
FROM pg_constraint con
JOIN pg_class rel ON rel.oid = con.conrelid
LEFT JOIN pg_inherits inh ON inh.inhrelid = rel.oid
LEFT JOIN pg_class parent ON parent.oid = inh.inhparent
LEFT JOIN pg_class ref ON ref.oid = con.confrelid
WHERE con.contype IN ('p', 'u', 'f')
  AND rel.relnamespace = current_schema()::regnamespace
"""
_PG_UNIQUE_INDEXES = """
SELECT rel.relname AS tbl, COALESCE(parent.relname, rel.relname) AS parent,
       idx.relname AS name,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) k(n)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n)::text[] AS cols
FROM pg_index i
JOIN pg_class rel ON rel.oid = i.indrelid
JOIN pg_class idx ON idx.oid = i.indexrelid
LEFT JOIN pg_inherits inh ON inh.inhrelid = rel.oid
LEFT JOIN pg_class parent ON parent.oid = inh.inhparent
WHERE i.indisunique AND rel.relnamespace = current_schema()::regnamespace
"""


def _pg_catalog(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
    return (conn.execute(sa.text(_PG_KEYS)).mappings().all(),
            conn.execute(sa.text(_PG_UNIQUE_INDEXES)).mappings().all())


def _sqlite_catalog(conn: sa.Connection) -> tuple[list[Any], list[Any]]:
    """The same shape from SQLite (whose primary keys are the rowid ``id`` by design)."""
    insp = sa.inspect(conn)
    keys: list[dict[str, Any]] = []
    indexes: list[dict[str, Any]] = []
    for t in insp.get_table_names():
        for u in insp.get_unique_constraints(t):
            keys.append({"tbl": t, "parent": t, "name": u["name"], "kind": "u",
                         "cols": u["column_names"], "ref": None, "ref_cols": []})
        for f in insp.get_foreign_keys(t):
            keys.append({"tbl": t, "parent": t, "name": f["name"], "kind": "f",
                         "cols": f["constrained_columns"], "ref": f["referred_table"],
                         "ref_cols": f["referred_columns"]})
        for ix in insp.get_indexes(t):
            if ix["unique"]:
                indexes.append({"tbl": t, "parent": t, "name": ix["name"],
                                "cols": ix["column_names"]})
    return keys, indexes


def _catalog(conn: sa.Connection, backend: str) -> tuple[list[Any], list[Any]]:
    return (_pg_catalog if backend == "postgresql" else _sqlite_catalog)(conn)


def _violations(keys: list[Any], indexes: list[Any]) -> list[str]:
    """What would stop ``create_distributed_table`` (and co-location) on this schema."""
    out = []
    for k in keys:
        where = f"{k['tbl']}.{k['name']} {list(k['cols'])}"
        if k["parent"] in DIST and k["kind"] in ("p", "u") and W not in k["cols"]:
            out.append(f"{where}: key without {W}")
        if k["kind"] == "f" and k["ref"] in DIST:
            if k["parent"] not in DIST:
                out.append(f"{where}: a non-distributed table refers to {k['ref']}")
            elif (W, W) not in zip(k["cols"], k["ref_cols"], strict=True):
                out.append(f"{where}: foreign key to {k['ref']} not matched on {W}")
        if k["kind"] == "f" and k["parent"] in DIST and \
                k["ref"] not in DIST | set(citus.REFERENCE):
            out.append(f"{where}: refers to {k['ref']}, neither distributed nor reference")
    for ix in indexes:
        if ix["parent"] in DIST and W not in ix["cols"]:
            out.append(f"{ix['tbl']}.{ix['name']} {list(ix['cols'])}: unique index without {W}")
    return out


def test_catalog_keys_of_distributed_tables_include_worker_id(connection, db_backend):
    """Every PK/UNIQUE constraint, unique index and FK between the distributed tables, as
    the database has them (day partitions of ``position`` included), contains worker_id;
    no other table points a foreign key at a distributed one."""
    pg = db_backend == "postgresql"
    if pg:  # a day partition too: its keys are built from the parent's
        partitions.ensure_position_partitions(connection, dt.date(2031, 5, 6), 1,
                                              "Asia/Shanghai")
    keys, indexes = _catalog(connection, db_backend)
    assert _violations(keys, indexes) == []
    # what was read is what matters (the check is not vacuous)
    kinds = {(k["parent"], k["kind"]) for k in keys if k["parent"] in DIST}
    assert {("position", "u"), ("signin", "u"), ("patrol_session", "u")} <= kinds
    fks = {(k["parent"], k["ref"]): (list(k["cols"]), list(k["ref_cols"]))
           for k in keys if k["kind"] == "f"}
    assert fks[("patrol_log", "patrol_session")] == ([W, "patrol_session_id"], [W, "id"])
    assert {ix["name"] for ix in indexes} >= {"uq_patrol_log_worker_id_client_id",
                                              "uq_exemption_worker_id_client_id"}
    if pg:
        assert {t for t in DIST if (t, "p") not in kinds} == set()
        pks = {k["tbl"]: list(k["cols"]) for k in keys if k["kind"] == "p"}
        assert pks["position"] == pks["position_p20310506"] == [W, "id", "recorded_at"]
        assert pks["signin"] == [W, "id"]


def test_catalog_check_notices_a_key_without_worker_id(connection, db_backend):
    """The check above can fail: keys without worker_id, on a table or a partition, are named."""
    # unique whatever rows other tests committed (id is), yet without worker_id
    connection.execute(sa.text("CREATE UNIQUE INDEX uq_stray ON signin (id, client_id)"))
    connection.execute(sa.text("CREATE TABLE stray (id INTEGER PRIMARY KEY, s INTEGER, w VARCHAR(32), "
                               "FOREIGN KEY (s) REFERENCES patrol_session (id))"
                               if db_backend == "sqlite" else
                               "ALTER TABLE patrol_session ADD CONSTRAINT uq_stray_id UNIQUE (id)"))
    if db_backend == "postgresql":
        connection.execute(sa.text(
            "CREATE TABLE stray (id INTEGER PRIMARY KEY, s INTEGER REFERENCES patrol_session (id))"))
    got = _violations(*_catalog(connection, db_backend))
    assert any(v.startswith("signin.uq_stray ") and "without worker_id" in v for v in got), got
    assert any(v.startswith("stray.") and "non-distributed table refers to patrol_session" in v
               for v in got), got
    if db_backend == "postgresql":
        assert any(v.startswith("patrol_session.uq_stray_id ") for v in got), got


# --------------------------------------------------------------------------- keys01 on data
T0 = dt.datetime(2031, 5, 6, 1, 0, tzinfo=dt.UTC)
_TYPES = {dt.datetime: UTCDateTime(), dt.date: sa.Date(), bool: sa.Boolean()}
SNAPSHOT = ("position", "signin", "patrol_session", "patrol_log", "exemption", "day_result",
            "alert", "flag_decision", "device_seq_run")


def _ins(conn: sa.Connection, table: str, **values: Any) -> None:
    vals = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in values.items()}
    stmt = sa.text(f"INSERT INTO {table} ({', '.join(vals)}) "
                   f"VALUES ({', '.join(':' + k for k in vals)})")
    binds = [sa.bindparam(k, type_=_TYPES[type(v)]) for k, v in vals.items()
             if type(v) in _TYPES]
    conn.execute(stmt.bindparams(*binds), vals)


def _seed_at_mob02(conn: sa.Connection, pg: bool) -> None:
    _ins(conn, "township", township_id="t1", name="T", timezone="Asia/Shanghai",
         profile="yangkou-2022", created_at=T0)
    _ins(conn, "village", village_id="v1", township_id="t1", name="V", created_at=T0)
    for w in ("w1", "w2"):
        _ins(conn, "worker", worker_id=w, name=w, role="fulltime", village_id="v1",
             active=True, created_at=T0)
    _ins(conn, "device", id=1, device_uid="phone-1", worker_id="w2", status="approved",
         registered_at=T0)  # re-bound to w2 after w1's fixes below
    _ins(conn, "device", id=2, device_uid="phone-2", worker_id="w2", status="approved",
         registered_at=T0)
    if pg:  # a day partition besides position_default: its keys are rebuilt as well
        partitions.ensure_position_partitions(conn, dt.date(2031, 5, 6), 1, "Asia/Shanghai")
    for k in range(3):
        _ins(conn, "position", recorded_at=T0 + dt.timedelta(seconds=30 * k), received_at=T0,
             kind="fix", worker_id="w1", device_id=1, client_id=f"c{k}", datum="wgs84",
             lon=121.2, lat=32.55, mock=False, suspect=False)
    # two different fixes with the same timestamp (different client ids): both stored
    _ins(conn, "position", recorded_at=T0, received_at=T0, kind="fix", worker_id="w2",
         device_id=2, client_id="d0", datum="wgs84", mock=False, suspect=False)
    _ins(conn, "position", recorded_at=T0, received_at=T0, kind="heartbeat", worker_id="w2",
         device_id=2, client_id="d1", datum="wgs84", mock=False, suspect=False)
    _ins(conn, "position", recorded_at=dt.datetime(2031, 9, 1, tzinfo=dt.UTC), received_at=T0,
         kind="fix", worker_id="w1", device_id=1, client_id="late", datum="wgs84",
         mock=False, suspect=False)  # no partition for that day: position_default
    _ins(conn, "signin", id=7, worker_id="w1", device_id=1, client_id="s1", signed_at=T0,
         received_at=T0, lon=121.2, lat=32.55, datum="wgs84", village_id="v1")
    _ins(conn, "patrol_session", id=5, worker_id="w1", device_id=1, client_id="p1",
         started_at=T0, received_at=T0)
    _ins(conn, "patrol_session", id=6, worker_id="w2", device_id=2, client_id="p1",
         started_at=T0, received_at=T0)
    _ins(conn, "patrol_log", id=3, worker_id="w1", patrol_session_id=5, written_at=T0,
         received_at=T0, text="巡查", client_id="l1")
    _ins(conn, "patrol_log", id=4, worker_id="w2", written_at=T0, received_at=T0, text="",
         client_id="l1")
    _ins(conn, "exemption", id=2, worker_id="w1", kind="sick_leave", start_at=T0,
         end_at=T0 + dt.timedelta(hours=8), status="requested", requested_at=T0,
         client_id="r1")
    _ins(conn, "day_result", id=9, worker_id="w1", work_date=dt.date(2031, 5, 6),
         result={"ok": True}, provisional=True, evaluated_at=T0, needs_reevaluation=False)
    _ins(conn, "alert", id=1, worker_id="w1", village_id="v1", work_date=dt.date(2031, 5, 6),
         kind="phone_off", rule="GEO-PHONEOFF", start_at=T0, end_at=T0, status="open",
         opened_at=T0, updated_at=T0)
    _ins(conn, "flag_decision", id=1, worker_id="w1", work_date=dt.date(2031, 5, 6),
         kind="suspect", flag_key="09:00:00", decision="dismissed", reason="ok",
         decided_by="office", decided_at=T0)
    _ins(conn, "device_seq_run", device_id=1, seq_from=1, seq_to=3, received_at=T0)
    _ins(conn, "device_seq_run", device_id=2, seq_from=1, seq_to=2, received_at=T0)


def _snapshot(conn: sa.Connection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for t in SNAPSHOT:
        rows = conn.execute(sa.text(f"SELECT * FROM {t} ORDER BY id")).mappings().all()
        out[t] = [tuple(sorted((k, str(v)) for k, v in r.items() if k != W or t != "device_seq_run"))
                  for r in rows]
    return out


@pytest.fixture
def engine_at_mob02(db_backend, tmp_path) -> Iterator[sa.Engine]:
    with empty_database(db_backend, tmp_path) as url:
        engine = make_engine(url)
        try:
            upgrade(engine, "mob02")
            yield engine
        finally:
            engine.dispose()


def test_keys01_upgrades_a_database_with_data_and_downgrades(engine_at_mob02, db_backend):
    pg = db_backend == "postgresql"
    with engine_at_mob02.begin() as conn:
        _seed_at_mob02(conn, pg)
        before = _snapshot(conn)
    assert len(before["position"]) == 6

    assert upgrade(engine_at_mob02) == head_revision()
    with engine_at_mob02.connect() as conn:
        assert schema_diff(conn) == []
        assert _snapshot(conn) == before  # every row intact
        seq_workers = conn.execute(sa.text(
            "SELECT device_id, worker_id FROM device_seq_run ORDER BY device_id")).all()
        # phone-1 is bound to w2 now, but its stored fixes were w1's: the runs are w1's
        assert [tuple(r) for r in seq_workers] == [(1, "w1"), (2, "w2")]
        if pg:
            where = conn.execute(sa.text(
                "SELECT client_id, tableoid::regclass::text FROM position ORDER BY id")).all()
            assert {p for _, p in where} == {"position_p20310506", "position_default"}
    with engine_at_mob02.connect() as conn:
        # the dedupe key still refuses a resent fix...
        with pytest.raises(sa.exc.IntegrityError), conn.begin():
            _ins(conn, "position", recorded_at=T0, received_at=T0, kind="fix", worker_id="w2",
                 device_id=2, client_id="d0", datum="wgs84", mock=False, suspect=False)
        with pytest.raises(sa.exc.IntegrityError), conn.begin():
            _ins(conn, "signin", worker_id="w1", device_id=1, client_id="s1", signed_at=T0,
                 received_at=T0, lon=121.2, lat=32.55, datum="wgs84")
        # ...and a log cannot point at another worker's patrol (the key includes worker_id)
        with pytest.raises(sa.exc.IntegrityError), conn.begin():
            _ins(conn, "patrol_log", worker_id="w2", patrol_session_id=5, written_at=T0,
                 received_at=T0, text="")
        # new rows still get ids of their own after the key change (SQLite rowid, PG serial)
        with conn.begin():
            _ins(conn, "signin", worker_id="w1", device_id=1, client_id="s2", signed_at=T0,
                 received_at=T0, lon=121.2, lat=32.55, datum="wgs84")
            ids = conn.execute(sa.text("SELECT id FROM signin ORDER BY id")).scalars().all()
            assert len(ids) == 2 and 7 in ids  # PG: the serial's own numbering
            conn.execute(sa.text("DELETE FROM signin WHERE client_id = 's2'"))

    assert downgrade(engine_at_mob02, "mob02") == "mob02"
    with engine_at_mob02.connect() as conn:
        assert _snapshot(conn) == before
        assert "worker_id" not in {c["name"] for c in sa.inspect(conn).get_columns(
            "device_seq_run")}
        uniques = {u["name"] for u in sa.inspect(conn).get_unique_constraints("position")}
        assert "uq_position_device_id_client_id_recorded_at" in uniques
    assert upgrade(engine_at_mob02) == head_revision()
    with engine_at_mob02.connect() as conn:
        assert _snapshot(conn) == before
