"""Login, device binding, token lifetimes, refresh rotation and revocation (mobile API)."""

from __future__ import annotations

import base64
import datetime as dt
import json

import jwt
import sqlalchemy as sa
from sqlmodel import Session

from checkins.audit.models import AuditLog
from checkins.auth import phone as auth
from checkins.auth.models import Device
from checkins.auth.tokens import JWT_AUDIENCE, encode_access_token
from tests.server.mobile.conftest import PREFIX, SECRET, bearer, login


def _me(client, tokens):  # type: ignore[no-untyped-def]
    return client.get(f"{PREFIX}/me", headers=bearer(tokens))


def test_login_gives_tokens_that_work(client, make_worker):
    w = make_worker()
    tokens = login(client, w)
    assert tokens["worker_id"] == w.worker_id and tokens["expires_in_s"] > 0
    r = _me(client, tokens)
    assert r.status_code == 200 and r.json()["worker_id"] == w.worker_id


def test_wrong_password_and_unknown_phone_are_the_same_401(client, make_worker):
    w = make_worker()
    for phone, pw in ((w.phone, "nope"), ("19999999999", w.password)):
        r = client.post(f"{PREFIX}/auth/login", json={"phone": phone, "password": pw,
                                                      "device_uid": w.device_uid})
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "bad_credentials"


def test_new_phone_is_pending_until_office_approves_with_one_audit_row(client, make_worker, migrated_engine):
    w = make_worker()
    body = {"phone": w.phone, "password": w.password, "device_uid": "second-phone-" + w.worker_id}
    r = client.post(f"{PREFIX}/auth/login", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_pending"
    # still pending on a second try, and only one device row was created
    assert client.post(f"{PREFIX}/auth/login", json=body).json()["error"]["code"] == "device_pending"
    with Session(migrated_engine) as s:
        dev = s.scalars(sa.select(Device).where(Device.device_uid == body["device_uid"])).one()
        assert dev.status == "pending" and dev.worker_id == w.worker_id
        before = s.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
            AuditLog.entity == "device", AuditLog.entity_id == str(dev.id)))
        auth.approve_device(s, device_id=dev.id, actor="office:v1", reason="new phone")
        s.commit()
        rows = s.scalars(sa.select(AuditLog).where(AuditLog.entity == "device",
                                                   AuditLog.entity_id == str(dev.id))).all()
        assert before == 0 and len(rows) == 1
        assert rows[0].action == "device.approve" and rows[0].after["status"] == "approved"
    assert client.post(f"{PREFIX}/auth/login", json=body).status_code == 200


def test_a_phone_bound_to_another_worker_is_refused(client, make_worker):
    a, b = make_worker(), make_worker()
    r = client.post(f"{PREFIX}/auth/login", json={"phone": b.phone, "password": b.password,
                                                  "device_uid": a.device_uid})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_other_worker"


def test_missing_tampered_alg_none_and_expired_tokens_are_refused(client, make_worker):
    w = make_worker()
    tokens = login(client, w)
    assert client.get(f"{PREFIX}/me").json()["error"]["code"] == "token_missing"
    # tampered: flip the subject in the payload, keep the signature
    head, payload, sig = tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = client.get(f"{PREFIX}/me", headers={"Authorization": f"Bearer {head}.{forged}.{sig}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_invalid"
    # alg=none with the same claims
    none_tok = jwt.encode(claims | {"sub": w.worker_id}, key=None, algorithm="none")
    r = client.get(f"{PREFIX}/me", headers={"Authorization": f"Bearer {none_tok}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_invalid"
    # signed with another secret
    other = jwt.encode(claims | {"sub": w.worker_id}, "another-secret-" + "y" * 32, algorithm="HS256")
    assert client.get(f"{PREFIX}/me", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    # expired: a correctly signed token whose exp has passed
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired, _ = encode_access_token(secret=SECRET, worker_id=w.worker_id, device_id=str(w.device_id),
                                     session_id=claims["sid"], token_version=claims["ver"],
                                     ttl_s=60, now=past)
    r = client.get(f"{PREFIX}/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    assert claims["aud"] == JWT_AUDIENCE
    assert _me(client, tokens).status_code == 200  # the real one still works


def test_logout_revokes_access_and_refresh_at_once(client, make_worker):
    w = make_worker()
    tokens = login(client, w)
    assert client.post(f"{PREFIX}/auth/logout", headers=bearer(tokens)).status_code == 200
    r = _me(client, tokens)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"


def test_refresh_rotates_and_reuse_revokes_the_family(client, make_worker):
    w = make_worker()
    t1 = login(client, w)
    other_login = login(client, w)  # a second session of the same worker: not affected
    r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": t1["refresh_token"]})
    assert r.status_code == 200
    t2 = r.json()
    assert t2["refresh_token"] != t1["refresh_token"]
    assert _me(client, t2).status_code == 200
    # the old refresh token is used again: the whole family dies, t2 included
    r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": t1["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_reused"
    assert _me(client, t2).json()["error"]["code"] == "token_revoked"
    r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": t2["refresh_token"]})
    assert r.status_code == 401
    assert _me(client, other_login).status_code == 200


def test_password_reset_and_device_revocation_end_sessions(client, make_worker, migrated_engine):
    w = make_worker()
    tokens = login(client, w)
    with Session(migrated_engine) as s:
        auth.set_password(s, w.worker_id, "a new password")
        s.commit()
    assert _me(client, tokens).json()["error"]["code"] == "token_revoked"
    r = client.post(f"{PREFIX}/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401
    w.password = "a new password"
    tokens = login(client, w)
    with Session(migrated_engine) as s:
        auth.revoke_device(s, device_id=w.device_id, actor="office:v1", reason="phone lost")
        s.commit()
    r = _me(client, tokens)
    assert r.status_code in (401, 403)
    r = client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": w.password,
                                                  "device_uid": w.device_uid})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_revoked"


def test_login_is_rate_limited_per_phone_without_hurting_others(migrated_engine, tmp_path, make_worker):
    from fastapi.testclient import TestClient

    from server.mobile import build_mobile_app
    from tests.server.mobile.conftest import _mobile_settings, _settings

    app = build_mobile_app(migrated_engine, _settings(tmp_path),
                           _mobile_settings(login_burst=3, login_per_min=1))
    victim, other = make_worker(), make_worker()
    with TestClient(app) as c:
        codes = [c.post(f"{PREFIX}/auth/login", json={"phone": victim.phone, "password": "guess",
                                                      "device_uid": victim.device_uid}).status_code
                 for _ in range(6)]
        assert codes[:3] == [401, 401, 401] and set(codes[3:]) == {429}
        r = c.post(f"{PREFIX}/auth/login", json={"phone": victim.phone, "password": victim.password,
                                                 "device_uid": victim.device_uid})
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert login(c, other)["worker_id"] == other.worker_id


def test_login_with_a_long_device_model(client, make_worker):  # type: ignore[no-untyped-def]
    """The contract allows a 128-character model (a browser's user agent); the column keeps
    64 of it instead of failing the login (PostgreSQL refused the longer value: a 500)."""
    w = make_worker(approved=False)
    r = client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": w.password,
                                                  "device_uid": "long-model-" + w.worker_id,
                                                  "device_model": "M" * 128})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_pending"
