"""Brute force and resource limits: throttled logins (other users unaffected), bodies refused
before parsing (413), huge batches, page sizes of every route (422), photo bombs.

The full-length brute force (1,000 logins a minute) and the memory measurement are
``bench/security/attack_bench.py``.
"""

from __future__ import annotations

import io
import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.auth.office_users import create_office_user
from tests.security.test_authz_matrix import ADMIN, _fill, _walk, full_app  # noqa: F401
from tests.server.mobile.conftest import PREFIX, _mobile_settings, _settings, bearer, login

PAGE_PARAMS = {"limit", "offset", "page", "page_size", "per_page", "size", "n"}


@pytest.fixture
def strict_mobile(migrated_engine, tmp_path):  # type: ignore[no-untyped-def]
    """The mobile app with the default login limits (5 per phone, refilled 5 a minute)."""
    from server.mobile import build_mobile_app
    from server.mobile.config import MobileSettings

    d = MobileSettings()
    ms = _mobile_settings(login_burst=d.login_burst, login_per_min=d.login_per_min,
                          login_ip_burst=d.login_ip_burst, login_ip_per_min=d.login_ip_per_min)
    with TestClient(build_mobile_app(migrated_engine, _settings(tmp_path), ms),
                    raise_server_exceptions=False) as c:
        yield c


