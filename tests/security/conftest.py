"""Fixtures of the security tests: the mobile API fixtures (app, township, workers, login)."""

from tests.server.mobile.conftest import (  # noqa: F401 - fixtures
    _cheap_password_hashing,
    client,
    make_worker,
    mobile_app,
    township,
)
