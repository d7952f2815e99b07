"""Fixtures of the office tests: two villages with workers, day results, requests, phones and
office users of every role, inside the test's rolled-back transaction; an app bound to it."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import shapely
from fastapi.testclient import TestClient

from checkins import tables as m
from checkins.auth.models import OfficeSession
from checkins.auth.office import _hash
from checkins.auth.office_users import hash_password
from server.app import create_app
from server.deps import get_session
from server.settings import Settings

ADMIN_TOKEN = "office-tests-admin-token"
PASSWORD = "correct horse 42"
TZ = "Asia/Shanghai"
DAY = dt.date(2026, 11, 18)  # a Wednesday, a PRC working day
LON0, LAT0 = 121.30, 32.60
_HASH = hash_password(PASSWORD)  # argon2 once per run


def _square(x: float, y: float, d: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + d, y + d)


def day_entry(worker_id: str, grid_id: str, date: dt.date, *, points: float = -0.5,
              suspect_at: str | None = None, offpost_start: str | None = None) -> dict[str, Any]:
    """A day entry of the evaluate JSON shape with one deduction and optional flags."""
    iso = f"{date.isoformat()}T"
    entry: dict[str, Any] = {
        "worker_id": worker_id, "date": date.isoformat(), "role": "fulltime",
        "grid_id": grid_id, "working_day": True,
        "patrols": {"am": {"rule": "YK-PATROL", "status": "ok", "in_grid_s": 7260},
                    "pm": {"rule": "YK-PATROL", "status": "short", "in_grid_s": 3000}},
        "signin": {"rule": "GEO-SIGNIN", "status": "late", "at": iso + "09:12:00+08:00"},
        "offpost": [], "phone_off": [
            {"rule": "GEO-PHONEOFF", "start": iso + "15:00:00+08:00",
             "end": iso + "15:40:00+08:00", "duration_s": 2400, "cause": "silent"}],
        "suspect_fixes": 0, "suspect_fix_details": [],
        "deductions": [{"rule": "YK-PATROL", "points": points, "reason": "afternoon short"}],
    }
    if suspect_at:
        entry["suspect_fixes"] = 1
        entry["suspect_fix_details"] = [{"rule": "GEO-SPOOF", "at": suspect_at, "lon": LON0,
                                         "lat": LAT0, "reasons": ["mock"]}]
    if offpost_start:
        start = dt.datetime.fromisoformat(offpost_start)
        entry["offpost"] = [{"rule": "GEO-OFFPOST", "kind": "offpost", "start": offpost_start,
                             "end": (start + dt.timedelta(minutes=25)).isoformat(),
                             "duration_s": 1500, "other_grid_id": None}]
    return entry


@dataclass
class World:
    """Two villages (``own`` = A, ``other`` = B) of one township, tokens of every role."""

    session: Any
    tag: str
    villages: dict[str, str] = field(default_factory=dict)  # side -> village_id
    workers: dict[str, str] = field(default_factory=dict)  # side -> worker_id
    grids: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    _n: int = 0

    def headers(self, role: str) -> dict[str, str]:
        """Authorization header of a role (``anonymous``: none)."""
        if role == "anonymous":
            return {}
        if role == "admin_token":
            return {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def next_id(self) -> int:
        self._n += 1
        return self._n

    def exemption(self, side: str, status: str = "requested", kind: str = "sick_leave",
                  date: dt.date = DAY) -> int:
        """A new exemption of the side's worker covering the whole local ``date``."""
        z = ZoneInfo(TZ)
        e = m.Exemption(worker_id=self.workers[side], kind=kind,
                        start_at=dt.datetime.combine(date, dt.time(0), tzinfo=z),
                        end_at=dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0),
                                                   tzinfo=z),
                        status=status, note="发烧", requested_by=self.workers[side])
        self.session.add(e)
        self.session.flush()
        return int(e.id)

    def device(self, side: str, status: str = "pending") -> int:
        """A new phone of the side's worker."""
        d = m.Device(device_uid=f"{self.tag}-dev-{self.next_id()}", worker_id=self.workers[side],
                     status=status, platform="android", model="Test")
        self.session.add(d)
        self.session.flush()
        return int(d.id)

    def flagged_day(self, side: str, kind: str = "offpost") -> tuple[dt.date, str]:
        """A new day result of the side's worker with one flag: its date and the flag key."""
        date = DAY - dt.timedelta(days=7 * self.next_id())  # a Wednesday too
        key = f"{date.isoformat()}T10:00:00+08:00"
        entry = day_entry(self.workers[side], self.grids[side], date,
                          suspect_at=key if kind == "suspect" else None,
                          offpost_start=key if kind == "offpost" else None)
        self.session.add(m.DayResult(worker_id=self.workers[side], work_date=date, result=entry,
                                     provisional=False))
        self.session.flush()
        return date, key


