"""The committed contract (mobile_api_spec/) agrees with the code."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from mobile_api_spec import examples as ex
from mobile_api_spec.generate import SPEC_PATH, build_document, render


def test_committed_openapi_document_matches_the_code():
    committed = SPEC_PATH.read_text(encoding="utf-8")
    assert committed == render(build_document()), (
        "mobile_api_spec/openapi.json is out of date: run `uv run python -m mobile_api_spec.generate`"
        " and add a line to mobile_api_spec/CHANGELOG.md")


def test_document_is_versioned_and_only_mobile():
    doc = build_document()
    assert doc["info"]["version"].startswith("1.")
    assert doc["paths"] and all(p.startswith("/api/mobile/v1/") for p in doc["paths"])


def test_every_endpoint_has_an_example():
    doc = build_document()
    wanted = {(m.upper(), re.sub(r"\{[a-z_]+\}", "{x}", p)) for p, ops in doc["paths"].items() for m in ops}
    have = {(e["request"]["method"], re.sub(r"\{\{[a-z_]+\}\}", "{x}", e["request"]["path"]))
            for _name, e in ex.load_examples()}
    assert wanted - have == set(), f"endpoints without an example: {sorted(wanted - have)}"


def test_examples_replay_through_the_app(migrated_engine, tmp_path):
    """traccar decoder-test style: every committed exchange, replayed, gives the same answer."""
    from server.mobile import build_mobile_app
    from tests.server.mobile.conftest import _mobile_settings, _settings

    with Session(migrated_engine) as s:
        seed_needed = s.execute(sa.text("SELECT count(*) FROM worker WHERE worker_id = 'ex-w1'")).scalar() == 0
        assert seed_needed, "the example township must be fresh for a replay"
        ex.seed_example_township(s)
    app = build_mobile_app(migrated_engine, _settings(tmp_path), _mobile_settings())
    with TestClient(app) as client:
        diffs = ex.replay(client)
    assert len(diffs) >= 15
    assert {k: v for k, v in diffs.items() if v} == {}


def test_match_detects_differences():
    assert ex.match({"a": 1, "b": "{{any}}"}, {"a": 1, "b": [1, 2]}) == []
    assert ex.match({"a": 1}, {"a": 2}) and ex.match({"a": 1}, {"a": 1, "c": 3})
    assert ex.match([1, 2], [1]) and ex.match({"a": {"b": 1}}, {"a": {}})


def test_the_served_app_exposes_exactly_the_documented_mobile_api(tmp_path):
    """``gridpatrol serve`` (server.app) includes the same mobile operations as the document."""
    from server.app import create_app
    from server.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", data_dir=tmp_path))
    served = {p: ops for p, ops in app.openapi()["paths"].items() if p.startswith("/api/mobile/")}
    doc = build_document()
    assert set(served) == set(doc["paths"])
    for path, ops in doc["paths"].items():
        assert {m: o["operationId"] for m, o in ops.items()} == \
            {m: o["operationId"] for m, o in served[path].items()}
