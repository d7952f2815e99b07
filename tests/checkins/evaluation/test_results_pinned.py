"""Results are bit-identical to the code before the issue-14 restructuring.

The golden digests in ``pinned_digests.json`` were computed by ``pin_results.py`` run on
the old tree (d9bb627); see that module for what each digest covers. A change that moves
code must leave every digest as it is; a change that means to alter results regenerates the
file (``python tests/checkins/evaluation/pin_results.py --write``) and says why.
"""

from __future__ import annotations

import json

import pytest

from tests.checkins.evaluation.pin_results import GOLDEN, all_digests, digest


@pytest.fixture(scope="module")
def golden() -> dict[str, str]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def test_engine_nightly_rows_live_check_and_score_sheets_are_unchanged(golden):
    got = all_digests()
    assert set(got) == set(golden)
    changed = sorted(k for k in golden if got[k] != golden[k])
    assert not changed, f"results changed: {changed}"


def test_the_digest_notices_a_one_ulp_change():
    assert digest({"x": 0.1}) != digest({"x": 0.1 + 2**-56})
    assert digest({"a": 1, "b": 2}) == digest({"b": 2, "a": 1})