def test_login_brute_force_is_throttled_and_others_unaffected(strict_mobile, make_worker):
    """Issue 15, finding 7: strangers hammering a number from new phones must not lock its
    owner out; the owner's approved phone with the right password still gets in."""
    victim, bystander = make_worker(), make_worker()
    codes = []
    with TestClient(strict_mobile.app, raise_server_exceptions=False,
                    client=(f"203.0.113.{secrets.randbelow(250) + 1}", 40000)) as attacker:
        for i in range(60):  # a burst against one account, from ever new "phones"
            r = attacker.post(f"{PREFIX}/auth/login", json={
                "phone": victim.phone, "password": f"guess-{i}", "device_uid": f"atk-{i}"})
            codes.append(r.status_code)
        # even the right password, from a phone not approved for the number: throttled
        r = attacker.post(f"{PREFIX}/auth/login", json={
            "phone": victim.phone, "password": victim.password, "device_uid": "atk-right"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert set(codes[:5]) == {401} and codes.count(429) == 55
    login(strict_mobile, victim)  # the owner, on the approved phone, from elsewhere
    login(strict_mobile, bystander)  # another account logs in normally


def test_the_owners_own_phone_has_its_own_bucket(strict_mobile, make_worker):
    w = make_worker()
    codes = [strict_mobile.post(f"{PREFIX}/auth/login", json={
        "phone": w.phone, "password": f"typo-{i}", "device_uid": w.device_uid}).status_code
        for i in range(8)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}  # guessing on it is bounded too


def test_one_address_spraying_many_numbers_is_throttled(strict_mobile, make_worker):
    from server.mobile.config import MobileSettings

    burst = int(MobileSettings().login_ip_burst)
    with TestClient(strict_mobile.app, raise_server_exceptions=False,
                    client=(f"198.18.0.{secrets.randbelow(250) + 1}", 40000)) as sprayer:
        codes = [sprayer.post(f"{PREFIX}/auth/login", json={
            "phone": f"1390000{i:04d}", "password": "123456", "device_uid": f"spray-{i}"}
        ).status_code for i in range(burst + 20)]
    # the burst, then mostly 429 (a token refills every 2 s on a slow machine: a few 401)
    rest = codes[burst:]
    assert set(codes[:burst]) == {401} and set(rest) <= {401, 429}
    assert rest.count(429) > len(rest) // 2
    login(strict_mobile, make_worker())  # another address is not affected


def test_office_login_brute_force_is_throttled(full_app, migrated_engine):  # noqa: F811
    names = [f"bf-{secrets.token_hex(4)}" for _ in range(2)]
    with Session(migrated_engine) as s:
        for n in names:
            create_office_user(s, username=n, password="right password", role="township_office")
        s.commit()
    # an address of its own: the per-address bucket lives in the run's database
    with TestClient(full_app, client=(f"198.51.100.{secrets.randbelow(250) + 1}", 1)) as c:
        codes = [c.post("/api/office/login", json={"username": names[0], "password": f"x{i}"}
                        ).status_code for i in range(40)]
        assert 429 in codes and codes[-1] == 429
        assert c.post("/api/office/login", json={"username": names[1],
                                                 "password": "right password"}).status_code == 200


def test_a_stranger_cannot_lock_an_office_user_out(full_app, migrated_engine):  # noqa: F811
    """Issue 15, finding 7, office side: the throttle is per username + source address."""
    from checkins.auth.office import MAX_FAILURES

    name = f"lo-{secrets.token_hex(4)}"
    with Session(migrated_engine) as s:
        create_office_user(s, username=name, password="right password", role="township_office")
        s.commit()
    with TestClient(full_app, client=(f"192.0.2.{secrets.randbelow(120) + 1}", 40000)) as attacker:
        codes = [attacker.post("/api/office/login", json={"username": name, "password": f"x{i}"}
                               ).status_code for i in range(MAX_FAILURES + 10)]
        assert codes[:MAX_FAILURES] == [401] * MAX_FAILURES and set(codes[MAX_FAILURES:]) == {429}
        assert attacker.post("/api/office/login", json={"username": name,
                                                        "password": "right password"}
                             ).status_code == 429
    with TestClient(full_app, client=(f"192.0.2.{secrets.randbelow(120) + 130}", 40000)) as owner:
        assert owner.post("/api/office/login", json={"username": name,
                                                     "password": "right password"}
                          ).status_code == 200


def test_oversized_bodies_are_refused_before_parsing(full_app, make_worker):  # noqa: F811
    big = b"{" + b" " * (22 * 1024 * 1024) + b"}"
    with TestClient(full_app, raise_server_exceptions=False) as c:
        # anonymous, non-mobile routes: the app-wide limit (21 MiB)
        for url in ("/api/office/login", "/office/login", "/api/office/import/grids"):
            r = c.post(url, content=big, headers={"content-type": "application/json"})
            assert r.status_code == 413, (url, r.status_code)
        # streamed without Content-Length
        r = c.post("/api/office/login", content=iter([b"x" * (1 << 20)] * 23),
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
        w = make_worker()
        tok = login(c, w)
        r = c.post(f"{PREFIX}/positions", content=b"[" + b" " * (2 << 20) + b"]",
                   headers={**bearer(tok), "content-type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        item = {"client_id": "x", "seq": 1, "kind": "heartbeat",
                "recorded_at": "2026-11-20T10:00:00+08:00", "battery_pct": 5}
        items = [{**item, "client_id": f"c{i}", "seq": i} for i in range(501)]
        r = c.post(f"{PREFIX}/positions", json={"items": items}, headers=bearer(tok))
        assert r.status_code in (413, 422) and r.json()["error"]["code"] == "batch_too_large"


def _page_params(app: Any) -> list[tuple[str, str, str, Any]]:
    out = []
    for r in _walk(app.routes):
        dep = getattr(r, "dependant", None)
        if dep is None:
            continue
        stack = [dep]
        while stack:
            d = stack.pop()
            stack += d.dependencies
            for q in d.query_params:
                if q.name in PAGE_PARAMS:
                    for m in sorted(r.methods - {"HEAD"}):
                        out.append((m, r.path, q.name, q.field_info))
    return out


def test_every_page_size_parameter_is_bounded(full_app, make_worker):  # noqa: F811
    params = _page_params(full_app)
    assert params, "no paged route found"
    with TestClient(full_app, raise_server_exceptions=False) as c:
        w = make_worker()
        tok = login(c, w)
        from tests.security.test_authz_matrix import Ctx

        ctx = Ctx(w, w, "1", "1", "1", "1", w.village_id)
        tried = 0
        for method, path, name, info in params:
            bounds = [getattr(m, "le", None) or getattr(m, "lt", None) for m in info.metadata]
            assert any(b is not None and b <= 100_000 for b in bounds), (path, name)
            h = bearer(tok) if path.startswith(PREFIX) else {"Authorization": f"Bearer {ADMIN}"}
            url = _fill(path, ctx)
            for bad in (10**9, -1):
                r = c.request(method, f"{url}?{name}={bad}", headers=h, follow_redirects=False)
                tried += 1
                assert r.status_code == 422, (method, url, name, bad, r.status_code, r.text[:200])
    assert tried >= 4


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (width, height)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


def test_photo_bombs_are_refused(client, make_worker):
    tok = login(client, make_worker())
    bomb = _png(12_000, 12_000)  # 144 Mpx in a few hundred KiB
    assert len(bomb) < 1 << 20
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"},
                    files={"photos": ("a.png", bomb, "image/png")}, headers=bearer(tok))
    assert r.status_code == 413 and r.json()["error"]["code"] == "photo_too_large"
    small = _png(64, 64)
    many = [("photos", (f"{i}.png", small, "image/png")) for i in range(30)]
    r = client.post(f"{PREFIX}/patrol-logs", data={"text": "x"}, files=many, headers=bearer(tok))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_photos"
