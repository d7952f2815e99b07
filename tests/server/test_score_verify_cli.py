"""``gridpatrol score --verify-period``: the stored period sums against the day results."""

from __future__ import annotations

import json

import sqlalchemy as sa
from typer.testing import CliRunner

from scoring.items import period_of
from server.cli import app
from tests.server.test_cli import fresh_db  # noqa: F401  (fixture)


def _engine(url: str):  # type: ignore[no-untyped-def]
    from checkins.db.engine import make_engine

    return make_engine(url)


def test_verify_period_lists_differences_and_rebuilds(fresh_db):  # noqa: F811
    runner = CliRunner()
    r = runner.invoke(app, ["demo"])
    assert r.exit_code == 0, r.output
    engine = _engine(fresh_db)
    try:
        with engine.begin() as conn:
            wid, date, result = conn.execute(sa.text(
                "SELECT worker_id, work_date, result FROM day_result ORDER BY worker_id LIMIT 1")).one()
        date = date if not isinstance(date, str) else __import__("datetime").date.fromisoformat(date)
        quarter = period_of(date, "quarter").label
        r = runner.invoke(app, ["score", "--verify-period", quarter])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["differences"] == 0

        # a day result changed behind the ORM's back (a bulk SQL edit): the sums are stale
        doc = result if isinstance(result, dict) else json.loads(result)
        doc["patrols"]["am"]["status"] = "missing"
        doc["patrols"]["pm"]["status"] = "missing"
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE day_result SET result = :r WHERE worker_id = :w AND work_date = :d"),
                         {"r": json.dumps(doc), "w": wid, "d": date})
        r = runner.invoke(app, ["score", "--verify-period", quarter])
        assert r.exit_code == 1, r.output
        out = json.loads(r.stdout)
        listed = [(d["period"], d["subject_id"]) for t in out["townships"] for d in t["differences"]]
        assert (quarter, wid) in listed and (date.strftime("%Y-%m"), wid) in listed
        r = runner.invoke(app, ["score", "--verify-period", quarter, "--rebuild"])
        assert r.exit_code == 1 and json.loads(r.stdout)["rebuilt"], r.output
        r = runner.invoke(app, ["score", "--verify-period", quarter])
        assert r.exit_code == 0, r.output
        assert runner.invoke(app, ["score", "--verify-period", "2026Q5"]).exit_code == 2
    finally:
        engine.dispose()
