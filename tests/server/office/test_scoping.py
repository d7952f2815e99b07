"""Scoping matrix: every office endpoint x every role x own/other village.

The routes are enumerated from the app: every route under ``/api/office`` or ``/office``
and every route that depends on the office scope (or the township-office guard) must have a
case, so a new office route without a scope test fails here. The cases are :data:`CASES`
plus ``SCOPE_CASES`` of any ``tests/<package>/scope_cases*.py`` (same format: ``(method,
path) -> (kind, build(world, side) -> (method, url, request kwargs))``), so the owner of a
router under another prefix can keep its cases next to its own tests. Kinds: ``scoped``
(an object of a village in the path, query or body), ``township`` (township office and
administrator only: 403 for a village office), ``township_form`` (the same for a page form
that answers a refusal with a redirect carrying ``error=``), ``self`` (the caller's own
things; a village office's answer must not mention the other village).

Rule (docs/office.md): an object of a village outside the caller's scope answers 404 (never
403, never 2xx); a role that may not use an endpoint at all answers 403; no credentials:
401 for the API and POSTs, a redirect to the login page for page GETs.
"""

from __future__ import annotations

import datetime as dt
import importlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fastapi.routing as fr
import pytest
import sqlalchemy as sa

from checkins.auth.models import OfficeSession
from checkins.auth.office import _hash
from server.deps import require_office
from server.office.auth import office_scope
from tests.server.office.conftest import DAY, World

ROLES = ("anonymous", "village_office", "township_office", "admin", "admin_token")
PUBLIC = {("GET", "/office/login"), ("POST", "/office/login"), ("POST", "/api/office/login")}

Req = tuple[str, str, dict[str, Any]]


def _walk(routes: Any) -> Iterator[Any]:
    for r in routes:
        if isinstance(r, fr._IncludedRouter):
            yield from _walk(r.effective_candidates())
        else:
            yield r


def _calls(dependant: Any) -> Iterator[Any]:
    yield dependant.call
    for d in dependant.dependencies:
        yield from _calls(d)


