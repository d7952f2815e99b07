"""schemathesis against the committed mobile contract, all checks, all four phases, small budget,
on the run's backend (a throwaway database of it; the long run: ``uv run python -m
bench.security.fuzz --max-examples 200``)."""

from __future__ import annotations

import pytest

from bench.security.fuzz import run
from tests.conftest import empty_database


@pytest.mark.db
def test_fuzzing_the_mobile_contract_finds_no_failure(tmp_path, db_backend):
    with empty_database(db_backend, tmp_path) as url:
        got = run(max_examples=5, max_time=None, database_url=url, out=tmp_path / "fuzz",
                  seed=7, phases="examples,coverage,fuzzing,stateful")
    assert got["exit_codes"] == [0, 0], got["tail"]
    assert got["failures"] == {}
    checks = got["checks"]
    assert len(checks) >= 12 and {"not_a_server_error", "response_schema_conformance",
                                  "use_after_free", "ignored_auth"} <= set(checks)
    assert all(c["failed"] == 0 for c in checks.values()), checks
    assert checks["not_a_server_error"]["passed"] > 100
    assert got["server_tracebacks"] == 0
    # 0 server errors and 0 schema violations: the two checks named, passed and not failed
    for name in ("not_a_server_error", "response_schema_conformance",
                 "negative_data_rejection", "positive_data_acceptance"):
        assert checks[name]["failed"] == 0 and checks[name]["passed"] > 0, (name, checks[name])
