"""Scoping-matrix cases of the office's tracking-app page (``/office/tracking-apps``).

Loaded by ``tests/server/office/test_scoping.py`` (see its docstring for the format): a village
office approves and revokes tracking-app phones of its own village's workers only.
"""

from __future__ import annotations

SCOPE_CASES = {
    ("GET", "/office/tracking-apps"): ("self", lambda w, s: ("GET", "/office/tracking-apps", {})),
    ("POST", "/office/tracking-apps"): ("scoped", lambda w, s: (
        "POST", "/office/tracking-apps", {"data": {"worker_id": w.workers[s], "app": "traccar"}})),
    ("POST", "/office/tracking-apps/{device_id}/revoke"): ("scoped", lambda w, s: (
        "POST", f"/office/tracking-apps/{w.device(s, 'approved')}/revoke",
        {"data": {"reason": "换手机"}})),
}
