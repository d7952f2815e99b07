"""Fixtures of the mobile API tests: an app on the run's migrated database and a small township.

Rows are committed (the API commits per request), each test under fresh random ids, so
tests never see each other's workers; the database itself is the run's throwaway one.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from checkins.auth import phone as auth
from checkins.township.models import Grid, GridAssignment, Township, Village, Worker

PREFIX = "/api/mobile/v1"
SECRET = "test-secret-" + "x" * 32
PASSWORD = "correct horse 42"
# the test townships' lattice (WGS-84), inland China, away from the demo and example ones
TEST_LON0, TEST_LAT0 = 110.0, 30.0
_TOWNSHIP_CELLS = itertools.count(secrets.randbelow(50) * 50)


@dataclass
class WorkerFixture:
    """A worker with an approved phone, as the tests log in."""

    worker_id: str
    phone: str
    password: str
    device_uid: str
    device_id: int
    village_id: str
    grid_id: str
    role: str


@dataclass
class Township_:
    """What ``make_worker`` created around the workers."""

    township_id: str
    village_id: str
    grid_id: str
    grid: shapely.Polygon


def _settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from server.settings import Settings

    return Settings(environment="test", secret_key=SECRET, data_dir=tmp_path / "data",
                    database_url="unused", demo_on_empty=False)


def _mobile_settings(**kw):  # type: ignore[no-untyped-def]
    from server.mobile.config import MobileSettings

    # grid_cache_s=0: every test creates its own grids just before uploading
    # login_ip: every test client is "testclient", and the buckets live in the run's database
    base = {"login_burst": 1000, "login_per_min": 60000, "login_ip_burst": 100000,
            "login_ip_per_min": 6000000, "upload_burst": 1000, "upload_per_s": 1000,
            "grid_cache_s": 0}
    base.update(kw)
    return MobileSettings(**base)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """argon2's cheapest parameters for the passwords tests create (the code path is the same)."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from checkins.auth.tokens import use_password_hasher

    old = use_password_hasher(PasswordHasher.from_parameters(CHEAPEST))
    yield
    use_password_hasher(old)


@pytest.fixture
def mobile_app(migrated_engine: sa.Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A stand-alone mobile app on the run's database, generous rate limits."""
    from server.mobile import build_mobile_app

    return build_mobile_app(migrated_engine, _settings(tmp_path), _mobile_settings())


@pytest.fixture
def client(mobile_app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A TestClient on the mobile app (server errors become 500 answers, not exceptions)."""
    with TestClient(mobile_app, raise_server_exceptions=False) as c:
        yield c


def grid_polygon(lon: float, lat: float, half_m: float = 400.0) -> shapely.Polygon:
    """A square of side ``2 * half_m`` metres around (lon, lat), WGS-84."""
    dlon = half_m / 94_000.0
    dlat = half_m / 111_000.0
    return shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


@pytest.fixture
def township(migrated_engine: sa.Engine) -> Township_:
    """A fresh township, village (office at the grid centre) and grid."""
    tag = secrets.token_hex(3)
    # a fresh cell of a 0.02-degree lattice per township (grids are 0.0085 x 0.0072 degrees),
    # far from the example and demo townships: grids of different tests never overlap
    k = next(_TOWNSHIP_CELLS)
    lon, lat = TEST_LON0 + 0.02 * (k % 50), TEST_LAT0 + 0.02 * (k // 50)
    poly = grid_polygon(lon, lat)
    with Session(migrated_engine) as s:
        s.add(Township(township_id=f"t{tag}", name=f"镇{tag}"))
        s.flush()
        s.add(Village(village_id=f"v{tag}", township_id=f"t{tag}", name=f"村{tag}",
                      office=shapely.Point(lon, lat), radius_m=150.0))
        s.flush()
        s.add(Grid(grid_id=f"g{tag}", village_id=f"v{tag}", name="一网格", geom=poly))
        s.commit()
    return Township_(f"t{tag}", f"v{tag}", f"g{tag}", poly)


@pytest.fixture
def make_worker(migrated_engine: sa.Engine, township: Township_):  # type: ignore[no-untyped-def]
    """Factory: a worker of ``township``'s village with a password and an approved phone."""

    def make(role: str = "fulltime", approved: bool = True, grid_id: str | None = None) -> WorkerFixture:
        tag = secrets.token_hex(4)
        wid = f"w{tag}"
        phone = "1" + str(int(tag, 16)).rjust(10, "0")[-10:]
        with Session(migrated_engine) as s:
            s.add(Worker(worker_id=wid, name=f"网格员{tag}", phone=phone, role=role,
                         village_id=township.village_id))
            s.flush()
            s.add(GridAssignment(worker_id=wid, grid_id=grid_id or township.grid_id,
                                 valid_from=dt.date(2020, 1, 1)))
            auth.set_password(s, wid, PASSWORD)
            dev = auth.register_device(s, worker_id=wid, device_uid=f"dev-{tag}",
                                       approved=approved, actor="test")
            s.commit()
            return WorkerFixture(wid, phone, PASSWORD, f"dev-{tag}", dev.id, township.village_id,
                                 grid_id or township.grid_id, role)

    return make


def login(client: TestClient, w: WorkerFixture) -> dict:
    """Log in ``w`` and return the token pair (asserts success)."""
    r = client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": w.password,
                                                  "device_uid": w.device_uid})
    assert r.status_code == 200, r.text
    return r.json()


def bearer(tokens: dict) -> dict[str, str]:
    """Authorization header of a token pair."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}
