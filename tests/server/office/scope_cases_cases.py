"""Scoping-matrix cases of the case (事件) pages (loaded by tests/server/office/test_scoping.py).

Each build makes a fresh case in the side's village (a report of the side's worker, inside
its grid), so a village office reaches its own cases and gets 404 for the other village's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import shapely

from checkins.cases.models import Case
from checkins.field.photos import inspect_photo, photo_record, store_photo
from checkins.township.models import Grid
from mobile_api_spec.examples import example_photo


def _case(w: Any, side: str, status: str = "reported", photo: bool = False) -> int:
    s = w.session
    grid = s.get(Grid, w.grids[side])
    p = grid.geom.centroid
    photos = []
    if photo:  # the office tests' settings keep the default data folder ./data
        data = example_photo()
        info = inspect_photo(data, max_bytes=1 << 20, max_pixels=1 << 20)
        path = store_photo(data, info, data_dir=Path("data"), worker_id=w.workers[side], day=dt.date(2026, 3, 2))
        photos = [photo_record(info, path, Path("data"))]
    c = Case(reporter_id=w.workers[side], category="其他", text="测试", lon=p.x, lat=p.y, datum="wgs84",
             geom=shapely.Point(p.x, p.y), grid_id=w.grids[side], village_id=w.villages[side], status=status,
             valid=None if status == "reported" else True, photos=photos,
             reported_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    s.add(c)
    s.flush()
    return int(c.id)


def _photo(w: Any, side: str) -> tuple[str, str, dict[str, Any]]:
    cid = _case(w, side, photo=True)
    c = w.session.get(Case, cid)
    return "GET", f"/office/cases/{cid}/photos/{c.photos[0]['id']}", {}


SCOPE_CASES = {
    ("POST", "/office/cases/categories"): ("township_form", lambda w, s: (
        "POST", "/office/cases/categories", {"data": {"names": "安全隐患\n矛盾纠纷\n其他"}})),
    ("GET", "/office/cases"): ("self", lambda w, s: ("GET", "/office/cases?status=", {})),
    ("GET", "/office/cases/export.{fmt}"): ("self", lambda w, s: ("GET", "/office/cases/export.csv", {})),
    ("GET", "/office/cases/{case_id}"): ("scoped", lambda w, s: ("GET", f"/office/cases/{_case(w, s)}", {})),
    ("GET", "/office/cases/{case_id}/photos/{photo_id}"): ("scoped", _photo),
    ("POST", "/office/cases/{case_id}/accept"): ("scoped", lambda w, s: (
        "POST", f"/office/cases/{_case(w, s)}/accept", {"data": {"reason": "属实"}})),
    ("POST", "/office/cases/{case_id}/reject"): ("scoped", lambda w, s: (
        "POST", f"/office/cases/{_case(w, s)}/reject", {"data": {"reason": "重复上报"}})),
    ("POST", "/office/cases/{case_id}/dispatch"): ("scoped", lambda w, s: (
        "POST", f"/office/cases/{_case(w, s)}/dispatch",
        {"data": {"worker_id": w.workers[s], "place_text": "村口", "deadline_h": "24"}})),
    ("POST", "/office/cases/{case_id}/close"): ("scoped", lambda w, s: (
        "POST", f"/office/cases/{_case(w, s, 'accepted')}/close", {"data": {"reason": "办结"}})),
    # the live map's case layer of one village (with an open case in it)
    ("GET", "/office/live/cases.json"): ("scoped", lambda w, s: (
        "GET", f"/office/live/cases.json?village_id={w.villages[s]}&_={_case(w, s)}", {})),
}
