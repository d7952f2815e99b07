"""Issue 15, findings 3, 5 and 8 (office side): embedded data escaped for the script context,
CSRF on every state change (forms and JSON), login CSRF, framing, security headers."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from checkins import tables as m
from tests.server.office.conftest import DAY, PASSWORD

pytestmark = pytest.mark.db

EVIL = "<!--<script>"


def _ex(world, eid: int) -> m.Exemption:  # type: ignore[no-untyped-def]
    return world.session.scalars(sa.select(m.Exemption).where(m.Exemption.id == eid)).one()


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username: str) -> str:  # type: ignore[no-untyped-def]
    """Log in through the form as a browser does; the CSRF token of the new session."""
    form = client.get("/office/login")
    assert form.status_code == 200 and "gp_csrf" in form.headers.get("set-cookie", "")
    r = client.post("/office/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": _token(form.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "gp_office" in client.cookies
    return _token(client.get("/office/decisions").text)


def test_a_leave_reason_cannot_blank_the_worker_day_page(client, world):
    """Finding 3: ``<!--<script>`` in the embedded data swallowed the rest of the page."""
    eid = world.exemption("own")
    _ex(world, eid).note = EVIL + "</script><b>x</b>&'"
    world.session.flush()
    page = client.get(f"/office/workers/{world.workers['own']}/days/{DAY}",
                      headers=world.headers("village_office")).text
    block = re.search(r'<script type="application/json" id="day-data">(.*?)</script>', page, re.S)
    assert block is not None
    raw = block.group(1)
    assert "<" not in raw and ">" not in raw and "&" not in raw and "'" not in raw
    data = json.loads(raw)
    assert any(e["note"].startswith(EVIL) for e in data["exemptions"])
    # what follows the data block is still there for the browser to load
    rest = page[block.end():]
    assert '<script src="/office/static/vendor/leaflet/leaflet.js"></script>' in rest
    assert '<script src="/office/static/worker_day.js"></script>' in rest


def test_every_post_form_carries_the_session_token(client, world):
    token = _login(client, f"{world.tag}-village_office")
    world.exemption("own")
    world.device("own")
    pages = [client.get("/office/decisions").text,
             client.get(f"/office/workers/{world.workers['own']}/days/{DAY}").text]
    forms = [f for p in pages for f in re.findall(r'<form method="post".*?</form>', p, re.S)]
    assert len(forms) >= 4  # logout, exemption, device, flag
    assert all(f'name="csrf_token" value="{token}"' in f for f in forms)


def test_a_form_without_the_token_or_from_another_origin_changes_nothing(client, world):
    """Finding 5: a page on the same site (another port) approved a leave request as v01."""
    token = _login(client, f"{world.tag}-village_office")
    eid = world.exemption("own")
    url = f"/office/exemptions/{eid}/decision"
    tries = [
        ({"decision": "approve", "reason": "ok"}, {}),  # no token
        ({"decision": "approve", "reason": "ok", "csrf_token": "0" * 64}, {}),  # a wrong one
        ({"decision": "approve", "reason": "ok", "csrf_token": token},
         {"Origin": "http://testserver:8081"}),  # another port of the same host
        ({"decision": "approve", "reason": "ok", "csrf_token": token},
         {"Referer": "http://evil.testserver/page"}),  # a sibling subdomain
        ({"decision": "approve", "reason": "ok", "csrf_token": token}, {"Origin": "null"}),
    ]
    for data, headers in tries:
        r = client.post(url, data=data, headers=headers, follow_redirects=False)
        assert r.status_code == 403, (data, headers, r.status_code)
        world.session.expire_all()
        assert _ex(world, eid).status == "requested"
    r = client.post(url, data={"decision": "approve", "reason": "ok", "csrf_token": token},
                    headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303
    world.session.expire_all()
    assert _ex(world, eid).status == "approved"


def test_json_state_changes_with_the_cookie_need_the_header(client, world):
    token = _login(client, f"{world.tag}-village_office")
    eid = world.exemption("own")
    url = f"/api/office/exemptions/{eid}/decision"
    body = {"decision": "deny", "reason": "no"}
    assert client.post(url, json=body).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": "x" * 64}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": token}).status_code == 200
    # the logout form too (a forced logout is a state change)
    assert client.post("/office/logout", follow_redirects=False).status_code == 403


def test_bearer_clients_are_not_asked_for_a_token(client, world):
    """Scripts and the admin token send no cookie: nothing ambient to forge."""
    eid = world.exemption("own")
    r = client.post(f"/api/office/exemptions/{eid}/decision",
                    json={"decision": "approve", "reason": "ok"},
                    headers=world.headers("admin_token"))
    assert r.status_code == 200, r.text


def test_login_csrf_is_refused(client, world):
    """Finding 5: a cross-site form logged the browser in as another office user."""
    data = {"username": f"{world.tag}-township_office", "password": PASSWORD}
    r = client.post("/office/login", data=data, follow_redirects=False)  # no pre-session cookie
    assert r.status_code == 403 and "gp_office" not in client.cookies
    form = client.get("/office/login")
    r = client.post("/office/login", data=data, follow_redirects=False)  # cookie, no token
    assert r.status_code == 403 and "gp_office" not in client.cookies
    r = client.post("/office/login", data=data | {"csrf_token": _token(form.text)},
                    headers={"Origin": "https://attacker.example"}, follow_redirects=False)
    assert r.status_code == 403 and "gp_office" not in client.cookies
    r = client.post("/office/login", data=data | {"csrf_token": _token(form.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and "gp_office" in client.cookies


def test_security_headers_on_pages_api_and_static(client, world):
    """Finding 8 (and the framing of finding 5): no security header on any response."""
    h = world.headers("township_office")
    page = client.get(f"/office/villages/{world.villages['own']}/days/{DAY}", headers=h)
    api = client.get(f"/api/office/workers/{world.workers['own']}/days/{DAY}", headers=h)
    login = client.get("/office/login")
    static = client.get("/office/static/vendor/leaflet/leaflet.js")
    for r in (page, api, login, static):
        assert r.status_code == 200
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
    for r in (page, api, login):  # tracks, names: never kept by a browser or a proxy
        assert r.headers["cache-control"] == "no-store"
    assert "no-store" not in static.headers.get("cache-control", "")
