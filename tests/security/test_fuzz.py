"""schemathesis against the committed mobile contract, all checks, all four phases, small budget
(the long run: ``uv run python -m bench.security.fuzz --max-examples 200``)."""

from __future__ import annotations

from bench.security.fuzz import run


def test_fuzzing_the_mobile_contract_finds_no_failure(tmp_path):
    got = run(max_examples=5, max_time=None, database_url=None, out=tmp_path / "fuzz", seed=7,
              phases="examples,coverage,fuzzing,stateful")
    assert got["exit_codes"] == [0, 0], got["tail"]
    assert got["failures"] == {}
    checks = got["checks"]
    assert len(checks) >= 12 and {"not_a_server_error", "response_schema_conformance",
                                  "use_after_free", "ignored_auth"} <= set(checks)
    assert all(c["failed"] == 0 for c in checks.values()), checks
    assert checks["not_a_server_error"]["passed"] > 100
    assert got["server_tracebacks"] == 0
