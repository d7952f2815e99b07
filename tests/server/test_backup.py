"""``gridpatrol backup`` / ``restore`` on the run's backend: a backup taken while a phone
uploads through the API is consistent (whole batches only); restored into a fresh database
it has the same rows per table and an intact audit chain; restore over data needs --force;
the nightly job keeps N copies."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from checkins.audit.service import verify_chain, write_audit
from checkins.auth import phone as auth
from checkins.db.backup import is_empty, list_backups, nightly_backup, table_counts
from checkins.db.engine import make_engine
from checkins.db.migrate import upgrade
from checkins.township.models import Grid, GridAssignment, Township, Village, Worker
from mobile_api_spec.simulator import PhoneSimulator, synthetic_track
from server.cli import app as cli
from server.settings import get_settings
from tests.conftest import empty_database
from tests.server.mobile.conftest import _mobile_settings, _settings

LON, LAT = 112.3, 31.7
BATCH = 25


def _township(engine: sa.Engine) -> None:
    with Session(engine) as s:
        s.add(Township(township_id="bk", name="备份镇"))
        s.flush()
        s.add(Village(village_id="bk-v", township_id="bk", name="备份村",
                      office=shapely.Point(LON, LAT), radius_m=150.0))
        s.flush()
        s.add(Grid(grid_id="bk-g", village_id="bk-v", name="网格",
                   geom=shapely.box(LON - 0.005, LAT - 0.004, LON + 0.005, LAT + 0.004)))
        s.add(Worker(worker_id="bk-w", name="备份", phone="13900000777", role="fulltime",
                     village_id="bk-v"))
        s.flush()
        s.add(GridAssignment(worker_id="bk-w", grid_id="bk-g", valid_from=dt.date(2020, 1, 1)))
        auth.set_password(s, "bk-w", "backup-password-1")
        auth.register_device(s, worker_id="bk-w", device_uid="bk-dev-1", approved=True,
                             actor="test")
        write_audit(s, actor="test", action="test.note", entity="worker", entity_id="bk-w")
        s.commit()


@pytest.fixture
def two_dbs(db_backend: str, tmp_path: Path, monkeypatch) -> Iterator[tuple[str, str]]:
    """A migrated source database with a township, and an empty target (a fresh folder on
    SQLite); ``DATABASE_URL`` points at the target."""
    with ExitStack() as stack:
        src = stack.enter_context(empty_database(db_backend, tmp_path))
        (tmp_path / "fresh").mkdir()
        dst = stack.enter_context(empty_database(db_backend, tmp_path / "fresh"))
        engine = make_engine(src)
        upgrade(engine)
        _township(engine)
        engine.dispose()
        monkeypatch.setenv("DATABASE_URL", dst)
        monkeypatch.setenv("GRIDPATROL_DATA_DIR", str(tmp_path / "fresh"))
        monkeypatch.setenv("GRIDPATROL_LOG_JSON", "false")
        get_settings.cache_clear()
        yield src, dst
        get_settings.cache_clear()


def _restore(dst: str, file: Path, *extra: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    r = CliRunner().invoke(cli, ["restore", str(file), *extra])
    make_engine(dst).dispose()
    return r


def test_backup_during_uploads_then_restore(two_dbs, tmp_path):
    src, dst = two_dbs
    engine = make_engine(src)
    mobile = __import__("server.mobile", fromlist=["build_mobile_app"]).build_mobile_app(
        engine, _settings(tmp_path), _mobile_settings())
    stop = threading.Event()
    errors: list[BaseException] = []
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=6)
    track = list(synthetic_track(LON, LAT, start, 600, seed=5))

    def phone() -> None:
        try:
            with TestClient(mobile) as c:
                sim = PhoneSimulator(phone="13900000777", password="backup-password-1",
                                     device_uid="bk-dev-1", client=c, batch_size=BATCH)
                sim.login()
                for i in range(0, len(track), BATCH):
                    if stop.is_set():
                        break
                    for p in track[i:i + BATCH]:
                        sim.record(p)
                    sim.flush()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    t = threading.Thread(target=phone)
    t.start()
    try:
        while table_counts(engine)["position"] < 3 * BATCH and t.is_alive():
            time.sleep(0.05)
        get_settings.cache_clear()
        first = tmp_path / "during.backup"
        r = CliRunner().invoke(cli, ["backup", str(first)], env={"DATABASE_URL": src})
        assert r.exit_code == 0, r.output
    finally:
        stop.set()
        t.join(timeout=120)
    assert not errors, errors
    stored = table_counts(engine)["position"]
    # the backup taken during the uploads: whole batches only, the chain intact
    r = _restore(dst, first)
    assert r.exit_code == 0, r.output
    target = make_engine(dst)
    during = table_counts(target)["position"]
    assert 3 * BATCH <= during <= stored and during % BATCH == 0
    with Session(target) as s:
        assert verify_chain(s) is None
    # restore over data is refused without --force, then the quiet backup: identical counts
    final = tmp_path / "final.backup"
    get_settings.cache_clear()
    r = CliRunner().invoke(cli, ["backup", str(final)], env={"DATABASE_URL": src})
    assert r.exit_code == 0, r.output
    r = _restore(dst, final)
    assert r.exit_code == 2 and "not empty" in r.output
    r = _restore(dst, final, "--force")
    assert r.exit_code == 0, r.output
    target.dispose()
    assert table_counts(target) == table_counts(engine)
    assert table_counts(target)["position"] == stored
    with Session(target) as s, Session(engine) as s0:
        assert verify_chain(s) is None
        q = sa.text("SELECT hash FROM audit_log ORDER BY id")
        assert s.execute(q).all() == s0.execute(q).all()
    target.dispose()
    engine.dispose()


def test_nightly_backup_keeps_n_copies(two_dbs, tmp_path):
    src, _ = two_dbs
    engine = make_engine(src)
    folder = tmp_path / "nightly"
    t0 = dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)
    for d in range(4):
        out = nightly_backup(engine, folder, keep=2, now=t0 + dt.timedelta(days=d))
    names = [b["file"] for b in list_backups(folder)]
    assert len(names) == 2 and names[0] == Path(out["file"]).name
    assert "20260304" in names[0] and "20260303" in names[1]
    assert out["removed"] and not is_empty(engine)
    engine.dispose()


def test_restore_refuses_a_file_of_the_other_backend(two_dbs, tmp_path, db_backend):
    _, dst = two_dbs
    other = tmp_path / "other.backup"
    other.write_bytes(b"PGDMP..." if db_backend == "sqlite" else b"SQLite format 3\x00....")
    r = _restore(dst, other)
    assert r.exit_code == 2 and "copy-data" in r.output
