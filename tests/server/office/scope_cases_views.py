"""Scoping cases of the dashboard, the live map and the village home (format: test_scoping)."""

from __future__ import annotations

from tests.server.office.conftest import DAY

SCOPE_CASES = {
    ("GET", "/office/dashboard"): ("scoped", lambda w, s: (
        "GET", f"/office/dashboard?village_id={w.villages[s]}&date={DAY}", {})),
    ("GET", "/office/villages/{village_id}"): ("scoped", lambda w, s: (
        "GET", f"/office/villages/{w.villages[s]}", {})),
    ("GET", "/office/live"): ("scoped", lambda w, s: (
        "GET", f"/office/live?village_id={w.villages[s]}&at={DAY}T10:30:00%2B08:00", {})),
    ("GET", "/office/live.json"): ("scoped", lambda w, s: (
        "GET", f"/office/live.json?village_id={w.villages[s]}&at={DAY}T10:30:00%2B08:00", {})),
    ("GET", "/office/live/grids.json"): ("scoped", lambda w, s: (
        "GET", f"/office/live/grids.json?village_id={w.villages[s]}", {})),
}
