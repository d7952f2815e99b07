"""The demo township near 洋口镇 (Rudong, Jiangsu) and a simulated working day.

Deterministic for a seed. :func:`build_demo` is pure (numpy, shapely, :mod:`geo.crs`): it
draws 4 villages and ~30 grids (a warped Voronoi tessellation: shared borders match exactly,
two grids have a hole, one is a MultiPolygon), ~40 workers of all three roles with their
phones, and one working day of sign-ins, patrol sessions, patrol logs, exemptions and GPS
tracks (a fix every 30 s while patrolling, heartbeats, off-post walks, a phone-off gap, a
mock-location phone, a few low-accuracy fixes). :func:`load_demo_township` writes it through
the importers (grids, roster), the phones' uploads through the real position ingest (batches
at their simulated upload times), and inserts for the rest.

:func:`simulate_walk` and :func:`track_items` are reusable by other simulators (tests, the
mobile simulator): a bounded random walk at walking speed inside a polygon, in metres.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo import crs
from geo.localtime import day_range

CENTRE_LON, CENTRE_LAT = 121.20, 32.55  # 洋口镇, WGS-84
FIX_EVERY_S = 30
HEARTBEAT_EVERY_S = 300
UPLOAD_EVERY_S = 900  # a demo phone flushes its upload queue every 15 min (one batch)
VILLAGES = (("V01", "洋口村"), ("V02", "东凌村"), ("V03", "北坎村"), ("V04", "新港社区"))
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国红梅海燕志文斌玉兰"


# --------------------------------------------------------------------------- data classes


@dataclass
class DemoWorker:
    """A worker of the demo roster with the phone and day plan the simulation gives them."""

    worker_id: str
    name: str
    role: str
    village_id: str
    grid_id: str | None
    phone: str
    device_uid: str
    datum: str  # the datum the phone reports in (AMap: gcj02, Baidu: bd09, raw GPS: wgs84)
    behaviour: str = "normal"  # see _BEHAVIOURS


@dataclass
class DemoTownship:
    """Everything the demo loads; coordinates of ``positions`` etc. are WGS-84 geometries."""

    seed: int
    day: dt.date
    timezone: str
    township_id: str
    township_name: str
    profile: str
    grids_doc: dict[str, Any]
    roster_csv: str
    workers: list[DemoWorker]
    devices: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    signins: list[dict[str, Any]] = field(default_factory=list)
    patrol_sessions: list[dict[str, Any]] = field(default_factory=list)
    patrol_logs: list[dict[str, Any]] = field(default_factory=list)
    exemptions: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- geometry


def _key() -> tuple[float, float]:
    return crs.projection_key(CENTRE_LON, CENTRE_LAT)


def _origin() -> tuple[float, float]:
    x, y = crs.project(CENTRE_LON, CENTRE_LAT, _key())
    return float(x), float(y)


def to_lonlat(geom: BaseGeometry) -> BaseGeometry:
    """Demo metres (origin at the township centre) -> WGS-84 lon/lat geometry."""
    ox, oy = _origin()

    def fn(xy: np.ndarray) -> np.ndarray:
        lon, lat = crs.unproject(xy[:, 0] + ox, xy[:, 1] + oy, _key())
        return np.column_stack([lon, lat])

    return shapely.transform(geom, fn)


def xy_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demo metres -> WGS-84 lon/lat arrays."""
    ox, oy = _origin()
    return crs.unproject(np.asarray(x) + ox, np.asarray(y) + oy, _key())


def _blob(rng: np.random.Generator, radius_m: float, n: int = 48) -> Polygon:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = rng.uniform(0, 2 * np.pi, 3)
    r = radius_m * (1 + 0.10 * np.sin(2 * angles + k[0]) + 0.06 * np.sin(3 * angles + k[1])
                    + 0.04 * np.sin(5 * angles + k[2]))
    return Polygon(np.column_stack([1.25 * r * np.cos(angles), r * np.sin(angles)]))


def _spread_points(rng: np.random.Generator, area: BaseGeometry, n: int,
                   min_dist: float) -> list[Point]:
    minx, miny, maxx, maxy = area.bounds
    pts: list[Point] = []
    tries = 0
    while len(pts) < n:
        tries += 1
        p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        dist = min_dist if tries < 5000 else min_dist / 2
        if area.contains(p) and all(p.distance(q) >= dist for q in pts):
            pts.append(p)
    return pts


def _voronoi_cells(points: list[Point], clip: BaseGeometry) -> list[BaseGeometry]:
    regions = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=clip.buffer(5000))
    cells = []
    for p in points:
        cell = next(r for r in regions.geoms if r.contains(p))
        cells.append(cell.intersection(clip))
    return cells


