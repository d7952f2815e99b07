"""Fixtures of the township scoring tests: the office tests' two-village world (inside the
test's rolled-back transaction, tokens of every role) plus a quarter of stored day results.

Days are in 2026Q3 (the office world's own day results are in Q4); village A ("own") gets
five part-time workers with 0..4 short afternoon patrols, village B ("other") three.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from checkins import tables as m
from tests.server.office.conftest import (  # noqa: F401  (fixtures re-used)
    ADMIN_TOKEN,
    World,
    app,
    build_world,
    client,
    day_entry,
    settings,
    world,
)

QUARTER = "2026Q3"
DATES = [dt.date(2026, 7, 6) + dt.timedelta(days=7 * i) for i in range(6)]  # Mondays


def entry(worker_id: str, grid_id: str, date: dt.date, role: str, pm: str = "ok") -> dict[str, Any]:
    """An evaluate day entry of ``role`` with the afternoon patrol status ``pm``."""
    e = day_entry(worker_id, grid_id, date)
    e["role"] = role
    e["signin"] = {"rule": "GEO-SIGNIN", "status": "ok" if role == "parttime" else "not_required",
                   "at": f"{date.isoformat()}T08:40:00+08:00" if role == "parttime" else None}
    e["patrols"]["am"]["started_in_app"] = True
    e["patrols"]["pm"] = {"rule": "YK-PATROL", "status": pm, "in_grid_s": 3000 if pm != "ok" else 7300,
                          "started_in_app": True}
    e["phone_off"] = []
    e["deductions"] = []
    return e


@dataclass
class Quarter:
    """The workers and stored entries of the quarter (for the pure-scoring comparison)."""

    world: World
    workers: dict[str, list[str]] = field(default_factory=dict)  # side -> part-time ids
    entries: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (village, entry)
    roles: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # wid -> role, village, name

    def tq(self) -> str:
        """The township query of this world's township."""
        return f"township_id={self.world.tag}T"


def build_quarter(w: World) -> Quarter:
    """Part-time workers with day results in every week of the quarter (not committed)."""
    q = Quarter(world=w)
    s = w.session
    for side, n in (("own", 5), ("other", 3)):
        vid, gid = w.villages[side], w.grids[side]
        ids = []
        for k in range(n):
            wid = f"{w.tag}{'a' if side == 'own' else 'b'}p{k}"
            s.add(m.Worker(worker_id=wid, name=f"兼{side}{k}", role="parttime", village_id=vid))
            s.flush()
            s.add(m.GridAssignment(worker_id=wid, grid_id=gid, valid_from=dt.date(2025, 1, 1)))
            ids.append(wid)
            q.roles[wid] = ("parttime", vid, f"兼{side}{k}")
            for i, d in enumerate(DATES):
                e = entry(wid, gid, d, "parttime", pm="short" if i < k else "ok")
                s.add(m.DayResult(worker_id=wid, work_date=d, result=e, provisional=False))
                q.entries.append((vid, e))
        q.workers[side] = ids
        fw = w.workers[side]
        q.roles[fw] = ("fulltime", vid, f"工{0 if side == 'own' else 1}")
        for d in DATES[:2]:
            e = entry(fw, gid, d, "fulltime", pm="missing")
            s.add(m.DayResult(worker_id=fw, work_date=d, result=e, provisional=False))
            q.entries.append((vid, e))
    s.flush()
    return q


@pytest.fixture
def quarter(world: World) -> Quarter:  # noqa: F811
    return build_quarter(world)
