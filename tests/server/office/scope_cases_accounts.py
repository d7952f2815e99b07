"""Scoping cases of the office accounts page (server/office/accounts.py), for test_scoping."""

from __future__ import annotations

SCOPE_CASES = {
    ("GET", "/office/accounts"): ("scoped", lambda w, s: (
        "GET", f"/office/accounts?village_id={w.villages[s]}", {})),
    ("POST", "/office/accounts/codes"): ("scoped", lambda w, s: (
        "POST", "/office/accounts/codes", {"data": {"village_id": w.villages[s]}})),
    ("POST", "/office/accounts/{worker_id}/reset"): ("scoped", lambda w, s: (
        "POST", f"/office/accounts/{w.workers[s]}/reset", {"data": {"reason": "忘记密码"}})),
}
