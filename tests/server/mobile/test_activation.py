"""Worker app accounts: activation codes (use once, expiry, guessing), office reset, leaving
the roster. Through the mobile API (``POST /auth/activate``) and ``checkins.auth.accounts``."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.audit.models import AuditLog
from checkins.audit.service import verify_chain
from checkins.auth import accounts
from checkins.auth import phone as auth
from checkins.auth.models import ActivationCode, Device, MobileAccount
from checkins.township.models import GridAssignment, Worker
from tests.server.mobile.conftest import (
    PREFIX,
    Township_,
    _mobile_settings,
    _settings,
    bearer,
    login,
)

NEW_PW = "my own password 1"


def _new_worker(engine: sa.Engine, township: Township_) -> tuple[str, str]:
    """A worker of the township without an app account: (worker_id, phone)."""
    tag = secrets.token_hex(4)
    wid, phone = f"a{tag}", "1" + str(int(tag, 16)).rjust(10, "0")[-10:]
    with Session(engine) as s:
        s.add(Worker(worker_id=wid, name=f"新人{tag}", phone=phone, role="fulltime",
                     village_id=township.village_id))
        s.flush()
        s.add(GridAssignment(worker_id=wid, grid_id=township.grid_id,
                             valid_from=dt.date(2020, 1, 1)))
        s.commit()
    return wid, phone


def _issue(engine: sa.Engine, wid: str, **kw) -> accounts.IssuedCode:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        codes = accounts.issue_codes(s, actor="test", worker_ids=[wid], **kw)
        s.commit()
    assert len(codes) == 1
    return codes[0]


def _activate(client: TestClient, phone: str, code: str, device: str, pw: str = NEW_PW):
    return client.post(f"{PREFIX}/auth/activate", json={
        "phone": phone, "code": code, "new_password": pw, "device_uid": device})


def test_code_format_and_storage(migrated_engine, township):
    wid, _ = _new_worker(migrated_engine, township)
    code = _issue(migrated_engine, wid).code
    assert len(code) == 14 and code.count("-") == 2
    assert set(code.replace("-", "")) <= set(accounts.ALPHABET)
    with Session(migrated_engine) as s:
        row = s.scalars(sa.select(ActivationCode).where(ActivationCode.worker_id == wid)).one()
    assert row.code_hash.startswith("$argon2") and code.replace("-", "") not in row.code_hash
    # the look-alikes and separators a person may type are read as the code
    assert accounts.normalize_code(code.lower().replace("-", " ")) == code.replace("-", "")
    assert accounts.normalize_code("o1l-I") == "0111"


def test_activate_pending_phone_then_office_approves_then_login(client, migrated_engine,
                                                                township):
    wid, phone = _new_worker(migrated_engine, township)
    code = _issue(migrated_engine, wid).code
    r = _activate(client, phone, code.lower(), "act-dev-1")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["worker_id"] == wid and body["device_status"] == "pending"
    assert body["tokens"] is None
    # the phone waits for the village office
    r = client.post(f"{PREFIX}/auth/login", json={"phone": phone, "password": NEW_PW,
                                                  "device_uid": "act-dev-1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "device_pending"
    with Session(migrated_engine) as s:
        dev = s.scalars(sa.select(Device).where(Device.device_uid == "act-dev-1")).one()
        assert dev.worker_id == wid
        auth.approve_device(s, device_id=dev.id, actor="office:v", reason="本人手机")
        s.commit()
        acts = s.scalars(sa.select(AuditLog.action).where(AuditLog.entity_id == wid)).all()
    assert "account.activate" in acts
    r = client.post(f"{PREFIX}/auth/login", json={"phone": phone, "password": NEW_PW,
                                                  "device_uid": "act-dev-1"})
    assert r.status_code == 200 and r.json()["worker_id"] == wid


def test_code_reuse_refused(client, migrated_engine, township):
    wid, phone = _new_worker(migrated_engine, township)
    code = _issue(migrated_engine, wid).code
    assert _activate(client, phone, code, "reuse-dev-1").status_code == 200
    r = _activate(client, phone, code, "reuse-dev-1", pw="someone else 99")
    assert r.status_code == 401 and r.json()["error"] == {
        "code": "activation_used", "field": "code", "message": "激活码已经用过，请直接登录",
        "detail": r.json()["error"]["detail"]}
    # the first password still works (approve the phone to see it)
    with Session(migrated_engine) as s:
        dev = s.scalars(sa.select(Device).where(Device.device_uid == "reuse-dev-1")).one()
        auth.approve_device(s, device_id=dev.id, actor="test")
        s.commit()
    assert client.post(f"{PREFIX}/auth/login", json={
        "phone": phone, "password": NEW_PW, "device_uid": "reuse-dev-1"}).status_code == 200
    assert client.post(f"{PREFIX}/auth/login", json={
        "phone": phone, "password": "someone else 99",
        "device_uid": "reuse-dev-1"}).status_code == 401


def test_expired_code_refused(client, migrated_engine, township):
    wid, phone = _new_worker(migrated_engine, township)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    code = _issue(migrated_engine, wid, ttl_days=7, now=past).code
    r = _activate(client, phone, code, "exp-dev-1")
    assert r.status_code == 401 and r.json()["error"]["code"] == "activation_expired"
    with Session(migrated_engine) as s:
        assert s.get(MobileAccount, wid) is None
        assert s.scalars(sa.select(Device).where(Device.device_uid == "exp-dev-1")).first() is None


def test_reissued_code_voids_the_older_one(client, migrated_engine, township):
    wid, phone = _new_worker(migrated_engine, township)
    old = _issue(migrated_engine, wid).code
    new = _issue(migrated_engine, wid).code
    r = _activate(client, phone, old, "re-dev-1")
    assert r.status_code == 401 and r.json()["error"]["code"] == "activation_invalid"
    assert _activate(client, phone, new, "re-dev-1").status_code == 200


def test_guessing_voids_the_code_after_a_few_wrong_tries(client, migrated_engine, township):
    wid, phone = _new_worker(migrated_engine, township)
    code = _issue(migrated_engine, wid).code
    for i in range(accounts.MAX_FAILED):
        r = _activate(client, phone, accounts.new_code(), f"guess-dev-{i}")
        assert r.status_code == 401 and r.json()["error"]["code"] == "activation_invalid"
    # the right code now comes too late: the office has to print a new one
    r = _activate(client, phone, code, "guess-dev-x")
    assert r.status_code == 401 and r.json()["error"]["code"] == "activation_invalid"
    with Session(migrated_engine) as s:
        row = s.scalars(sa.select(ActivationCode).where(ActivationCode.worker_id == wid)).one()
        assert row.failed >= accounts.MAX_FAILED and row.revoked_at is not None
        assert s.get(MobileAccount, wid) is None
    # an unknown phone gets the same answer as a wrong code
    r = _activate(client, "19999999999", code, "guess-dev-y")
    assert r.status_code == 401 and r.json()["error"]["code"] == "activation_invalid"


def test_guessing_is_throttled_per_phone(migrated_engine, township, tmp_path: Path):
    from server.mobile import build_mobile_app

    app = build_mobile_app(migrated_engine, _settings(tmp_path),
                           _mobile_settings(login_burst=3, login_per_min=1))
    wid, phone = _new_worker(migrated_engine, township)
    code = _issue(migrated_engine, wid).code
    with TestClient(app) as c:
        codes = [_activate(c, phone, "AAAA-BBBB-CCCC", f"thr-dev-{i}").status_code
                 for i in range(4)]
        assert codes == [401, 401, 401, 429]
        r = _activate(c, phone, code, "thr-dev-9")  # even the right code waits
        assert r.status_code == 429 and "Retry-After" in r.headers


def test_missing_field_named(client):
    r = client.post(f"{PREFIX}/auth/activate", json={"phone": "13800000009", "code": "ABCD-EFGH",
                                                     "device_uid": "dev-x-1"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "new_password"
    r = client.post(f"{PREFIX}/auth/activate", json={
        "phone": "13800000009", "code": "ABCD-EFGH", "device_uid": "dev-x-1",
        "new_password": "short"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "new_password"


def test_office_reset_ends_logins_and_old_password(client, migrated_engine, make_worker,
                                                  township):
    w = make_worker()
    tokens = login(client, w)
    assert client.get(f"{PREFIX}/me", headers=bearer(tokens)).status_code == 200
    with Session(migrated_engine) as s:
        with pytest.raises(LookupError):  # another village's office cannot
            accounts.reset_account(s, worker_id=w.worker_id, actor="office:other",
                                   village_id="not-" + township.village_id)
        code = accounts.reset_account(s, worker_id=w.worker_id, actor="office:v",
                                      village_id=township.village_id, reason="忘记密码")
        s.commit()
        audit = s.scalars(sa.select(AuditLog).where(AuditLog.action == "account.reset",
                                                    AuditLog.entity_id == w.worker_id)).one()
        assert audit.actor == "office:v" and audit.reason == "忘记密码"
        assert verify_chain(s) is None
    r = client.get(f"{PREFIX}/me", headers=bearer(tokens))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    r = client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": w.password,
                                                  "device_uid": w.device_uid})
    assert r.status_code == 401
    # the approved phone activates with the new code and is logged in at once
    r = _activate(client, w.phone, code.code, w.device_uid)
    assert r.status_code == 200 and r.json()["device_status"] == "approved"
    access = r.json()["tokens"]["access_token"]
    assert client.get(f"{PREFIX}/me", headers={"Authorization": f"Bearer {access}"}
                      ).status_code == 200


def test_worker_who_left_the_roster_is_disabled(client, migrated_engine, make_worker, township):
    stay, leave = make_worker(), make_worker()
    tokens = login(client, leave)
    waiting = _new_worker(migrated_engine, township)
    _issue(migrated_engine, waiting[0])
    roster = ("worker_id,name,role,grid_id,village_id\n"
              f"{stay.worker_id},留下,fulltime,{township.grid_id},{township.village_id}\n")
    with Session(migrated_engine) as s:
        report = accounts.import_file(s, "roster", roster.encode(),
                                      f"roster-{township.village_id}.csv", actor="test")
        s.commit()
    assert sorted(report.disabled) == sorted([leave.worker_id, waiting[0]])
    r = client.get(f"{PREFIX}/me", headers=bearer(tokens))
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_revoked"
    assert client.post(f"{PREFIX}/auth/refresh", json={
        "refresh_token": tokens["refresh_token"]}).status_code == 401
    r = client.post(f"{PREFIX}/auth/login", json={"phone": leave.phone, "password": leave.password,
                                                  "device_uid": leave.device_uid})
    assert r.status_code == 401
    with Session(migrated_engine) as s:
        gone = s.get(Worker, leave.worker_id)
        assert gone is not None and gone.active is False  # kept for retention
        assert s.get(Worker, stay.worker_id).active is True
        # the waiting code died with the roster line
        assert s.scalars(sa.select(ActivationCode.revoked_at).where(
            ActivationCode.worker_id == waiting[0])).one() is not None
        assert s.scalars(sa.select(AuditLog).where(AuditLog.action == "account.disable")
                         .order_by(AuditLog.id.desc())).first().after["workers"] == sorted(
                             [leave.worker_id, waiting[0]])
    # the one who stays logs in as before
    assert login(client, stay)["worker_id"] == stay.worker_id