def _warp(x: np.ndarray, y: np.ndarray, phases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = 160.0  # metres: a smooth displacement field bends the straight Voronoi borders
    dx = a * np.sin(x / 410 + phases[0]) * np.cos(y / 530 + phases[1])
    dy = a * np.sin(y / 370 + phases[2]) * np.cos(x / 610 + phases[3])
    return x + dx, y + dy


def build_geometry(rng: np.random.Generator) -> tuple[dict[str, BaseGeometry],
                                                      dict[str, BaseGeometry],
                                                      dict[str, str], dict[str, Point]]:
    """Villages, grids (metres), grid -> village, and village offices (metres)."""
    town = _blob(rng, 3000.0)
    vseeds = [Point(-1400, 900), Point(1500, 1000), Point(-1300, -1100), Point(1400, -900)]
    vseeds = [Point(p.x + rng.uniform(-200, 200), p.y + rng.uniform(-200, 200)) for p in vseeds]
    village_cells = _voronoi_cells(vseeds, town)
    counts = (8, 7, 8, 7)
    raw_cells: list[tuple[str, str, BaseGeometry]] = []
    for (vid, _), vcell, n in zip(VILLAGES, village_cells, counts, strict=True):
        seeds = _spread_points(rng, vcell.buffer(-250), n, 700.0)
        for j, cell in enumerate(_voronoi_cells(seeds, vcell), 1):
            raw_cells.append((f"{vid}-G{j:02d}", vid, cell))
    # warp the shared linework once, so neighbouring grids keep identical borders
    lines = shapely.union_all([c.boundary for _, _, c in raw_cells])
    lines = shapely.segmentize(lines, 80.0)
    phases = rng.uniform(0, 2 * np.pi, 4)

    def warp(xy: np.ndarray) -> np.ndarray:
        wx, wy = _warp(xy[:, 0], xy[:, 1], phases)
        return np.column_stack([wx, wy])

    noded = shapely.union_all(shapely.transform(lines, warp))  # re-node chords that cross
    faces = list(shapely.polygonize(list(getattr(noded, "geoms", [noded]))).geoms)
    warped = [(gid, vid, shapely.transform(cell, warp)) for gid, vid, cell in raw_cells]
    parts: dict[str, list[BaseGeometry]] = {}
    grid_village: dict[str, str] = {}
    for face in faces:  # each face goes to exactly one grid: no overlaps by construction
        gid, vid, _ = max(warped, key=lambda c: face.intersection(c[2]).area)
        parts.setdefault(gid, []).append(face)
        grid_village[gid] = vid
    grids: dict[str, BaseGeometry] = {}
    for gid, faces_of in parts.items():
        merged = shapely.union_all(faces_of)
        if merged.geom_type == "MultiPolygon":  # keep the main part; slivers go to no one
            merged = max(merged.geoms, key=lambda g: g.area)
        grids[gid] = merged
    # a pond in one grid, and a detached piece carved out of another grid of the same village
    gids = sorted(grids)
    pond_gid = gids[2]
    pond = grids[pond_gid].representative_point().buffer(120.0, quad_segs=6)
    grids[pond_gid] = grids[pond_gid].difference(pond)
    owner, donor = gids[5], gids[7]
    piece_centre = grids[donor].representative_point()
    piece = piece_centre.buffer(150.0, quad_segs=4).intersection(grids[donor].buffer(-30))
    grids[donor] = grids[donor].difference(piece)  # now has a hole as well
    grids[owner] = MultiPolygon([grids[owner], piece])
    grids = {g: shapely.set_precision(geom, 0.001) for g, geom in grids.items()}
    villages = {vid: shapely.union_all([g for gid, g in grids.items()
                                        if grid_village[gid] == vid]) for vid, _ in VILLAGES}
    offices = {}
    for vid, _ in VILLAGES:
        first = next(g for g in gids if grid_village[g] == vid)
        offices[vid] = grids[first].buffer(-120).representative_point()
    return villages, grids, grid_village, offices


# --------------------------------------------------------------------------- tracks


def simulate_walk(rng: np.random.Generator, area: BaseGeometry, start: tuple[float, float],
                  n: int, step_s: float = FIX_EVERY_S, speed_mps: tuple[float, float] = (0.9, 1.5),
                  target: tuple[float, float] | None = None) -> np.ndarray:
    """A walk of ``n`` positions (metres, ``step_s`` apart) kept inside ``area``.

    With ``target`` the walker heads there and then wanders around it. Returns (n, 2).
    """
    area = shapely.from_wkb(area.wkb)  # a private copy to prepare
    shapely.prepare(area)

    def contains(x: float, y: float) -> bool:
        return bool(shapely.contains_xy(area, x, y))

    out = np.empty((n, 2))
    x, y = start
    heading = rng.uniform(0, 2 * np.pi)
    inner = area.representative_point()
    for i in range(n):
        out[i] = x, y
        speed = rng.uniform(*speed_mps)
        if target is not None and math.hypot(target[0] - x, target[1] - y) > 60:
            heading = math.atan2(target[1] - y, target[0] - x) + rng.normal(0, 0.2)
        else:
            heading += rng.normal(0, 0.5)
        for _ in range(8):
            nx = x + speed * step_s * math.cos(heading)
            ny = y + speed * step_s * math.sin(heading)
            if target is not None or contains(nx, ny):
                break
            heading = math.atan2(inner.y - y, inner.x - x) + rng.normal(0, 0.6)
        else:
            nx, ny = x, y
        x, y = nx, ny
    return out


def track_items(t0: dt.datetime, xy: np.ndarray, step_s: float, rng: np.random.Generator,
                noise_m: float = 4.0) -> list[dict[str, Any]]:
    """Fix dicts (recorded_at, x, y in metres, accuracy_m, speed_mps) for a walk."""
    items = []
    speeds = np.r_[0.0, np.hypot(*np.diff(xy, axis=0).T) / step_s]
    for i, (x, y) in enumerate(xy):
        items.append({"recorded_at": t0 + dt.timedelta(seconds=i * step_s + rng.uniform(0, 2)),
                      "x": x + rng.normal(0, noise_m), "y": y + rng.normal(0, noise_m),
                      "accuracy_m": round(float(rng.uniform(4, 18)), 1),
                      "speed_mps": round(float(speeds[i]), 2)})
    return items


# --------------------------------------------------------------------------- the day


def most_recent_working_day(today: dt.date) -> dt.date:
    """The last PRC working day strictly before ``today`` (YK-DAYS, official calendar)."""
    from geo.calendar import is_working_day

    day = today - dt.timedelta(days=1)
    for _ in range(30):
        try:
            if is_working_day(day, "prc_workdays"):
                return day
        except Exception:  # noqa: BLE001 - a year the packaged calendar does not cover
            if day.weekday() < 5:
                return day
        day -= dt.timedelta(days=1)
    return day


# behaviours given to a few workers so that every rule has something to show
_BEHAVIOURS = ("short_am", "no_pm", "offpost", "crosspost", "phone_off", "mock", "late_signin",
               "signin_outside", "no_signin", "sick_leave", "field_duty", "low_accuracy")


def _names(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        name = rng.choice(list(_SURNAMES)) + "".join(rng.choice(list(_GIVEN),
                                                                size=rng.integers(1, 3)))
        if name not in out:
            out.append(str(name))
    return out


def build_workers(rng: np.random.Generator, grids: dict[str, BaseGeometry],
                  grid_village: dict[str, str]) -> list[DemoWorker]:
    """~40 workers: one per grid, a head per village, a few sharing grids, one without."""
    gids = sorted(grids)
    plan: list[tuple[str, str, str | None]] = []  # (role, village, grid)
    for i, gid in enumerate(gids):
        plan.append(("fulltime" if i % 5 in (0, 3) else "parttime", grid_village[gid], gid))
    for vid, _ in VILLAGES:
        own = [g for g in gids if grid_village[g] == vid]
        plan.append(("head", vid, own[1]))
    for gid in gids[4:29:6]:
        plan.append(("parttime", grid_village[gid], gid))
    plan.append(("parttime", VILLAGES[3][0], None))  # a new hire without a grid yet
    names = _names(rng, len(plan))
    datums = rng.choice(["gcj02", "gcj02", "gcj02", "wgs84", "bd09"], size=len(plan))
    workers = [DemoWorker(worker_id=f"w{i + 1:03d}", name=names[i], role=role, village_id=vid,
                          grid_id=gid, phone=f"138{rng.integers(10_000_000, 99_999_999)}",
                          device_uid=f"demo-phone-{i + 1:03d}", datum=str(datums[i]))
               for i, (role, vid, gid) in enumerate(plan)]
    candidates = [w for w in workers if w.grid_id is not None and w.role != "head"]
    order = rng.permutation(len(candidates))
    for behaviour, idx in zip(_BEHAVIOURS, order, strict=False):
        candidates[idx].behaviour = behaviour
    return workers


def _grids_doc(grids_ll: dict[str, BaseGeometry], grid_village: dict[str, str],
               offices_ll: dict[str, Point]) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    for (vid, vname) in VILLAGES:
        office = offices_ll[vid]
        props: dict[str, Any] = {"kind": "village_office", "village_id": vid, "name": vname}
        if vid != "V04":
            props["radius_m"] = 150
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(office)})
    for gid in sorted(grids_ll):
        geom = grids_ll[gid]
        props = {"grid_id": gid, "village_id": grid_village[gid],
                 "name": f"{dict(VILLAGES)[grid_village[gid]]}第{int(gid[-2:])}网格"}
        if grid_village[gid] == "V02":  # this village's office drew its grids on AMap
            props["crs"] = "gcj02"

            def to_gcj(xy: np.ndarray) -> np.ndarray:
                lon, lat = crs.from_wgs84(xy[:, 0], xy[:, 1], "gcj02")
                return np.column_stack([lon, lat])

            geom = shapely.transform(geom, to_gcj)
        features.append({"type": "Feature", "properties": props,
                         "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "name": "洋口镇 demo grids", "features": features}


def _roster_csv(workers: list[DemoWorker]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["worker_id", "name", "role", "grid_id", "village_id", "phone"])
    for w in workers:
        out.writerow([w.worker_id, w.name, w.role, w.grid_id or "", w.village_id, w.phone])
    return buf.getvalue()


def build_demo(seed: int = 2022, day: dt.date | None = None, timezone: str = "Asia/Shanghai",
               township_id: str = "yangkou", township_name: str = "洋口镇",
               profile: str = "yangkou-2022") -> DemoTownship:
    """The whole demo township and its simulated day, deterministic for ``seed``/``day``."""
    rng = np.random.default_rng(seed)
    tz = ZoneInfo(timezone)
    day = day or most_recent_working_day(dt.datetime.now(tz).date())
    villages, grids, grid_village, offices = build_geometry(rng)
    grids_ll = {g: to_lonlat(geom) for g, geom in grids.items()}
    offices_ll = {v: to_lonlat(p) for v, p in offices.items()}
    workers = build_workers(rng, grids, grid_village)
    demo = DemoTownship(seed=seed, day=day, timezone=timezone, township_id=township_id,
                        township_name=township_name, profile=profile,
                        grids_doc=_grids_doc(grids_ll, grid_village, offices_ll),
                        roster_csv=_roster_csv(workers), workers=workers)
    _simulate_day(demo, rng, grids, offices, tz)
    return demo


def _at(day: dt.date, tz: ZoneInfo, hhmm: str, jitter_min: float = 0.0,
        rng: np.random.Generator | None = None) -> dt.datetime:
    h, m = (int(v) for v in hhmm.split(":"))
    t = dt.datetime.combine(day, dt.time(h, m), tzinfo=tz)
    if jitter_min and rng is not None:
        t += dt.timedelta(minutes=float(rng.uniform(-jitter_min, jitter_min)))
    return t


def _simulate_day(demo: DemoTownship, rng: np.random.Generator, grids: dict[str, BaseGeometry],
                  offices: dict[str, Point], tz: ZoneInfo) -> None:
    day = demo.day
    for i, w in enumerate(demo.workers):
        demo.devices.append({"device_uid": w.device_uid, "worker_id": w.worker_id,
                             "platform": "android" if i % 4 else "ios",
                             "model": ("HUAWEI nova 11", "Redmi Note 12", "OPPO A58",
                                       "iPhone 13")[i % 4],
                             "app_version": "1.0.0", "status": "approved"})
    newcomer = next(w for w in demo.workers if w.grid_id is None)
    demo.devices.append({"device_uid": "demo-phone-new", "worker_id": newcomer.worker_id,
                         "platform": "android", "model": "vivo Y36", "app_version": "1.0.0",
                         "status": "pending"})
    # a requested leave for the next week, to show something to decide
    asker = demo.workers[0]
    nxt = day + dt.timedelta(days=7)
    demo.exemptions.append({"worker_id": asker.worker_id, "kind": "personal_leave",
                            "start_at": _at(nxt, tz, "08:00"), "end_at": _at(nxt, tz, "18:00"),
                            "status": "requested", "note": "家中有事", "place": None,
                            "place_radius_m": None})
    all_grid_ids = sorted(grids)
    for w in demo.workers:
        if w.grid_id is None:
            continue
        _simulate_worker(demo, rng, w, grids, offices, tz, all_grid_ids)


def _simulate_worker(demo: DemoTownship, rng: np.random.Generator, w: DemoWorker,
                     grids: dict[str, BaseGeometry], offices: dict[str, Point], tz: ZoneInfo,
                     all_grid_ids: list[str]) -> None:
    day, b = demo.day, w.behaviour
    grid = grids[w.grid_id or ""]
    office = offices[w.village_id]
    if b == "sick_leave":
        demo.exemptions.append({
            "worker_id": w.worker_id, "kind": "sick_leave", "start_at": _at(day, tz, "00:00"),
            "end_at": _at(day + dt.timedelta(days=1), tz, "00:00"), "status": "approved",
            "note": "发烧", "decided_by": "village-office", "decision_reason": "病假条已交",
            "place": None, "place_radius_m": None})
        return
    items: list[dict[str, Any]] = []  # fixes in metres, converted at the end
    heartbeats: list[dt.datetime] = []

    # sign-in at the village office (fulltime and parttime: GEO-SIGNIN)
    signed_until: dt.datetime | None = None  # one phone records one track: no overlaps
    if w.role in ("fulltime", "parttime") and b != "no_signin":
        signed = _at(day, tz, "09:20" if b == "late_signin" else "08:20", 20, rng)
        spot = (office.x + rng.normal(0, 25), office.y + rng.normal(0, 25))
        if b == "signin_outside":
            spot = (office.x + 450, office.y + 300)
        demo.signins.append({"worker_id": w.worker_id, "device_uid": w.device_uid,
                             "signed_at": signed, "x": spot[0], "y": spot[1],
                             "accuracy_m": round(float(rng.uniform(5, 20)), 1),
                             "village_id": w.village_id, "datum": w.datum})
        items += track_items(signed - dt.timedelta(minutes=2),
                             np.array([spot] * 5), 30, rng, noise_m=3)
        signed_until = signed + dt.timedelta(minutes=5)

    required_h = 2.0 if w.role == "fulltime" else 1.0
    plans = [("am", _at(day, tz, "08:45", 25, rng),
              required_h * (0.55 if b == "short_am" else rng.uniform(1.05, 1.3))),
             ("pm", _at(day, tz, "14:30", 25, rng), required_h * rng.uniform(1.05, 1.25))]
    if b == "no_pm":
        plans = plans[:1]
    if b == "field_duty":
        place = Point(grid.centroid.x + 3200, grid.centroid.y + 2600)  # a meeting in town
        demo.exemptions.append({
            "worker_id": w.worker_id, "kind": "field_duty", "start_at": _at(day, tz, "14:00"),
            "end_at": _at(day, tz, "17:00"), "status": "approved", "note": "镇里开会",
            "decided_by": "township-office", "decision_reason": "会议通知",
            "place": to_lonlat(place), "place_radius_m": 300.0, "place_xy": place})
        plans = plans[:1]
        xy = simulate_walk(rng, place.buffer(200), (place.x, place.y), 6 * 60 // 3,
                           step_s=90, speed_mps=(0.0, 0.3))
        items += track_items(_at(day, tz, "14:05"), xy, 90, rng)
    phone_off = None
    if b == "phone_off":
        phone_off = (_at(day, tz, "15:10"), _at(day, tz, "16:25"))
    for window, start, hours in plans:
        if signed_until is not None and start < signed_until:  # walk to the grid after signing in
            start = signed_until
        n = int(hours * 3600 / FIX_EVERY_S)
        begin = grid.representative_point()
        xy = simulate_walk(rng, grid, (begin.x, begin.y), n)
        fixes = track_items(start, xy, FIX_EVERY_S, rng)
        if b == "mock" and window == "pm":
            frozen = (float(xy[0][0]), float(xy[0][1]))
            for f in fixes:
                f.update(x=frozen[0], y=frozen[1], mock=True, speed_mps=0.0, accuracy_m=3.0)
        if b == "low_accuracy":
            for f in fixes[10:16]:
                f["accuracy_m"] = 180.0
        items += fixes
        end = fixes[-1]["recorded_at"]
        demo.patrol_sessions.append({"worker_id": w.worker_id, "device_uid": w.device_uid,
                                     "started_at": start - dt.timedelta(seconds=20),
                                     "ended_at": end + dt.timedelta(seconds=20),
                                     "grid_id": w.grid_id, "window": window})
        if w.role in ("head", "fulltime"):
            demo.patrol_logs.append({
                "worker_id": w.worker_id, "written_at": end + dt.timedelta(minutes=5),
                "text": ("上午" if window == "am" else "下午") + "巡查网格，走访住户"
                        f"{int(rng.integers(3, 12))}户，未发现安全隐患。",
                "window": window})
    # off-post: a 45-minute walk out of the grid in the late morning
    if b in ("offpost", "crosspost"):
        if b == "crosspost":
            other = min((g for g in all_grid_ids if g != w.grid_id),
                        key=lambda g: grids[g].distance(grid.centroid) + 1e9 * (
                            grids[g].intersects(grid)))
            dest = grids[other].representative_point()
        else:
            far = grid.centroid
            dest = Point(far.x + 2500 * np.sign(far.x or 1), far.y + 2500 * np.sign(far.y or 1))
        t0 = _at(day, tz, "10:50")
        start = grid.representative_point()
        xy = simulate_walk(rng, grid.buffer(5000), (start.x, start.y), 45 * 2,
                           speed_mps=(1.2, 1.6), target=(dest.x, dest.y))
        walk = track_items(t0, xy, FIX_EVERY_S, rng)
        # the walk replaces whatever the phone would have recorded meanwhile (the patrol)
        t_end = walk[-1]["recorded_at"]
        items = [f for f in items if not t0 <= f["recorded_at"] <= t_end] + walk
    # between patrols: a fix and a heartbeat every 5 minutes during duty hours
    for a, z in (("08:00", "12:00"), ("14:00", "18:00")):
        t = _at(day, tz, a)
        stop = _at(day, tz, z)
        busy = np.array([f["recorded_at"].timestamp() for f in items] or [0.0])
        while t < stop:
            if np.min(np.abs(busy - t.timestamp())) >= 120:
                items += track_items(t, np.array([[office.x + rng.normal(0, 40),
                                                   office.y + rng.normal(0, 40)]]), 30, rng,
                                     noise_m=8)
            heartbeats.append(t + dt.timedelta(seconds=float(rng.uniform(0, 20))))
            t += dt.timedelta(seconds=HEARTBEAT_EVERY_S)
    if phone_off is not None:
        items = [f for f in items if not phone_off[0] <= f["recorded_at"] < phone_off[1]]
        heartbeats = [h for h in heartbeats if not phone_off[0] <= h < phone_off[1]]
    _append_positions(demo, rng, w, items, heartbeats, phone_off)


def _append_positions(demo: DemoTownship, rng: np.random.Generator, w: DemoWorker,
                      items: list[dict[str, Any]], heartbeats: list[dt.datetime],
                      phone_off: tuple[dt.datetime, dt.datetime] | None) -> None:
    items.sort(key=lambda f: f["recorded_at"])
    xs = np.array([f["x"] for f in items])
    ys = np.array([f["y"] for f in items])
    lon, lat = xy_to_lonlat(xs, ys)
    rlon, rlat = crs.from_wgs84(lon, lat, w.datum) if w.datum != "wgs84" else (lon, lat)
    rows: list[dict[str, Any]] = []
    for i, f in enumerate(items):
        mock = bool(f.get("mock", False))
        rows.append({
            "kind": "fix", "worker_id": w.worker_id, "device_uid": w.device_uid,
            "recorded_at": f["recorded_at"],
            "lon": round(float(rlon[i]), 7), "lat": round(float(rlat[i]), 7), "datum": w.datum,
            "wgs84": (float(lon[i]), float(lat[i])),
            "accuracy_m": f["accuracy_m"], "speed_mps": f["speed_mps"], "mock": mock,
            "app_state": "foreground", "network": "4g",
            "reject_reason": "accuracy_too_low" if f["accuracy_m"] > 100 else None,
            "suspect": mock, "suspect_reason": "mock_location" if mock else None})
    battery = 95.0
    for h in sorted(heartbeats):
        battery = max(3.0, battery - float(rng.uniform(0.5, 1.6)))
        late = phone_off is not None and h >= phone_off[1]
        rows.append({
            "kind": "heartbeat", "worker_id": w.worker_id, "device_uid": w.device_uid,
            "recorded_at": h, "lon": None, "lat": None, "datum": w.datum, "wgs84": None,
            "battery_pct": int(battery), "charging": late, "network": "4g", "gps_on": True,
            "app_state": "background", "mock": False, "suspect": False})
    rows.sort(key=lambda r: r["recorded_at"])
    # the phone queues each item (client id, its own seq) and flushes the queue every
    # UPLOAD_EVERY_S (the phone's own phase): an item goes up with the first flush after it
    # is ready; those queued just before the phone went off wait until it is back on
    t0 = dt.datetime.combine(demo.day, dt.time(0), tzinfo=ZoneInfo(demo.timezone))
    phase = (int(w.worker_id.lstrip("w") or 0) * 37) % UPLOAD_EVERY_S
    for seq, r in enumerate(rows, 1):
        r["seq"] = seq
        r["client_id"] = f"{w.device_uid}-{seq}"
        delay = float(rng.uniform(1, 15))
        if phone_off is not None and r["recorded_at"] < phone_off[0] \
                and r["recorded_at"] > phone_off[0] - dt.timedelta(minutes=10):
            delay = (phone_off[1] - r["recorded_at"]).total_seconds() + 30  # late upload
        ready = (r["recorded_at"] - t0).total_seconds() + delay - phase
        flush = phase + math.ceil(ready / UPLOAD_EVERY_S) * UPLOAD_EVERY_S
        r["received_at"] = t0 + dt.timedelta(seconds=flush)
    demo.positions.extend(rows)


# --------------------------------------------------------------------------- loading


def _upload_item(r: dict[str, Any]) -> SimpleNamespace:
    """A simulated position as the phone uploads it (the mobile API's item fields)."""
    return SimpleNamespace(
        client_id=r["client_id"], seq=r["seq"], kind=r["kind"], recorded_at=r["recorded_at"],
        lon=r["lon"], lat=r["lat"], datum=r["datum"], accuracy_m=r.get("accuracy_m"),
        speed_mps=r.get("speed_mps"), mock=r["mock"], battery_pct=r.get("battery_pct"),
        charging=r.get("charging"), network=r.get("network"), gps_on=r.get("gps_on"),
        app_state=r.get("app_state"))


def load_demo_township(session: Any, demo: DemoTownship) -> dict[str, int]:
    """Write the demo through the importers, ingest (the phones' uploads) and inserts (caller
    commits); counts."""
    import json

    import sqlalchemy as sa

    from checkins.auth.models import Device
    from checkins.field.models import Exemption, PatrolLog, PatrolSession, Signin
    from checkins.positions.ingest import IngestParams, ingest_batch
    from checkins.positions.models import Position
    from checkins.positions.tagging import grid_index
    from checkins.township.importer import import_file
    from checkins.township.models import Village
    from scoring.profiles import load_profile

    kw = {"township_id": demo.township_id, "township_name": demo.township_name,
          "timezone": demo.timezone, "profile": demo.profile}
    import_file(session, "grids", json.dumps(demo.grids_doc, ensure_ascii=False).encode(),
                "demo-grids.geojson", actor="demo", **kw)
    import_file(session, "roster", demo.roster_csv.encode(), "demo-roster.csv", actor="demo",
                valid_from=demo.day - dt.timedelta(days=90), timezone=demo.timezone)
    approved_at = dt.datetime.combine(demo.day - dt.timedelta(days=80), dt.time(9),
                                      tzinfo=ZoneInfo(demo.timezone))
    for d in demo.devices:
        session.add(Device(**d, registered_at=approved_at - dt.timedelta(hours=1),
                             decided_at=approved_at if d["status"] == "approved" else None,
                             decided_by="demo" if d["status"] == "approved" else None))
    session.flush()
    device_id = dict(session.execute(sa.select(Device.device_uid, Device.id)).all())
    offices = {v.village_id: v for v in session.scalars(sa.select(Village))}
    for s in demo.signins:
        lon, lat = xy_to_lonlat(np.array([s["x"]]), np.array([s["y"]]))
        rlon, rlat = crs.from_wgs84(lon, lat, s["datum"]) if s["datum"] != "wgs84" else (lon, lat)
        session.add(Signin(worker_id=s["worker_id"], device_id=device_id[s["device_uid"]],
                             client_id=f"{s['device_uid']}-signin-{demo.day:%Y%m%d}",
                             signed_at=s["signed_at"],
                             received_at=s["signed_at"] + dt.timedelta(seconds=3),
                             lon=round(float(rlon[0]), 7), lat=round(float(rlat[0]), 7),
                             datum=s["datum"], geom=Point(float(lon[0]), float(lat[0])),
                             accuracy_m=s["accuracy_m"],
                             village_id=s["village_id"] if s["village_id"] in offices else None))
    sessions = {}
    for p in demo.patrol_sessions:
        ps = PatrolSession(worker_id=p["worker_id"], device_id=device_id[p["device_uid"]],
                             client_id=f"{p['device_uid']}-patrol-{demo.day:%Y%m%d}-{p['window']}",
                             grid_id=p["grid_id"], started_at=p["started_at"],
                             ended_at=p["ended_at"],
                             received_at=p["ended_at"] + dt.timedelta(seconds=5))
        session.add(ps)
        sessions[(p["worker_id"], p["window"])] = ps
    session.flush()
    for lg in demo.patrol_logs:
        ps = sessions.get((lg["worker_id"], lg["window"]))
        session.add(PatrolLog(worker_id=lg["worker_id"],
                                patrol_session_id=ps.id if ps else None,
                                written_at=lg["written_at"], text=lg["text"], photos=[]))
    for e in demo.exemptions:
        fields = {k: v for k, v in e.items() if k != "place_xy"}
        decided = e["status"] != "requested"
        session.add(Exemption(**fields, requested_by=e["worker_id"],
                                requested_at=e["start_at"] - dt.timedelta(days=1),
                                decided_at=(e["start_at"] - dt.timedelta(hours=12))
                                if decided else None))
    session.flush()
    # the phones' uploads, batch by batch through the real ingest (client ids, per-device
    # seq, dedupe, GEO-CRS from the phone's datum, GEO-VALID, grid tagging, sequence runs,
    # re-evaluation marks), each at its simulated upload time; one transaction for the whole
    # load, which the caller commits
    grid_index(session)  # loaded (or checked) once: the grids stay as imported above
    params = IngestParams(geo=load_profile(demo.profile).geo_params(), grid_cache_s=3600.0)
    batches: dict[tuple[dt.datetime, str], list[dict[str, Any]]] = {}
    for r in demo.positions:
        batches.setdefault((r["received_at"], r["device_uid"]), []).append(r)
    for (at, uid), batch in sorted(batches.items()):
        items = list(enumerate(_upload_item(r) for r in batch))
        ingest_batch(session, worker_id=batch[0]["worker_id"], device_id=device_id[uid],
                     items=items, outcomes=[], seqs_seen=[r["seq"] for r in batch],
                     params=params, now=at, commit=False)
    start, end = day_range(demo.day, ZoneInfo(demo.timezone))
    workers = [w.worker_id for w in demo.workers]
    tagged = session.scalar(sa.select(sa.func.count()).select_from(Position).where(
        Position.worker_id.in_(workers), Position.grid_id.is_not(None),
        Position.recorded_at >= start, Position.recorded_at < end))
    session.flush()
    # the demo's own villages (``offices`` holds every village of the database)
    n_villages = sum(f["properties"].get("kind") == "village_office"
                     for f in demo.grids_doc["features"])
    return {"villages": n_villages, "grids": len(demo.grids_doc["features"]) - n_villages,
            "workers": len(demo.workers), "devices": len(demo.devices),
            "positions": len(demo.positions), "tagged_positions": tagged, "signins": len(demo.signins),
            "patrol_sessions": len(demo.patrol_sessions), "patrol_logs": len(demo.patrol_logs),
            "exemptions": len(demo.exemptions)}


# --------------------------------------------------------------------------- cases


def _demo_photo(data_dir: Path | None, worker_id: str, day: dt.date, label: str) -> list[dict[str, Any]]:
    """One small generated photo of a place, stored like an uploaded one when ``data_dir`` is
    given (else a record without a file: the page shows it as missing)."""
    if data_dir is None:
        return [{"id": f"demo-{label}", "content_type": "image/jpeg"}]
    import io

    from PIL import Image, ImageDraw

    from checkins.field.photos import inspect_photo, photo_record, store_photo

    img = Image.new("RGB", (320, 240), (120, 150, 110))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 60, 280, 200), outline=(240, 240, 240), width=4)
    draw.text((50, 80), label, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    data = buf.getvalue()
    info = inspect_photo(data, max_bytes=10_000_000, max_pixels=50_000_000)
    path = store_photo(data, info, data_dir=data_dir, worker_id=worker_id, day=day)
    return [photo_record(info, path, data_dir)]


def load_demo_cases(session: Any, demo: DemoTownship, data_dir: Path | None = None) -> dict[str, int]:
    """A few cases of the demo day, made through ``checkins.cases.service`` as the phone and
    the office make them (audit log, grids, SLA clocks): one closed after an arrival, one
    dispatched and acknowledged, one accepted as complex, one just reported, one rejected,
    and one from a week before, accepted and dispatched but never closed (its 5-day clock
    breached). Deterministic: the places are the workers' own fixes of the day. Call after
    :func:`load_demo_township` and before the day is evaluated (the caller commits)."""
    from checkins.cases import service as cases

    tz = ZoneInfo(demo.timezone)
    office = "office:demo"
    scope = cases.Scope()

    def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=tz)

    fixes: dict[str, list[tuple[dt.datetime, tuple[float, float]]]] = {}
    for r in demo.positions:
        if r.get("wgs84") is not None and not r.get("mock") and not r.get("reject_reason"):
            fixes.setdefault(r["worker_id"], []).append((r["recorded_at"], tuple(r["wgs84"])))
    normal = sorted(w.worker_id for w in demo.workers
                    if w.behaviour == "normal" and w.grid_id is not None and w.role != "head"
                    and len(fixes.get(w.worker_id, ())) > 100)
    if len(normal) < 6:
        return {"cases": 0}

    def fix_after(wid: str, when: dt.datetime) -> tuple[dt.datetime, tuple[float, float]]:
        return min((f for f in fixes[wid] if f[0] >= when), key=lambda f: f[0],
                   default=max(fixes[wid], key=lambda f: f[0]))

    def report(wid: str, n: int, category: str, text: str, when: dt.datetime) -> Any:
        _, (lon, lat) = fix_after(wid, when)
        case, _dup = cases.report_case(session, worker_id=wid, device_id=None, client_id=f"demo-case-{n}",
                                       category=category, text=text, lon=lon, lat=lat, datum="wgs84",
                                       reported_at=when)
        return case

    day = demo.day
    a, b, c, d, e, f = normal[:6]
    # 1. closed: reported, accepted, dispatched to the reporter's next place, arrived, resolved
    c1 = report(a, 1, "安全隐患", "电动车在楼道内充电，存在火灾隐患", at(day, 9, 20))
    cases.accept(session, c1.id, scope=scope, actor=office, at=at(day, 9, 40))
    arrive_t, place = fix_after(a, at(day, 10, 30))
    ins = cases.dispatch(session, c1.id, scope=scope, actor=office, worker_id=a, lon=place[0], lat=place[1],
                         place_text="楼道口", note="请到场劝导并拍照", at=arrive_t - dt.timedelta(minutes=8))
    cases.acknowledge(session, a, ins.id, at=arrive_t - dt.timedelta(minutes=6))
    cases.mark(session, a, ins.id, "arrived", photos=_demo_photo(data_dir, a, day, "arrived"), at=arrive_t)
    cases.mark(session, a, ins.id, "resolved", photos=_demo_photo(data_dir, a, day, "resolved"),
               text="已劝导住户移出电动车", at=arrive_t + dt.timedelta(minutes=25))
    cases.close(session, c1.id, scope=scope, actor=office, reason="已处置", at=at(day, 16, 0))
    # 2. dispatched and acknowledged, still open
    c2 = report(b, 2, "环境卫生", "河道边堆放生活垃圾", at(day, 10, 15))
    cases.accept(session, c2.id, scope=scope, actor=office, at=at(day, 10, 40))
    ins2 = cases.dispatch(session, c2.id, scope=scope, actor=office, worker_id=b, place_text="河道东侧",
                          note="联系保洁清运", at=at(day, 11, 0))
    cases.acknowledge(session, b, ins2.id, at=at(day, 11, 5))
    # 3. accepted as complex (15 days to close)
    c3 = report(c, 3, "矛盾纠纷", "邻里因宅基地边界发生争执", at(day, 11, 0))
    cases.accept(session, c3.id, scope=scope, actor=office, complex_=True, reason="需多方调解",
                 at=at(day, 11, 30))
    # 4. just reported (the 24 h clock to accept runs)
    report(d, 4, "设施损坏", "路灯不亮", at(day, 14, 10))
    # 5. rejected: not a valid report (NB-VOLUME does not count it)
    c5 = report(e, 5, "其他", "同一路灯重复上报", at(day, 14, 30))
    cases.reject(session, c5.id, scope=scope, actor=office, reason="重复上报", at=at(day, 15, 0))
    # 6. a week before: accepted and dispatched, never closed (5-day clock breached)
    week = day - dt.timedelta(days=7)
    _t, (lon, lat) = fix_after(f, at(day, 9, 0))
    c6, _dup = cases.report_case(session, worker_id=f, device_id=None, client_id="demo-case-6",
                                 category="设施损坏", text="井盖破损", lon=lon, lat=lat, datum="wgs84",
                                 reported_at=at(week, 9, 30))
    cases.accept(session, c6.id, scope=scope, actor=office, at=at(week, 10, 0))
    cases.dispatch(session, c6.id, scope=scope, actor=office, worker_id=f, place_text="村道",
                   note="联系市政维修", at=at(week, 10, 30))
    session.flush()
    return {"cases": 6}