def build_world(session: Any) -> World:
    """Create the township, villages, grids, workers, results and users (not committed)."""
    # a digit in every tag: ids stay ids for the pages' English-word checks (a tag of hex
    # letters only, about 1 in 350, made the township id read as a word)
    tag = "of" + str(secrets.randbelow(10)) + secrets.token_hex(3)
    w = World(session=session, tag=tag)
    town = f"{tag}T"
    session.add(m.Township(township_id=town, name="测试镇", timezone=TZ, profile="yangkou-2022"))
    session.flush()
    for i, side in enumerate(("own", "other")):
        vid, gid, wid = f"{tag}V{i}", f"{tag}G{i}", f"{tag}W{i}"
        x = LON0 + 0.02 * i
        session.add(m.Village(village_id=vid, township_id=town, name=f"村{i}",
                              office=shapely.Point(x + 0.005, LAT0 + 0.005), radius_m=150))
        session.flush()
        session.add(m.Grid(grid_id=gid, village_id=vid, name=f"网格{i}", geom=_square(x, LAT0)))
        session.add(m.Worker(worker_id=wid, name=f"工{i}", role="fulltime", village_id=vid))
        session.flush()
        session.add(m.GridAssignment(worker_id=wid, grid_id=gid,
                                     valid_from=DAY - dt.timedelta(days=400)))
        session.add(m.DayResult(worker_id=wid, work_date=DAY, provisional=False,
                                result=day_entry(wid, gid, DAY)))
        w.villages[side], w.grids[side], w.workers[side] = vid, gid, wid
    session.flush()
    users = {"village_office": w.villages["own"], "township_office": None, "admin": None}
    for role, vid in users.items():
        u = m.OfficeUser(username=f"{tag}-{role}", password_hash=_HASH, role=role, village_id=vid)
        session.add(u)
        session.flush()
        token = secrets.token_urlsafe(24)
        session.add(OfficeSession(token_hash=_hash(token), user_id=u.id,
                                  expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
        w.tokens[role] = token
    # a village office of the other village, to prove symmetric scoping where needed
    u = m.OfficeUser(username=f"{tag}-village_office_b", password_hash=_HASH,
                     role="village_office", village_id=w.villages["other"])
    session.add(u)
    session.flush()
    token = secrets.token_urlsafe(24)
    session.add(OfficeSession(token_hash=_hash(token), user_id=u.id,
                              expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    w.tokens["village_office_b"] = token
    session.flush()
    return w


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(environment="test", secret_key="office-tests-" + "s" * 20,
                    admin_token=ADMIN_TOKEN, database_url=database_url, demo_on_empty=False)


@pytest.fixture
def world(session: Any) -> World:
    return build_world(session)


@pytest.fixture
def app(settings: Settings, migrated_engine: Any, session: Any) -> Any:
    application = create_app(settings, migrated_engine)
    application.dependency_overrides[get_session] = lambda: session
    return application


@pytest.fixture
def client(app: Any) -> Any:
    with TestClient(app) as c:
        yield c
