"""Scoping-matrix cases of the township scoring routes (``/api/township``, ``/office/township``).

Loaded by ``tests/server/office/test_scoping.py`` (see its docstring for the format). The world is
the office tests' two villages; the period is the quarter of its day results. A case that
needs a state (an open or a closed period, an entered item) sets it up through
:mod:`checkins.scores.service` as the administrator before the request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.server.office.conftest import DAY

PERIOD = "2026Q4"
API = "/api/township"
PAGES = "/office/township"
PROFILE_YAML = (Path(__file__).resolve().parents[3] / "scoring" / "profiles"
                / "yangkou-2022.yaml").read_bytes()


def _tq(w: Any) -> str:
    return f"township_id={w.tag}T"


def _svc_township(w: Any) -> tuple[Any, Any, Any]:
    from checkins.auth.office import admin_scope
    from checkins.scores import service as svc
    from checkins.township.models import Township

    return svc, admin_scope(), w.session.get(Township, f"{w.tag}T")


def _period(w: Any, closed: bool) -> None:
    """Make the period closed or open (as the administrator)."""
    svc, admin, t = _svc_township(w)
    try:
        if closed:
            svc.close_period(w.session, admin, t, PERIOD, "prepared by the test")
        else:
            svc.reopen_period(w.session, admin, t, PERIOD, "prepared by the test")
    except svc.ScoresError as exc:
        if exc.status != 409:
            raise
    w.session.flush()


def _item(w: Any, side: str) -> str:
    """An entered item of the side's worker (as the administrator); its id."""
    svc, admin, t = _svc_township(w)
    out = svc.add_item(w.session, admin, t, subject_id=w.workers[side], rule="YK-DRESS",
                       item="dress_not_worn", note="照片为证", date=DAY)
    w.session.flush()
    return out["item_id"]


def _item_body(w: Any, side: str) -> dict[str, Any]:
    return {"subject_id": w.workers[side], "rule": "YK-DRESS", "item": "dress_not_worn",
            "note": "未着装", "date": DAY.isoformat()}


def _csv(w: Any, side: str) -> bytes:
    return ("item_id,subject_id,rule,item,date,period,value,note\n"
            f"{w.tag}-I{w.next_id()},{w.workers[side]},YK-DRESS,dress_not_worn,{DAY},,1,照片\n"
            ).encode()


def _close(w: Any, side: str, prefix: str, as_form: bool) -> tuple[str, str, dict[str, Any]]:
    _period(w, closed=False)
    body = {"data": {"reason": "季度结算"}} if as_form else {"json": {"reason": "季度结算"}}
    return "POST", f"{prefix}/periods/{PERIOD}/close?{_tq(w)}", body


def _reopen(w: Any, side: str, prefix: str, as_form: bool) -> tuple[str, str, dict[str, Any]]:
    _period(w, closed=True)
    body = {"data": {"reason": "复核重开"}} if as_form else {"json": {"reason": "复核重开"}}
    return "POST", f"{prefix}/periods/{PERIOD}/reopen?{_tq(w)}", body


def _quota(w: Any, side: str, prefix: str, as_form: bool) -> tuple[str, str, dict[str, Any]]:
    body = {"village_id": w.villages[side], "role": "parttime", "excellent": 1,
            "reason": "名额调整"}
    if as_form:
        return "POST", f"{prefix}/periods/{PERIOD}/quota?{_tq(w)}", {
            "data": {k: str(v) for k, v in body.items()}}
    return "POST", f"{prefix}/periods/{PERIOD}/quota?{_tq(w)}", {"json": body}


