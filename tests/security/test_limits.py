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
    ms = _mobile_settings(login_burst=d.login_burst, login_per_min=d.login_per_min)
    with TestClient(build_mobile_app(migrated_engine, _settings(tmp_path), ms),
                    raise_server_exceptions=False) as c:
        yield c


def test_login_brute_force_is_throttled_and_others_unaffected(strict_mobile, make_worker):
    victim, bystander = make_worker(), make_worker()
    codes = []
    for i in range(60):  # a burst against one account, from ever new "phones"
        r = strict_mobile.post(f"{PREFIX}/auth/login", json={
            "phone": victim.phone, "password": f"guess-{i}", "device_uid": f"atk-{i}"})
        codes.append(r.status_code)
    assert set(codes[:5]) == {401} and codes.count(429) == 55
    r = strict_mobile.post(f"{PREFIX}/auth/login", json={
        "phone": victim.phone, "password": victim.password, "device_uid": victim.device_uid})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1  # even the right one
    login(strict_mobile, bystander)  # another account logs in normally


def test_office_login_brute_force_is_throttled(full_app, migrated_engine):  # noqa: F811
    names = [f"bf-{secrets.token_hex(4)}" for _ in range(2)]
    with Session(migrated_engine) as s:
        for n in names:
            create_office_user(s, username=n, password="right password", role="township_office")
        s.commit()
    with TestClient(full_app) as c:
        codes = [c.post("/api/office/login", json={"username": names[0], "password": f"x{i}"}
                        ).status_code for i in range(40)]
        assert 429 in codes and codes[-1] == 429
        assert c.post("/api/office/login", json={"username": names[1],
                                                 "password": "right password"}).status_code == 200


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
