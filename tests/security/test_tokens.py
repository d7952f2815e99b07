"""Tokens after a password change by the worker (POST /auth/password): every access and refresh
token refused, the old password refused, one audit row; a wrong current password changes
nothing. (Tampered, expired, alg=none, logout, reuse: tests/server/mobile/test_auth.py.)"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Session

from checkins.audit.models import AuditLog
from tests.server.mobile.conftest import PREFIX, bearer, login


def _audit(engine, wid: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
            AuditLog.action == "account.password_change", AuditLog.entity_id == wid)))


def test_password_change_ends_every_login(client, make_worker, migrated_engine):
    w = make_worker()
    t1, t2 = login(client, w), login(client, w)  # two sessions of the worker
    r = client.post(f"{PREFIX}/auth/password", headers=bearer(t1),
                    json={"old_password": "wrong", "new_password": "another password 1"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "bad_credentials"
    assert client.get(f"{PREFIX}/me", headers=bearer(t2)).status_code == 200
    assert _audit(migrated_engine, w.worker_id) == 0

    r = client.post(f"{PREFIX}/auth/password", headers=bearer(t1),
                    json={"old_password": w.password, "new_password": "another password 1"})
    assert r.status_code == 200, r.text
    assert _audit(migrated_engine, w.worker_id) == 1
    for t in (t1, t2):
        r = client.get(f"{PREFIX}/me", headers=bearer(t))
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
        r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": t["refresh_token"]})
        assert r.status_code == 401
    r = client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": w.password,
                                                  "device_uid": w.device_uid})
    assert r.status_code == 401
    w.password = "another password 1"
    assert client.get(f"{PREFIX}/me", headers=bearer(login(client, w))).status_code == 200


def test_password_change_is_throttled(client, make_worker, mobile_app):
    from server.mobile.deps import Limiters
    from server.mobile.ratelimit import TokenBucket

    mobile_app.state.mobile_limiters = Limiters(
        login_phone=TokenBucket(3, 0.0001), login_device=TokenBucket(3, 0.0001),
        login_ip=TokenBucket(1000, 1000), upload=TokenBucket(1000, 1000))
    w = make_worker()
    tok = login(client, w)
    codes = [client.post(f"{PREFIX}/auth/password", headers=bearer(tok), json={
        "old_password": f"guess{i}", "new_password": "whatever 123"}).status_code
        for i in range(6)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429, 429]
