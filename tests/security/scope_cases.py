"""Scoping cases (tests/server/office/test_scoping.py format) of the overview routes: township only."""

from __future__ import annotations

SCOPE_CASES = {
    ("GET", "/api/overview"): ("township", lambda w, s: ("GET", "/api/overview", {})),
    ("GET", "/api/grids"): ("township", lambda w, s: ("GET", "/api/grids", {})),
}