SCOPE_CASES: dict[tuple[str, str], tuple[str, Any]] = {
    # JSON API
    ("GET", "/api/township/periods/{period}"): ("self", lambda w, s: (
        "GET", f"{API}/periods/{PERIOD}?{_tq(w)}", {})),
    ("GET", "/api/township/periods/{period}/sheets/{subject_id}"): ("scoped", lambda w, s: (
        "GET", f"{API}/periods/{PERIOD}/sheets/{w.workers[s]}?{_tq(w)}", {})),
    ("GET", "/api/township/periods/{period}/export.{fmt}"): ("self", lambda w, s: (
        "GET", f"{API}/periods/{PERIOD}/export.csv?{_tq(w)}", {})),
    ("POST", "/api/township/periods/{period}/close"): (
        "township", lambda w, s: _close(w, s, API, False)),
    ("POST", "/api/township/periods/{period}/reopen"): (
        "township", lambda w, s: _reopen(w, s, API, False)),
    ("POST", "/api/township/periods/{period}/quota"): (
        "township", lambda w, s: _quota(w, s, API, False)),
    ("POST", "/api/township/periods/{period}/whatif"): ("township", lambda w, s: (
        "POST", f"{API}/periods/{PERIOD}/whatif?{_tq(w)}", {"json": {"profile": "yangkou-2022"}})),
    ("GET", "/api/township/items"): ("scoped", lambda w, s: (
        "GET", f"{API}/items?{_tq(w)}&village_id={w.villages[s]}", {})),
    ("POST", "/api/township/items"): ("scoped", lambda w, s: (
        "POST", f"{API}/items?{_tq(w)}", {"json": _item_body(w, s)})),
    ("POST", "/api/township/items/import"): ("scoped", lambda w, s: (
        "POST", f"{API}/items/import?{_tq(w)}",
        {"files": {"file": ("items.csv", _csv(w, s), "text/csv")}})),
    ("POST", "/api/township/items/{item_id}/withdraw"): ("scoped", lambda w, s: (
        "POST", f"{API}/items/{_item(w, s)}/withdraw", {"json": {"reason": "录入错误"}})),
    # pages
    ("GET", "/office/township"): ("self", lambda w, s: ("GET", f"{PAGES}?{_tq(w)}", {})),
    ("GET", "/office/township/periods/{period}"): ("self", lambda w, s: (
        "GET", f"{PAGES}/periods/{PERIOD}?{_tq(w)}", {})),
    ("GET", "/office/township/periods/{period}/sheets/{subject_id}"): ("scoped", lambda w, s: (
        "GET", f"{PAGES}/periods/{PERIOD}/sheets/{w.workers[s]}?{_tq(w)}", {})),
    ("GET", "/office/township/periods/{period}/whatif"): ("township", lambda w, s: (
        "GET", f"{PAGES}/periods/{PERIOD}/whatif?{_tq(w)}&profile=yangkou-2022", {})),
    ("POST", "/office/township/periods/{period}/whatif"): ("township", lambda w, s: (
        "POST", f"{PAGES}/periods/{PERIOD}/whatif?{_tq(w)}",
        {"files": {"file": ("p.yaml", PROFILE_YAML, "text/yaml")}})),
    ("POST", "/office/township/periods/{period}/close"): (
        "township_form", lambda w, s: _close(w, s, PAGES, True)),
    ("POST", "/office/township/periods/{period}/reopen"): (
        "township_form", lambda w, s: _reopen(w, s, PAGES, True)),
    ("POST", "/office/township/periods/{period}/quota"): (
        "township_form", lambda w, s: _quota(w, s, PAGES, True)),
    ("GET", "/office/township/items"): ("scoped", lambda w, s: (
        "GET", f"{PAGES}/items?{_tq(w)}&village_id={w.villages[s]}", {})),
    ("POST", "/office/township/items"): ("scoped", lambda w, s: (
        "POST", f"{PAGES}/items?{_tq(w)}", {"data": _item_body(w, s)})),
    ("POST", "/office/township/items/import"): ("scoped", lambda w, s: (
        "POST", f"{PAGES}/items/import?{_tq(w)}",
        {"files": {"file": ("items.csv", _csv(w, s), "text/csv")}})),
    ("POST", "/office/township/items/{item_id}/withdraw"): ("scoped", lambda w, s: (
        "POST", f"{PAGES}/items/{_item(w, s)}/withdraw?{_tq(w)}", {"data": {"reason": "录入错误"}})),
}