def office_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every office route of the app (static files excluded)."""
    out = set()
    for r in _walk(app.routes):
        path = getattr(r, "path", "")
        methods = getattr(r, "methods", None)
        if not methods or path.startswith("/office/static"):
            continue
        dependant = getattr(r, "dependant", None)
        guarded = dependant is not None and any(
            c in (office_scope, require_office) for c in _calls(dependant))
        if guarded or path.startswith(("/api/office", "/office")):
            for meth in methods - {"HEAD"}:
                out.add((meth, path))
    return out


def _ex(w: World, side: str) -> int:
    return w.exemption(side)


def _village(w: World, side: str) -> str:
    return w.villages[side]


def _week(w: World, side: str) -> str:
    return (DAY - dt.timedelta(days=DAY.weekday())).isoformat()


def _flag_body(w: World, side: str, kind: str = "offpost") -> tuple[str, dict[str, Any]]:
    date, key = w.flagged_day(side, kind)
    return (f"/workers/{w.workers[side]}/days/{date}/flags",
            {"kind": kind, "key": key, "decision": "confirm", "reason": "核实属实"})


# kind: see the module docstring
CASES: dict[tuple[str, str], tuple[str, Callable[[World, str], Req]]] = {
    ("POST", "/api/office/logout"): ("self", lambda w, s: ("POST", "/api/office/logout", {})),
    ("GET", "/api/office/me"): ("self", lambda w, s: ("GET", "/api/office/me", {})),
    ("GET", "/api/office/villages"): ("self", lambda w, s: ("GET", "/api/office/villages", {})),
    ("GET", "/api/office/villages/{village_id}/days/{date}"): ("scoped", lambda w, s: (
        "GET", f"/api/office/villages/{_village(w, s)}/days/{DAY}", {})),
    ("GET", "/api/office/villages/{village_id}/days/{date}/export.{fmt}"): ("scoped", lambda w, s: (
        "GET", f"/api/office/villages/{_village(w, s)}/days/{DAY}/export.csv", {})),
    ("GET", "/api/office/villages/{village_id}/weeks/{start}"): ("scoped", lambda w, s: (
        "GET", f"/api/office/villages/{_village(w, s)}/weeks/{_week(w, s)}", {})),
    ("GET", "/api/office/villages/{village_id}/weeks/{start}/export.{fmt}"): ("scoped", lambda w, s: (
        "GET", f"/api/office/villages/{_village(w, s)}/weeks/{_week(w, s)}/export.xlsx", {})),
    ("GET", "/api/office/villages/{village_id}/live"): ("scoped", lambda w, s: (
        "GET", f"/api/office/villages/{_village(w, s)}/live", {})),
    ("GET", "/api/office/workers/{worker_id}/days/{date}"): ("scoped", lambda w, s: (
        "GET", f"/api/office/workers/{w.workers[s]}/days/{DAY}", {})),
    ("POST", "/api/office/workers/{worker_id}/days/{date}/flags"): ("scoped", lambda w, s: (
        lambda p, b: ("POST", "/api/office" + p, {"json": b}))(*_flag_body(w, s))),
    ("GET", "/api/office/exemptions"): ("scoped", lambda w, s: (
        "GET", f"/api/office/exemptions?village_id={_village(w, s)}", {})),
    ("POST", "/api/office/exemptions/{exemption_id}/decision"): ("scoped", lambda w, s: (
        "POST", f"/api/office/exemptions/{_ex(w, s)}/decision",
        {"json": {"decision": "approve", "reason": "病假条已收"}})),
    ("GET", "/api/office/devices"): ("scoped", lambda w, s: (
        "GET", f"/api/office/devices?village_id={_village(w, s)}", {})),
    ("POST", "/api/office/devices/{device_id}/decision"): ("scoped", lambda w, s: (
        "POST", f"/api/office/devices/{w.device(s)}/decision",
        {"json": {"decision": "approve", "reason": "本人手机"}})),
    ("GET", "/api/office/audit"): ("township", lambda w, s: ("GET", "/api/office/audit", {})),
    ("GET", "/api/office/audit.csv"): ("township", lambda w, s: (
        "GET", "/api/office/audit.csv?limit=50", {})),
    ("POST", "/api/office/import/{kind}"): ("township", lambda w, s: (
        "POST", "/api/office/import/not-a-kind", {"files": {"file": ("r.csv", b"x\n")}})),
    ("GET", "/api/jobs"): ("township", lambda w, s: ("GET", "/api/jobs", {})),
    ("POST", "/office/logout"): ("self", lambda w, s: ("POST", "/office/logout", {})),
    ("GET", "/office"): ("self", lambda w, s: ("GET", "/office", {})),
    ("GET", "/office/villages/{village_id}/days/{date}"): ("scoped", lambda w, s: (
        "GET", f"/office/villages/{_village(w, s)}/days/{DAY}", {})),
    ("GET", "/office/villages/{village_id}/weeks/{start}"): ("scoped", lambda w, s: (
        "GET", f"/office/villages/{_village(w, s)}/weeks/{_week(w, s)}", {})),
    ("GET", "/office/villages/{village_id}/live"): ("scoped", lambda w, s: (
        "GET", f"/office/villages/{_village(w, s)}/live", {})),
    ("GET", "/office/workers/{worker_id}/days/{date}"): ("scoped", lambda w, s: (
        "GET", f"/office/workers/{w.workers[s]}/days/{DAY}", {})),
    ("POST", "/office/workers/{worker_id}/days/{date}/flags"): ("scoped", lambda w, s: (
        lambda p, b: ("POST", "/office" + p, {"data": b}))(*_flag_body(w, s, "suspect"))),
    ("GET", "/office/decisions"): ("scoped", lambda w, s: (
        "GET", f"/office/decisions?village_id={_village(w, s)}", {})),
    ("POST", "/office/exemptions/{exemption_id}/decision"): ("scoped", lambda w, s: (
        "POST", f"/office/exemptions/{_ex(w, s)}/decision",
        {"data": {"decision": "deny", "reason": "材料不全"}})),
    ("POST", "/office/devices/{device_id}/decision"): ("scoped", lambda w, s: (
        "POST", f"/office/devices/{w.device(s, 'approved')}/decision",
        {"data": {"decision": "revoke", "reason": "手机丢失"}})),
    ("GET", "/office/audit"): ("township", lambda w, s: ("GET", "/office/audit", {})),
    ("GET", "/api/office/pending"): ("self", lambda w, s: ("GET", "/api/office/pending", {})),
    ("POST", "/api/office/workers/{worker_id}/days/{date}/flags/bulk"): ("scoped", lambda w, s: (
        lambda p, b: ("POST", "/api/office" + p + "/bulk",
                      {"json": {"kind": b["kind"], "decision": "confirm", "reason": "核实属实"}})
    )(*_flag_body(w, s, "suspect"))),
    ("POST", "/office/workers/{worker_id}/days/{date}/flags/bulk"): ("scoped", lambda w, s: (
        lambda p, b: ("POST", "/office" + p + "/bulk",
                      {"data": {"kind": b["kind"], "decision": "dismiss", "reason": "误报"}})
    )(*_flag_body(w, s, "suspect"))),
}


def all_cases() -> dict[tuple[str, str], tuple[str, Callable[[World, str], Req]]]:
    """:data:`CASES` and the ``SCOPE_CASES`` of every ``tests/**/scope_cases*.py``."""
    cases = dict(CASES)
    tests_dir = Path(__file__).resolve().parents[2]
    for f in sorted(tests_dir.rglob("scope_cases*.py")):
        rel = f.relative_to(tests_dir.parent).with_suffix("")
        mod = importlib.import_module(".".join(rel.parts))
        cases.update(mod.SCOPE_CASES)
    return cases


ALL_CASES = all_cases()


def test_every_office_route_has_a_scope_case(app):
    routes = office_routes(app)
    missing = sorted(routes - set(ALL_CASES) - PUBLIC)
    assert not missing, f"office routes without a scoping case: {missing}"
    stale = sorted(set(ALL_CASES) - routes)
    assert not stale, f"scoping cases of routes that no longer exist: {stale}"
    assert len(routes) >= 30


def _fresh_token(w: World, role: str) -> dict[str, str]:
    """A new session token of the role (logout in one call cannot spoil the next)."""
    if role in ("anonymous", "admin_token"):
        return w.headers(role)
    from checkins.auth.models import OfficeUser

    user = w.session.scalars(sa.select(OfficeUser).where(
        OfficeUser.username == f"{w.tag}-{role}")).one()
    token = secrets.token_urlsafe(24)
    w.session.add(OfficeSession(token_hash=_hash(token), user_id=user.id,
                                expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    w.session.flush()
    return {"Authorization": f"Bearer {token}"}


def _count(w: World, model: Any) -> int:
    return int(w.session.scalar(sa.select(sa.func.count()).select_from(model)))


def _ok(r: Any) -> bool:
    if r.status_code == 303:
        loc = r.headers["location"]
        return "/office/login" not in loc and "error=" not in loc
    return 200 <= r.status_code < 300


@pytest.mark.parametrize("route", sorted(ALL_CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_scope_matrix(route, client, world):
    kind, build = ALL_CASES[route]
    failures = []
    for role in ROLES:
        for side in ("own", "other"):
            method, url, kw = build(world, side)
            client.cookies.clear()
            r = client.request(method, url, headers=_fresh_token(world, role),
                               follow_redirects=False, **kw)
            got = r.status_code
            if role == "anonymous":
                page_get = url.startswith("/office") and method == "GET"
                want_ok = (got == 303 and "/office/login" in r.headers.get("location", "")) \
                    if page_get else got == 401
            elif route == ("POST", "/office/logout"):
                want_ok = got == 303 and r.headers["location"] == "/office/login"
            elif kind == "township" and role == "village_office":
                want_ok = got == 403
            elif kind == "township_form" and role == "village_office":
                want_ok = got == 403 or (got == 303 and "error=" in r.headers["location"])
            elif kind == "township" and route == ("POST", "/api/office/import/{kind}"):
                want_ok = got == 422  # past the guard: the unknown kind is refused
            elif kind == "scoped" and role == "village_office" and side == "other":
                want_ok = got == 404
            else:
                want_ok = _ok(r)
                if want_ok and role == "village_office" and kind == "self" and method == "GET":
                    body = r.text
                    want_ok = world.villages["other"] not in body \
                        and world.workers["other"] not in body
            if not want_ok:
                failures.append((role, side, method, url, got, r.text[:160]))
    assert not failures, "\n".join(map(str, failures))


def test_lists_without_a_village_filter_hold_only_the_scope(client, world):
    for side in ("own", "other"):
        world.exemption(side)
        world.device(side)
    for url in ("/api/office/exemptions", "/api/office/devices"):
        rows = client.get(url, headers=world.headers("village_office")).json()
        assert rows and {r["village_id"] for r in rows} == {world.villages["own"]}
        rows = client.get(url, headers=world.headers("village_office_b")).json()
        assert rows and {r["village_id"] for r in rows} == {world.villages["other"]}
        town = client.get(url, headers=world.headers("township_office")).json()
        assert set(world.villages.values()) <= {r["village_id"] for r in town}
    page = client.get("/office/decisions?status=", headers=world.headers("village_office"))
    assert world.workers["own"] in page.text and world.workers["other"] not in page.text


def test_ids_in_the_body_are_refused_not_used(client, world):
    """Mass assignment: a body naming a worker, a village or a status is a 422, no change."""
    from checkins.audit.models import AuditLog
    from checkins.field.models import Exemption

    ex = world.exemption("other")
    n0 = _count(world, AuditLog)
    for extra in ({"village_id": world.villages["own"]}, {"worker_id": world.workers["own"]},
                  {"status": "approved"}):
        r = client.post(f"/api/office/exemptions/{ex}/decision",
                        headers=world.headers("village_office"),
                        json={"decision": "approve", "reason": "试图越权", **extra})
        assert r.status_code == 422, r.text
    own = world.exemption("own")
    r = client.post(f"/api/office/exemptions/{own}/decision",
                    headers=world.headers("village_office"),
                    json={"decision": "approve", "reason": "ok", "worker_id": world.workers["other"]})
    assert r.status_code == 422
    assert world.session.get(Exemption, (world.workers["other"], ex)).status == "requested"
    assert world.session.get(Exemption, (world.workers["own"], own)).status == "requested"
    assert _count(world, AuditLog) == n0


def test_a_village_office_cannot_reach_another_village_by_any_id(client, world):
    """Every id of village B, in path, query and form, from village A's office: 404."""
    h = world.headers("village_office")
    ex, dev = world.exemption("other"), world.device("other")
    date, key = world.flagged_day("other")
    vid, wid = world.villages["other"], world.workers["other"]
    probes = [
        ("GET", f"/api/office/villages/{vid}/days/{DAY}?status=problem", {}),
        ("GET", f"/api/office/villages/{vid}/live?at={DAY}T10:00:00%2B08:00", {}),
        ("GET", f"/api/office/exemptions?village_id={vid}&status=requested", {}),
        ("GET", f"/api/office/devices?village_id={vid}&status=pending", {}),
        ("GET", f"/api/office/workers/{wid}/days/{date}", {}),
        ("POST", f"/api/office/workers/{wid}/days/{date}/flags",
         {"json": {"kind": "offpost", "key": key, "decision": "dismiss", "reason": "x" * 5}}),
        ("POST", f"/api/office/exemptions/{ex}/decision",
         {"json": {"decision": "deny", "reason": "xxxx"}}),
        ("POST", f"/api/office/devices/{dev}/decision",
         {"json": {"decision": "approve", "reason": "xxxx"}}),
        ("POST", f"/office/exemptions/{ex}/decision",
         {"data": {"decision": "approve", "reason": "xxxx", "village_id": world.villages["own"]}}),
        ("GET", f"/office/decisions?village_id={vid}", {}),
    ]
    for method, url, kw in probes:
        r = client.request(method, url, headers=h, follow_redirects=False, **kw)
        assert r.status_code == 404, (method, url, r.status_code, r.text[:200])
        assert wid not in r.text
