"""``gridpatrol accounts issue|reset`` on the run's backend."""

from __future__ import annotations

from typer.testing import CliRunner

from server.cli import app
from server.settings import get_settings
from tests.checkins.factories import ROSTER, as_bytes, township_doc
from tests.server.test_cli import _count, fresh_db  # noqa: F401 - the fixture


def _run(*args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    return CliRunner().invoke(app, list(args))


def test_issue_per_village_then_reset(fresh_db, tmp_path):  # noqa: F811
    (tmp_path / "g.geojson").write_bytes(as_bytes(township_doc()))
    (tmp_path / "r.csv").write_text(ROSTER, encoding="utf-8")
    assert _run("import", "grids", str(tmp_path / "g.geojson")).exit_code == 0
    assert _run("import", "roster", str(tmp_path / "r.csv")).exit_code == 0
    r = _run("accounts", "issue", "--village", "V1")
    assert r.exit_code == 0, r.output
    lines = [ln.split("\t") for ln in r.stdout.splitlines()[1:]]
    assert [ln[1] for ln in lines] == ["w01", "w02"] and all(len(ln[4]) == 14 for ln in lines)
    assert lines[0][5].endswith("+08:00")  # the township's local time
    # they have no account yet, so issuing again replaces the first codes
    r = _run("accounts", "issue", "--village", "V1")
    assert r.exit_code == 0 and _count(fresh_db, "activation_code") == 4
    assert _count(fresh_db, "activation_code WHERE revoked_at IS NOT NULL") == 2
    r = _run("accounts", "reset", "w03", "--reason", "换手机")
    assert r.exit_code == 0 and "w03" in r.stdout
    r = _run("accounts", "reset", "nobody")
    assert r.exit_code == 2 and "no active worker" in r.output
    assert _count(fresh_db, "audit_log WHERE action = 'account.reset'") == 1
