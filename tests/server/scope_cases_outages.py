"""Scoping-matrix cases of ``/api/outages`` (township office and administrator only).

Loaded by ``tests/server/office/test_scoping.py`` (see its docstring for the format). Each POST
records a different outage (a repeat of the same interval would be refused).
"""

from __future__ import annotations

import itertools
from typing import Any

_n = itertools.count()


def _new_outage(w: Any, side: str) -> tuple[str, str, dict[str, Any]]:
    k = next(_n)
    body = {"from": f"2026-11-01T08:{k % 60:02d}", "to": f"2026-11-01T09:{k % 60:02d}",
            "reason": f"scope case {k}"}
    return "POST", "/api/outages", {"json": body}


SCOPE_CASES = {
    ("GET", "/api/outages"): ("township", lambda w, s: ("GET", "/api/outages", {})),
    ("POST", "/api/outages"): ("township", _new_outage),
}
