"""Fixtures of the reliability smoke tests: real uvicorn servers on the run's test database.

The full, longer runs are the scripts in ``bench/reliability/`` (docs/reliability.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bench.reliability.harness import Phone, ServerProc, seed_phones


@pytest.fixture(scope="session")
def server(migrated_engine: sa.Engine, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[ServerProc]:
    """One ``uvicorn server.app:create_app`` process on the test database, shared by the
    reliability tests of the run (start-up is the slow part); a test may kill and restart it."""
    url = migrated_engine.url.render_as_string(hide_password=False)
    srv = ServerProc(url, tmp_path_factory.mktemp("rel-server"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def start_server(migrated_engine: sa.Engine, tmp_path: Path) -> Iterator[Callable[..., ServerProc]]:
    """Factory: start another server process on the test database (stopped after the test)."""
    started: list[ServerProc] = []
    url = migrated_engine.url.render_as_string(hide_password=False)

    def start(**kw: object) -> ServerProc:
        srv = ServerProc(url, tmp_path / f"srv{len(started)}", **kw)  # type: ignore[arg-type]
        started.append(srv)
        srv.start()
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def phones(migrated_engine: sa.Engine) -> Callable[[int], list[Phone]]:
    """Factory: ``n`` workers with approved phones and minted tokens in a fresh township."""
    return lambda n: seed_phones(migrated_engine, n)


# the mobile API tests' in-process app and township factories, reused here
from tests.server.mobile.conftest import (  # noqa: E402,F401
    _cheap_password_hashing,
    client,
    make_worker,
    mobile_app,
    township,
)
